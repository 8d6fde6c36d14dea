"""The doors every audience shares: the login manager and the user loader, session lifetimes,
the two-step enrolment gate, the role gate, "confirm it's you", and safe redirects."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeGuard, TypeVar
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, Flask, abort, current_app, flash, redirect, request, session, url_for
from flask_login import LoginManager, current_user, login_user, logout_user
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response as BaseResponse

from .. import accounts, audit, mfa
from .. import db as database
from ..db import utcnow
from ..models import Role, User

F = TypeVar("F", bound=Callable[..., Any])

login_manager = LoginManager()
login_manager.login_view = "auth.sign_in"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"


HOME_ENDPOINT = {
    Role.ADMIN.value: "admin.people",
    Role.THERAPIST.value: "therapist.caseload",
    Role.CLIENT.value: "client.home",
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
    audit.record("sign_in", "account", user.id, user=user, subject_id=_client_number(user))
    notice = accounts.reset_notice(database.session(), user)
    if notice:
        flash(notice, "error")


def _client_number(user: User) -> int | None:
    return user.id if user.role == Role.CLIENT.value else None


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
def load_user(session_token: str) -> User | None:
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


def is_safe_next(target: str | None) -> TypeGuard[str]:
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


def signed_in_user() -> User:
    """The signed-in person as a model instance (for typed code behind a role gate)."""
    user = current_user._get_current_object()
    assert isinstance(user, User)
    return user


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
