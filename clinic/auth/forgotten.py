"""A forgotten password: what to do (ask the therapist for a reset link), and, when the
practice has email set up, a link emailed to a client's own address on request."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template, request
from werkzeug.wrappers import Response as BaseResponse

from .. import accounts, audit, mail, notifications, text, throttle
from .. import db as database
from ..web.forms import status_of
from .blueprint import bp
from .forms import ForgottenPasswordForm

# A link asked for from the sign-in page lasts a day: long enough to find the email.
SELF_RESET_LIFETIME = timedelta(hours=24)


@bp.route("/sign-in/forgotten", methods=["GET", "POST"])
@throttle.limiter.limit(throttle.SIGN_IN_LIMIT, methods=["POST"])
def forgotten_password() -> BaseResponse | tuple[str, int] | str:
    """What to do about a forgotten password; with email set up, a form to be sent a link."""
    email_on = mail.configured()
    form = ForgottenPasswordForm()
    if not email_on or not form.validate_on_submit():
        return render_template(
            "auth/forgotten.html", form=form, email_on=email_on, sent=False
        ), status_of(form)
    db = database.session()
    email = form.email.data or ""
    # Each request counts towards the same per-address and per-account locks as failed
    # sign-ins, so the form cannot be used to flood someone's inbox. The answer is the same
    # whatever happened.
    if not text.has_control_characters(email) and not throttle.locked_for(
        db, f"reset:{email}", request.remote_addr
    ):
        throttle.failed(db, f"reset:{email}", request.remote_addr)
        issued = accounts.reset_on_request(db, email, SELF_RESET_LIFETIME)
        if issued is not None:
            notifications.queue_invitation(db, issued)
            person = issued.invitation.user
            audit.record("issue_link", "account", person.id, subject_id=person.id)
    return render_template("auth/forgotten.html", form=form, email_on=email_on, sent=True)
