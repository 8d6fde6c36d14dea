"""Cross-cutting web concerns: CSRF, error pages, template helpers, response headers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask, Response, render_template
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from . import plans

csrf = CSRFProtect()

ERROR_TEXT = {
    400: ("Something was wrong with that request", "Please go back and try again."),
    404: (
        "Page not found",
        "There is nothing here, or it is not yours to see. Check the address, or go back "
        "to your home page.",
    ),
    405: ("That action is not available here", "Please go back and use the buttons on the page."),
    410: ("This link no longer works", "Ask for a new link."),
}


def init_app(app: Flask) -> None:
    """CSRF over every state-changing request, friendly error pages, template filters."""
    csrf.init_app(app)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.after_request(_headers)
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["isodate"] = format_isodate
    app.jinja_env.globals["client_state_words"] = plans.CLIENT_STATE_WORDS
    app.jinja_env.globals["therapist_state_words"] = plans.THERAPIST_STATE_WORDS


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


def _http_error(error: HTTPException) -> Response | tuple[str, int]:
    code = error.code or 500
    if code < 400:
        return error.get_response()
    title, message = ERROR_TEXT.get(code, (error.name, error.description or ""))
    return render_template("error.html", title=title, message=message), code


def _headers(response: Response) -> Response:
    # Pages hold client data: keep them out of shared caches and the browser's disk cache.
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def format_datetime(value: datetime | None, fmt: str = "%a %d %b %Y, %H:%M UTC") -> str:
    """A timestamp for people: 'Tue 03 Mar 2026, 14:05 UTC'."""
    return value.strftime(fmt) if value is not None else ""


def format_date(value: Any, fmt: str = "%a %d %b %Y") -> str:
    """A date for people: 'Tue 03 Mar 2026'."""
    return value.strftime(fmt) if value is not None else ""


def format_isodate(value: str | None) -> str:
    """An ISO date string (as stored in answers) for people; anything else as it is."""
    try:
        return format_date(date.fromisoformat(value)) if value else ""
    except (TypeError, ValueError):
        return str(value)
