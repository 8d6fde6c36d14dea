"""Links that work without signing in: accepting an invitation (or a password reset), and
turning reminders off from an email."""

from __future__ import annotations

from flask import render_template, request
from flask_login import logout_user
from werkzeug.wrappers import Response as BaseResponse

from .. import accounts, audit, notifications, throttle
from .. import db as database
from ..models import User
from ..web import csrf
from ..web.forms import show_error, status_of
from .blueprint import bp
from .forms import (
    AcceptInvitationForm,
)
from .sign_in import password_accepted

INVITATION_PROBLEM = {
    "unknown": (
        "This invitation link is not valid",
        "Check that you copied the whole link. If it still does not work, ask the person who "
        "invited you for a new one.",
        404,
    ),
    "expired": (
        "This invitation link has expired",
        "Invitation links work for 7 days. Ask the person who invited you for a new one.",
        410,
    ),
    "revoked": (
        "This invitation link has been withdrawn",
        "A newer link may have been sent to you. If not, ask the person who invited you.",
        410,
    ),
    "used": (
        "This invitation link has already been used",
        "Each link works once. If you have already set your password, sign in instead.",
        410,
    ),
}


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@throttle.limiter.limit(throttle.INVITATION_LIMIT)
def accept_invitation(token: str) -> BaseResponse | tuple[str, int] | str:
    """An invited person chooses their password (and email, if none was given)."""
    db = database.session()
    try:
        person = accounts.usable_invitation(db, token).user
    except accounts.InvitationUnusable as problem:
        return _invitation_problem(problem.state)
    form = AcceptInvitationForm()
    was_reset = person.has_accepted  # a link for an account that already had a password
    if request.method == "POST" and _invitation_form_valid(form, person):
        try:
            user = accounts.accept_invitation(db, token, form.password.data or "", form.email.data)
        except accounts.InvitationUnusable as problem:
            return _invitation_problem(problem.state)
        except accounts.AccountError as error:
            show_error(form, error, "password")
        else:
            logout_user()
            subject = user.id if user.role == "client" else None
            kind = "password_reset" if was_reset else "invitation"
            audit.record("accept_link", kind, user.id, user=user, subject_id=subject)
            # A password reset link is not a second factor: the code is still needed.
            return password_accepted(user, None)
    page = render_template("auth/accept_invitation.html", form=form, person=person)
    return page, status_of(form)


def _invitation_form_valid(form: AcceptInvitationForm, person: User) -> bool:
    """The form's own checks, and an email address when the invitation came without one."""
    valid = form.validate()
    if person.email is None and not form.email.data:
        form.email.errors = [
            *form.email.errors,
            "Enter the email address you will sign in with.",
        ]
        valid = False
    return valid


def _invitation_problem(state: str) -> tuple[str, int]:
    title, message, status = INVITATION_PROBLEM[state]
    return render_template("auth/invitation_problem.html", title=title, message=message), status


@bp.route("/reminders/off/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token in the link is the proof; mail programs post without a form
def reminders_off(token: str) -> BaseResponse | tuple[str, int] | str:
    """Turn a client's email reminders off from the link in a reminder, without signing in.
    GET only asks (mail scanners follow links); POST, including RFC 8058 one-click, does it."""
    db = database.session()
    client = notifications.client_for_token(db, token)
    if client is None:
        return render_template(
            "auth/invitation_problem.html",
            title="This link is not valid",
            message="Check that you used the whole link from the email. You can also turn "
            "reminders off on your Settings page after signing in.",
        ), 404
    if request.method == "POST":
        if client.reminders_wanted:
            client.reminders_wanted = False
            audit.record("change", "reminders", client.id, subject_id=client.id, user=client)
        return render_template("auth/reminders_off.html", done=True, token=token)
    return render_template("auth/reminders_off.html", done=not client.reminders_wanted, token=token)
