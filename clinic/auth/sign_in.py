"""Signing in (password, then the app's code when two-step sign-in is on), "confirm it's you",
and signing out."""

from __future__ import annotations

import time

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user
from werkzeug.wrappers import Response as BaseResponse

from .. import accounts, audit, mfa, text, throttle
from .. import db as database
from ..models import User
from ..web.forms import status_of
from ..web.gates import (
    home_url,
    is_safe_next,
    load_user,
    signed_in_user,
    start_session,
)
from .blueprint import bp
from .forms import (
    CodeForm,
    ConfirmIdentityForm,
    SignInForm,
)


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
        return _check_password(form)
    if not form.is_submitted() and current_user.is_authenticated:
        return redirect(home_url(current_user))
    return _sign_in_page(form, status_of(form))


def _check_password(form: SignInForm) -> BaseResponse | tuple[str, int]:
    """The password step: throttled per address, and the same answer for every failure."""
    db = database.session()
    email = form.email.data or ""
    if text.has_control_characters(email):  # no account has such an address, nor can store it
        form.form_errors.append("Email or password is incorrect.")
        return _sign_in_page(form, 422)
    wait = throttle.locked_for(db, email, request.remote_addr)
    if wait:
        # The same answer for every address, known or not: nothing about accounts leaks.
        _sign_in_refused(accounts.find_by_email(db, email), "sign_in_locked")
        advice = "try again, or reset your password with your practice"
        form.form_errors.append(_too_many_attempts(wait, advice))
        return _sign_in_page(form, 429)
    user = accounts.find_by_email(db, email)
    if accounts.check_password(user, form.password.data or "") and user and user.is_active:
        throttle.succeeded(db, email, request.remote_addr)
        return password_accepted(user, form.next.data if is_safe_next(form.next.data) else None)
    throttle.failed(db, email, request.remote_addr)
    _sign_in_refused(user, "sign_in_failed")
    database.keep_changes()  # the count must survive the error status
    form.form_errors.append("Email or password is incorrect.")
    form.password.data = ""
    return _sign_in_page(form, 422)


def _sign_in_refused(user: User | None, action: str) -> None:
    """Audit a refused sign-in: the account by number when it exists (never the address
    typed, which may be someone's personal data), with the practice it belongs to."""
    audit.record(
        action,
        "account",
        user.id if user else None,
        outcome="denied",
        subject_id=user.id if user and user.role == "client" else None,
        practice_id=user.practice_id if user else None,
        anonymous=True,
    )


def _sign_in_page(form: SignInForm, status: int = 200) -> tuple[str, int]:
    return render_template("auth/sign_in.html", form=form), status


def _too_many_attempts(wait: int, advice: str = "try again") -> str:
    """What a throttled person reads: how many minutes to wait, and what to do then."""
    return f"Too many attempts. Please wait {wait} minute{'s' if wait != 1 else ''} and {advice}."


def password_accepted(user: User, target: str | None) -> BaseResponse:
    """The password (or an invitation link) was right: sign in, or ask for the app's code first
    when two-step sign-in is on."""
    if user.mfa_enabled:
        await_code(user, target)
        return redirect(url_for("auth.sign_in_code"))
    start_session(user)
    return redirect(target or home_url(user))


def await_code(user: User, target: str | None) -> None:
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
    user = load_user(str(pending.get("token", "")))
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
        return _check_code(user, form)
    return render_template("auth/sign_in_code.html", form=form), status_of(form)


def _check_code(user: User, form: CodeForm) -> BaseResponse | tuple[str, int]:
    """The code step: throttled per person and address; a recovery code is used up and
    recorded."""
    db = database.session()
    key = f"mfa:{user.id}"
    wait = throttle.locked_for(db, key, request.remote_addr)
    if wait:
        _sign_in_refused(user, "sign_in_locked")
        form.code.errors = [_too_many_attempts(wait)]
        return render_template("auth/sign_in_code.html", form=form), 429
    how = mfa.verify_any(db, user, form.code.data or "")
    if how is not None:
        throttle.succeeded(db, key, request.remote_addr)
        target = session.get("mfa_pending", {}).get("next")
        start_session(user)
        if how == "recovery":
            _recovery_code_used(user)
        return redirect(target if is_safe_next(target) else home_url(user))
    throttle.failed(db, key, request.remote_addr)
    _sign_in_refused(user, "sign_in_code_failed")
    database.keep_changes()  # the count must survive the error status
    form.code.errors = ["That code did not work. Type the newest code from your app."]
    form.code.data = ""
    return render_template("auth/sign_in_code.html", form=form), 422


def _recovery_code_used(user: User) -> None:
    audit.record("change", "recovery_code", user.id, user=user)
    left = mfa.recovery_codes_left(database.session(), user)
    flash(
        f"You signed in with a recovery code; it cannot be used again. You have "
        f"{left} left. If your phone is lost, set up two-step sign-in again.",
        "info",
    )


@bp.post("/sign-out")
def sign_out() -> BaseResponse:
    """Sign out (POST only, so that no link or image can sign a person out)."""
    if current_user.is_authenticated:
        user = signed_in_user()
        audit.record("sign_out", "account", user.id, subject_id=_client_number(user))
        user.end_all_sessions()
    logout_user()
    session.clear()
    return redirect(url_for("auth.sign_in", signed_out=1))


def _client_number(user: User) -> int | None:
    return user.id if user.role == "client" else None


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
        wait = max(
            throttle.locked_for(db, email, request.remote_addr),
            throttle.locked_for(db, f"mfa:{user.id}", request.remote_addr),
        )
        if wait:
            form.form_errors.append(_too_many_attempts(wait))
            return render_template("auth/confirm_identity.html", form=form, user=user), 429
        if _identity_confirmed(user, form, email):
            session["fresh_at"] = int(time.time())
            target = form.next.data
            return redirect(target if is_safe_next(target) else home_url(user))
        database.keep_changes()  # failure counts survive the error status
        form.password.data = ""
        form.code.data = ""
    return render_template("auth/confirm_identity.html", form=form, user=user), status_of(form)


def _identity_confirmed(user: User, form: ConfirmIdentityForm, email: str) -> bool:
    """Check the password (and the code); a failure counts towards the throttle."""
    db = database.session()
    if not accounts.check_password(user, form.password.data or ""):
        throttle.failed(db, email, request.remote_addr)
        form.password.errors = ["That is not your password."]
    elif user.mfa_enabled and not form.code.data:
        form.code.errors = ["Enter the code from your authenticator app."]
    elif user.mfa_enabled and mfa.verify_any(db, user, form.code.data or "") is None:
        throttle.failed(db, f"mfa:{user.id}", request.remote_addr)
        form.code.errors = ["That code did not work. Type the newest code from your app."]
    else:
        throttle.succeeded(db, email, request.remote_addr)
        return True
    return False
