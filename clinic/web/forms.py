"""Form helpers every audience uses: the base of every form, choices, the button-only form, time
zones, and reading numbers and dates from query arguments and hidden fields without a server
error."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import (  # type: ignore[attr-defined]  # SelectChoice: WTForms 3.3, stubs 3.2
    DateField,
    HiddenField,
    PasswordField,
    SelectChoice,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.fields.core import Field, UnboundField

from .. import text
from ..errors import DomainError


def plain_text(form: Any, field: Field) -> None:
    """Text without control characters (a textarea keeps tab and line breaks)."""
    if isinstance(field.data, str) and text.has_control_characters(
        field.data, multiline=isinstance(field, TextAreaField)
    ):
        raise ValidationError(text.CONTROL_MESSAGE)


def sensible_date(form: Any, field: Field) -> None:
    """A date within the range the app accepts (text.EARLIEST to text.LATEST)."""
    if field.data is not None and not text.within_range(field.data):
        raise ValidationError(text.DATE_RANGE_MESSAGE)


class Form(FlaskForm):
    """The base of every form of the app: each text field refuses control characters and each
    date field a date outside the accepted range, with a message next to the field. Checked
    here once, so that a new field cannot forget it. Passwords are exempt (only ever hashed,
    any character is fine), as are hidden fields (read by their views, never shown)."""

    class Meta:
        # A form that answers every problem the same way (signing in) turns the text check
        # off and checks the text itself.
        check_plain_text = True

        def bind_field(self, form: Any, unbound_field: UnboundField, options: Any) -> Field:
            field: Field = super().bind_field(form, unbound_field, options)  # type: ignore[misc]
            if isinstance(field, DateField):
                field.validators = [*field.validators, sensible_date]
            elif (
                isinstance(field, StringField)
                and not isinstance(field, PasswordField | HiddenField)
                and self.check_plain_text
            ):
                field.validators = [plain_text, *field.validators]
            return field


def options(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """Choices for a select or radio field, as WTForms 3.3+ wants them."""
    return [SelectChoice(value, label) for value, label in pairs]


class ConfirmForm(Form):
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


def version_arg(value: str | None) -> int | None:
    """The version a page was shown with (a hidden field), or None when what was sent cannot
    be one (empty, not a plain whole number, or beyond what the column holds). The rules treat
    None as out of date: nothing is changed and the page says so."""
    return text.whole_number(value)


def id_arg(value: str | None) -> int | None:
    """A record id from a query argument (1 to text.MAX_ID), or None."""
    number = text.whole_number(value)
    return number if number else None


def date_arg(value: str | None) -> dt.date | None:
    """An ISO date within the accepted range from a form or query argument; else None."""
    try:
        day = dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day is not None and text.within_range(day) else None


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
