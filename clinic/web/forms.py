"""Form helpers every audience uses: choices, the button-only form, time zones, and reading
numbers and dates from query arguments and hidden fields without a server error."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import cache
from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import SelectChoice

from ..errors import DomainError


def options(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """Choices for a select or radio field, as WTForms 3.3+ wants them."""
    return [SelectChoice(value, label) for value, label in pairs]


class ConfirmForm(FlaskForm):
    """A button-only form: it carries the CSRF token for a POST action."""


@cache
def time_zones() -> tuple[str, ...]:
    """The named time zones a person can choose from (Region/City), plus UTC."""
    names = {
        z
        for z in available_timezones()
        if "/" in z and z.split("/")[0] not in ("Etc", "SystemV", "US", "posix", "right")
    }
    return ("UTC", *sorted(names))


HOURS = [SelectChoice(h, f"{h:02d}:00") for h in range(24)]


def int_arg(value: str | None, default: int = 0) -> int:
    """A whole number from a form or query argument; anything else is the default."""
    try:
        return int(value or default)
    except ValueError:
        return default


def date_arg(value: str | None) -> dt.date | None:
    """An ISO date from a form or query argument; anything else is None."""
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def show_error(form: FlaskForm, error: DomainError, default: str | None = None) -> None:
    """Put a rule's message next to the field it names (or `default`), else above the form."""
    target = getattr(form, error.field or default or "", None)
    if target is not None:
        target.errors = [error.message]
    else:
        form.form_errors.append(error.message)


def status_of(form: FlaskForm) -> int:
    """A form page answers 200 when shown, 422 when what was sent needs fixing."""
    return 422 if form.is_submitted() else 200
