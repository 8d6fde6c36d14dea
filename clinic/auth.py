"""Sign-in and sign-out, invitations, the role gate, the user loader and safe redirects."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
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
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response as BaseResponse

from . import accounts, audit, mfa, notifications, throttle
from . import db as database
from .db import utcnow
from .forms import (
    AcceptInvitationForm,
    ChangeEmailForm,
    ChangePasswordForm,
    CodeForm,
    ConfirmForm,
    ConfirmIdentityForm,
    SetupCodeForm,
    SignInForm,
)
from .models import Role, User
from .web import csrf

F = TypeVar("F", bound=Callable[..., Any])

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
    app.before_request(_enforce_mfa_enrolment)


def start_session(user: User) -> None:
    """Sign a person in with a fresh session (nothing carried over from before sign-in)."""
    session.clear()
    login_user(user)
    now = int(time.time())
    session["signed_in_at"] = now
    session["seen_at"] = now
    session["fresh_at"] = now
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


# What a person who must set up two-step sign-in may still reach.
ENROLMENT_ENDPOINTS = frozenset(
    {
        "auth.two_step",
        "auth.two_step_start",
        "auth.two_step_confirm",
        "auth.confirm_identity",
        "auth.sign_out",
        "static",
    }
)


def _enforce_mfa_enrolment() -> BaseResponse | None:
    # The practice requires two-step sign-in: until this person has set it up, every page
    # leads to the set-up (checked on every request, so turning the setting on takes effect
    # for people already signed in).
    if not current_user.is_authenticated or request.endpoint in ENROLMENT_ENDPOINTS:
        return None
    if mfa.must_enrol(signed_in_user()):
        flash("Your practice asks everyone to use two-step sign-in. Please set it up now.", "info")
        return redirect(url_for("auth.two_step"))
    return None


@login_manager.user_loader
def _load_user(session_token: str) -> User | None:
    if not session_token or len(session_token) > 64:
        return None
    # The practice comes in the same query: the two-step gate reads its setting on every request.
    user = database.session().scalar(
        sa.select(User)
        .options(joinedload(User.practice))
        .where(User.session_token == session_token)
    )
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
            target = form.next.data if is_safe_next(form.next.data) else None
            if user.mfa_enabled:
                _await_code(user, target)
                return redirect(url_for("auth.sign_in_code"))
            start_session(user)
            return redirect(target or home_url(user))
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


def _await_code(user: User, target: str | None) -> None:
    """The password was right; the person is not signed in until the code page succeeds."""
    session.clear()
    session["mfa_pending"] = {"token": user.session_token, "at": int(time.time()), "next": target}


def _pending_sign_in() -> User | None:
    pending = session.get("mfa_pending")
    if not isinstance(pending, dict):
        return None
    if (
        int(time.time()) - int(pending.get("at", 0))
        > current_app.config["MFA_PENDING_MINUTES"] * 60
    ):
        return None
    user = _load_user(str(pending.get("token", "")))
    return user if user is not None and user.mfa_enabled else None


@bp.route("/sign-in/code", methods=["GET", "POST"])
@throttle.limiter.limit(throttle.SIGN_IN_LIMIT, methods=["POST"])
def sign_in_code() -> BaseResponse | tuple[str, int] | str:
    """The second step of signing in: a code from the authenticator app or a recovery code."""
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    user = _pending_sign_in()
    if user is None:
        session.pop("mfa_pending", None)
        if request.method == "POST":
            flash("That took a little too long. Please sign in again.", "info")
        return redirect(url_for("auth.sign_in"))
    form = CodeForm()
    if form.validate_on_submit():
        db = database.session()
        key = f"mfa:{user.id}"
        wait = throttle.locked_for(db, key)
        if wait:
            form.code.errors = [
                f"Too many attempts. Please wait {wait} minute{'s' if wait != 1 else ''} and "
                "try again."
            ]
            return render_template("auth/sign_in_code.html", form=form), 429
        how = mfa.verify_any(db, user, form.code.data or "")
        if how is not None:
            throttle.succeeded(db, key)
            target = session.get("mfa_pending", {}).get("next")
            start_session(user)
            if how == "recovery":
                audit.record("change", "recovery_code", user.id, user=user)
                left = mfa.recovery_codes_left(db, user)
                flash(
                    f"You signed in with a recovery code; it cannot be used again. You have "
                    f"{left} left. If your phone is lost, set up two-step sign-in again.",
                    "info",
                )
            return redirect(target if is_safe_next(target) else home_url(user))
        throttle.failed(db, key)
        database.keep_changes()  # the count must survive the error status
        form.code.errors = ["That code did not work. Type the newest code from your app."]
        form.code.data = ""
        return render_template("auth/sign_in_code.html", form=form), 422
    status = 422 if request.method == "POST" else 200
    return render_template("auth/sign_in_code.html", form=form), status


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
                if user.mfa_enabled:
                    # A password reset link is not a second factor: the code is still needed.
                    _await_code(user, None)
                    return redirect(url_for("auth.sign_in_code"))
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


# --- fresh sign-in ("confirm it's you") -----------------------------------------------------


def is_fresh() -> bool:
    """Whether the person signed in, or confirmed it was them, within FRESH_SIGN_IN_MINUTES."""
    limit = int(current_app.config["FRESH_SIGN_IN_MINUTES"]) * 60
    return int(time.time()) - int(session.get("fresh_at", 0)) <= limit


def _back_here() -> str | None:
    # A GET comes back to the same address; a POST cannot be replayed, so it comes back to
    # the page the button was on (same site only).
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc and referrer.netloc != request.host:
        return None
    path = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return path if is_safe_next(path) else None


def require_fresh_sign_in(view: F) -> F:
    """Ask for the password again (and the app's code, when two-step sign-in is on) unless the
    person signed in or confirmed it was them within FRESH_SIGN_IN_MINUTES (default 10).

    Use it on anything a stolen, still-open session should not be able to do on its own:
    changing a password, email or two-step sign-in, and bulk exports. Put it below the route
    decorator (and below `login_required` where a blueprint has no role gate)::

        @bp.get("/clients/<int:client_id>/bundle.zip")
        @require_fresh_sign_in
        def bundle(client_id: int) -> Response: ...

    A GET comes back to the same address after the confirmation; a POST comes back to the
    page the form was on, where the person presses the button again."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not is_fresh():
            return redirect(url_for("auth.confirm_identity", next=_back_here()))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


@bp.route("/account/confirm", methods=["GET", "POST"])
@login_required
@throttle.limiter.limit(throttle.SIGN_IN_LIMIT, methods=["POST"])
def confirm_identity() -> BaseResponse | tuple[str, int] | str:
    """Confirm it's you: the password again (and a code when two-step sign-in is on)."""
    user = signed_in_user()
    form = ConfirmIdentityForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        db = database.session()
        email = user.email or str(user.id)
        wait = max(throttle.locked_for(db, email), throttle.locked_for(db, f"mfa:{user.id}"))
        if wait:
            form.form_errors.append(
                f"Too many attempts. Please wait {wait} minute{'s' if wait != 1 else ''} and "
                "try again."
            )
            return render_template("auth/confirm_identity.html", form=form, user=user), 429
        if not accounts.check_password(user, form.password.data or ""):
            throttle.failed(db, email)
            form.password.errors = ["That is not your password."]
        elif user.mfa_enabled and not form.code.data:
            form.code.errors = ["Enter the code from your authenticator app."]
        elif user.mfa_enabled and mfa.verify_any(db, user, form.code.data or "") is None:
            throttle.failed(db, f"mfa:{user.id}")
            form.code.errors = ["That code did not work. Type the newest code from your app."]
        else:
            throttle.succeeded(db, email)
            session["fresh_at"] = int(time.time())
            target = form.next.data
            return redirect(target if is_safe_next(target) else home_url(user))
        database.keep_changes()  # failure counts survive the error status
        form.password.data = ""
        form.code.data = ""
    status = 422 if request.method == "POST" else 200
    return render_template("auth/confirm_identity.html", form=form, user=user), status


# --- the person's own account ----------------------------------------------------------------


@bp.get("/account")
@login_required
def account() -> str:
    """The person's own account: email, password, two-step sign-in."""
    user = signed_in_user()
    left = mfa.recovery_codes_left(database.session(), user) if user.mfa_enabled else 0
    return render_template(
        "auth/account.html", user=user, offers_mfa=mfa.applies_to(user), codes_left=left
    )


@bp.route("/account/email", methods=["GET", "POST"])
@login_required
@require_fresh_sign_in
def change_email() -> BaseResponse | tuple[str, int] | str:
    """Change one's sign-in email address; every other session of the person ends."""
    user = signed_in_user()
    form = ChangeEmailForm()
    if form.validate_on_submit():
        if not accounts.check_password(user, form.current.data or ""):
            form.current.errors = ["That is not your current password."]
        else:
            try:
                accounts.change_email(database.session(), user, form.email.data or "")
            except accounts.AccountError as error:
                getattr(form, error.field or "email").errors = [error.message]
            else:
                # The sign-in name changed: sessions opened under the old one end, as after a
                # password change.
                user.end_all_sessions()
                start_session(user)
                audit.record("change", "account_email", user.id)
                flash(
                    f"Your email address is now {user.email}. Other devices have been signed out.",
                    "success",
                )
                return redirect(url_for("auth.account"))
        form.current.data = ""
    status = 422 if request.method == "POST" else 200
    return render_template("auth/change_email.html", form=form, user=user), status


# --- two-step sign-in ------------------------------------------------------------------------


def _staff_only() -> User:
    user = signed_in_user()
    if not mfa.applies_to(user):
        abort(404)
    return user


@bp.get("/account/two-step")
@login_required
def two_step() -> str:
    """Two-step sign-in: its state, the set-up (secret, address, QR code), or what to do."""
    user = _staff_only()
    db = database.session()
    setting_up = user.totp_secret is not None and not user.mfa_enabled
    uri = mfa.provisioning_uri(user) if setting_up else None
    return render_template(
        "auth/two_step.html",
        user=user,
        setting_up=setting_up,
        secret=user.totp_secret if setting_up else None,
        uri=uri,
        qr=mfa.qr_svg(uri) if uri else None,
        form=SetupCodeForm(),
        button=ConfirmForm(),
        codes_left=mfa.recovery_codes_left(db, user) if user.mfa_enabled else 0,
        required=user.practice.mfa_required,
    )


@bp.post("/account/two-step/start")
@login_required
@require_fresh_sign_in
def two_step_start() -> BaseResponse:
    """Make a new secret for the authenticator app (not switched on until confirmed)."""
    user = _staff_only()
    try:
        mfa.begin_setup(user)
    except mfa.MfaError as error:
        flash(error.message, "error")
    return redirect(url_for("auth.two_step"))


@bp.post("/account/two-step/confirm")
@login_required
@require_fresh_sign_in
@throttle.limiter.limit(throttle.SIGN_IN_LIMIT)
def two_step_confirm() -> BaseResponse | tuple[str, int] | str:
    """Switch two-step sign-in on with a first code; show the recovery codes once."""
    user = _staff_only()
    db = database.session()
    form = SetupCodeForm()
    if form.validate_on_submit():
        try:
            codes = mfa.confirm_setup(db, user, form.code.data or "")
        except mfa.MfaError as error:
            if error.field is None:
                flash(error.message, "error")
                return redirect(url_for("auth.two_step"))
            form.code.errors = [error.message]
        else:
            user.end_all_sessions()  # sessions opened with the password alone end
            start_session(user)
            audit.record("change", "account_mfa", user.id)
            return render_template("auth/recovery_codes.html", codes=codes, first=True)
    uri = mfa.provisioning_uri(user) if user.totp_secret else None
    return render_template(
        "auth/two_step.html",
        user=user,
        setting_up=user.totp_secret is not None and not user.mfa_enabled,
        secret=user.totp_secret,
        uri=uri,
        qr=mfa.qr_svg(uri) if uri else None,
        form=form,
        button=ConfirmForm(),
        codes_left=0,
        required=user.practice.mfa_required,
    ), 422


@bp.post("/account/two-step/recovery-codes")
@login_required
@require_fresh_sign_in
def two_step_recovery_codes() -> BaseResponse | str:
    """Replace the recovery codes with ten new ones (the old ones stop working)."""
    user = _staff_only()
    if not user.mfa_enabled:
        return redirect(url_for("auth.two_step"))
    codes = mfa.new_recovery_codes(database.session(), user)
    audit.record("change", "recovery_code", user.id)
    return render_template("auth/recovery_codes.html", codes=codes, first=False)


@bp.post("/account/two-step/off")
@login_required
@require_fresh_sign_in
def two_step_off() -> BaseResponse:
    """Turn two-step sign-in off (the secret and recovery codes are forgotten)."""
    user = _staff_only()
    if user.totp_secret is not None:
        mfa.turn_off(database.session(), user)
        audit.record("change", "account_mfa", user.id)
    if user.practice.mfa_required:
        flash("Two-step sign-in is off. Your practice requires it: set it up again now.", "info")
    else:
        flash("Two-step sign-in is off. You sign in with your password alone.", "info")
    return redirect(url_for("auth.two_step"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@require_fresh_sign_in
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
