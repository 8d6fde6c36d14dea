"""Sign-in and sign-out, invitations, the role gate, the user loader and safe redirects."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response as BaseResponse

from . import accounts, audit, notifications, throttle
from . import db as database
from .db import utcnow
from .forms import AcceptInvitationForm, ChangePasswordForm, SignInForm
from .models import Role, User
from .web import csrf

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.sign_in"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"

HOME_ENDPOINT = {
    Role.ADMIN.value: "admin.people",
    Role.THERAPIST.value: "therapist.caseload",
    Role.CLIENT.value: "client.home",
}

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


def init_app(app: Flask) -> None:
    """Attach Flask-Login to the app and enforce session lifetimes on every request."""
    login_manager.init_app(app)
    app.before_request(_enforce_session_lifetime)


def start_session(user: User) -> None:
    """Sign a person in with a fresh session (nothing carried over from before sign-in)."""
    session.clear()
    login_user(user)
    now = int(time.time())
    session["signed_in_at"] = now
    session["seen_at"] = now
    user.last_sign_in_at = utcnow()


def _enforce_session_lifetime() -> BaseResponse | None:
    # ASVS 3.3: sessions end after idle time and after an absolute lifetime, checked by the
    # server on every request (the timestamps ride in the signed session cookie).
    if not current_user.is_authenticated:
        return None
    now = int(time.time())
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    absolute = current_app.config["SESSION_MAX_HOURS"] * 3600
    started, seen = session.get("signed_in_at", 0), session.get("seen_at", 0)
    if now - seen > idle or now - started > absolute:
        logout_user()
        session.clear()
        flash("You were signed out to keep your information safe. Please sign in again.", "info")
        return redirect(
            url_for("auth.sign_in", next=request.full_path if request.method == "GET" else None)
        )
    if now - seen >= 60:  # refresh at most once a minute
        session["seen_at"] = now
    return None


@login_manager.user_loader
def _load_user(session_token: str) -> User | None:
    if not session_token or len(session_token) > 64:
        return None
    user = database.session().scalar(sa.select(User).where(User.session_token == session_token))
    return user if user is not None and user.is_active else None


def require_role(blueprint: Blueprint, role: Role) -> None:
    """Close a blueprint by default: every view needs a signed-in person with this role.
    Anonymous visitors are sent to sign in; other roles get 404, as if nothing were there."""

    def gate() -> BaseResponse | None:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.role != role.value:
            audit.denied("page")
            abort(404)
        return None

    blueprint.before_request(gate)


def is_safe_next(target: str | None) -> bool:
    """Only a path on this site: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    if any(ch in target for ch in "\\\r\n\t") or any(ord(ch) < 32 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def home_url(user: User) -> str:
    """Where a signed-in person lands."""
    return url_for(HOME_ENDPOINT[user.role])


@bp.get("/")
def index() -> BaseResponse:
    """Send people to their home page, or to sign in."""
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    return redirect(url_for("auth.sign_in"))


@bp.route("/sign-in", methods=["GET", "POST"])
@throttle.limiter.limit(throttle.SIGN_IN_LIMIT, methods=["POST"])
def sign_in() -> BaseResponse | tuple[str, int] | str:
    """Sign in with email and password; failure never says which of the two was wrong."""
    form = SignInForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        db = database.session()
        email = form.email.data or ""
        wait = throttle.locked_for(db, email)
        if wait:
            # The same answer for every address, known or not: nothing about accounts leaks.
            form.form_errors.append(
                f"Too many attempts. Please wait {wait} minute{'s' if wait != 1 else ''} and "
                "try again, or reset your password with your practice."
            )
            return render_template("auth/sign_in.html", form=form), 429
        user = accounts.find_by_email(db, email)
        if accounts.check_password(user, form.password.data or "") and user and user.is_active:
            throttle.succeeded(db, email)
            start_session(user)
            target = form.next.data
            return redirect(target if is_safe_next(target) else home_url(user))
        throttle.failed(db, email)
        database.keep_changes()  # the count must survive the error status
        form.form_errors.append("Email or password is incorrect.")
        form.password.data = ""
        return render_template("auth/sign_in.html", form=form), 422
    if request.method == "POST":
        return render_template("auth/sign_in.html", form=form), 422
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    return render_template("auth/sign_in.html", form=form)


@bp.post("/sign-out")
def sign_out() -> BaseResponse:
    """Sign out (POST only, so that no link or image can sign a person out)."""
    if current_user.is_authenticated:
        signed_in_user().end_all_sessions()
    logout_user()
    session.clear()
    return redirect(url_for("auth.sign_in", signed_out=1))


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@throttle.limiter.limit(throttle.INVITATION_LIMIT)
def accept_invitation(token: str) -> BaseResponse | tuple[str, int] | str:
    """An invited person chooses their password (and email, if none was given)."""
    db = database.session()
    try:
        invitation = accounts.usable_invitation(db, token)
    except accounts.InvitationUnusable as problem:
        return _invitation_problem(problem.state)
    person = invitation.user
    form = AcceptInvitationForm()
    if request.method == "POST":
        valid = form.validate()
        if person.email is None and not form.email.data:
            form.email.errors = [
                *form.email.errors,
                "Enter the email address you will sign in with.",
            ]
            valid = False
        if valid:
            try:
                user = accounts.accept_invitation(
                    db, token, form.password.data or "", form.email.data
                )
            except accounts.InvitationUnusable as problem:
                return _invitation_problem(problem.state)
            except accounts.AccountError as error:
                getattr(form, error.field or "password").errors = [error.message]
            else:
                logout_user()
                start_session(user)
                return redirect(home_url(user))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/accept_invitation.html", form=form, person=person), status


def _invitation_problem(state: str) -> tuple[str, int]:
    title, message, status = INVITATION_PROBLEM[state]
    return render_template("auth/invitation_problem.html", title=title, message=message), status


def invitation_lifetime() -> timedelta:
    """How long a new invitation stays valid."""
    return timedelta(days=int(current_app.config["INVITATION_DAYS"]))


def show_new_invitation(
    person: User,
    issued: accounts.IssuedInvitation,
    back: str,
    back_label: str,
    *,
    emailed_to: str | None = None,
) -> str:
    """The page that shows a just-issued invitation link, once, for copying (and says where
    it is being emailed, if it is)."""
    link = url_for("auth.accept_invitation", token=issued.token, _external=True)
    return render_template(
        "invitation_link.html",
        person=person,
        link=link,
        invitation=issued.invitation,
        back=back,
        back_label=back_label,
        emailed_to=emailed_to,
    )


def signed_in_user() -> User:
    """The signed-in person as a model instance (for typed code behind a role gate)."""
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> BaseResponse | tuple[str, int] | str:
    """Change one's password; every other session of the person ends."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = signed_in_user()
        if not accounts.check_password(user, form.current.data or ""):
            form.current.errors = ["That is not your current password."]
        else:
            user.password_hash = accounts.hash_password(form.password.data or "")
            user.end_all_sessions()  # a copied cookie stops working everywhere
            start_session(user)
            audit.record("change", "account_password", user.id)
            flash("Your password has been changed. Other devices have been signed out.", "success")
            return redirect(home_url(user))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/change_password.html", form=form), status


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
