"""What every audience shares, with no routes of its own: CSRF, security headers, error pages,
template filters. `gates` (sign-in, roles), `forms` (form helpers) and `downloads` live beside
it. Plumbing only: nothing here commits or flashes."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import Flask, Response, render_template, request
from flask_login import current_user
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Map
from werkzeug.wrappers import Response as WerkzeugResponse

from .. import mail, plans, text
from ..timeutil import local_time

csrf = CSRFProtect()
talisman = Talisman()

# Only this site's own files; no inline script, no plugins, no framing, forms post here only.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}

ERROR_TEXT = {
    400: ("Something was wrong with that request", "Please go back and try again."),
    404: (
        "Page not found",
        "There is nothing here, or it is not yours to see. Check the address, or go back "
        "to your home page.",
    ),
    405: ("That action is not available here", "Please go back and use the buttons on the page."),
    410: ("This link no longer works", "Ask for a new link."),
    413: ("That was too much to send at once", "Please shorten what you wrote and try again."),
    429: ("Too many attempts", "Please wait a minute and try again."),
    500: (
        "Something went wrong on our side",
        "Nothing you did caused this. Please try again in a moment; what you saved before is safe.",
    ),
}


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: a whole number from 1 to text.MAX_ID (what an id or week
    column can hold), so that a URL naming 0 or 2^63 answers 404 like any id that does not
    exist, instead of overflowing the database driver."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int = 1, max: int = text.MAX_ID):
        super().__init__(map, fixed_digits, min, max)


def init_app(app: Flask) -> None:
    """Bounded ids in URLs, CSRF over every state-changing request, friendly error pages,
    template filters."""
    # Before the blueprints register their routes: every <int:...> in them is then bounded.
    app.url_map.converters["int"] = IdConverter
    csrf.init_app(app)
    talisman.init_app(
        app,
        # TLS ends at the reverse proxy in production; HSTS is sent on HTTPS requests.
        force_https=False,
        strict_transport_security=True,
        strict_transport_security_max_age=31_536_000,
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy="same-origin",
        x_content_type_options=True,
    )
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.after_request(_headers)
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["isodate"] = format_isodate
    app.jinja_env.filters["plus_hours"] = plus_hours
    app.jinja_env.globals["client_state_words"] = plans.CLIENT_STATE_WORDS
    app.jinja_env.globals["therapist_state_words"] = plans.THERAPIST_STATE_WORDS
    app.jinja_env.globals["email_on"] = mail.configured


def _csrf_error(error: CSRFError) -> tuple[str, int]:
    return (
        render_template(
            "error.html",
            title="This form has expired",
            message="For your safety forms expire. Go back, reload the page and try again; "
            "nothing was changed.",
        ),
        400,
    )


def _http_error(error: HTTPException) -> WerkzeugResponse | tuple[str, int]:
    code = error.code or 500
    if code < 400:
        return error.get_response()
    title, message = ERROR_TEXT.get(code, (error.name, error.description or ""))
    return render_template("error.html", title=title, message=message), code


def _headers(response: Response) -> Response:
    # Pages and downloads hold client data: keep them out of shared caches and the browser's
    # disk cache. Static files (CSS, JS) may be cached.
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    return response


def format_datetime(value: datetime | None, fmt: str = "%a %d %b %Y, %H:%M %Z") -> str:
    """A timestamp for people, in the signed-in person's time zone: 'Tue 03 Mar 2026, 14:05
    GMT'. Stored times are UTC; nobody should have to convert them in their head."""
    if value is None:
        return ""
    if current_user and current_user.is_authenticated:
        value = local_time(value, current_user)
    return value.strftime(fmt)


def format_date(value: Any, fmt: str = "%a %d %b %Y") -> str:
    """A date for people: 'Tue 03 Mar 2026'."""
    return value.strftime(fmt) if value is not None else ""


def format_isodate(value: str | None) -> str:
    """An ISO date string (as stored in answers) for people; anything else as it is."""
    try:
        return format_date(date.fromisoformat(value)) if value else ""
    except (TypeError, ValueError):
        return str(value)


def plus_hours(value: datetime, hours: int) -> datetime:
    """A moment so many hours later (e.g. when an alert must have been followed up)."""
    return value + timedelta(hours=hours)
