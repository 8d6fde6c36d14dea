"""Text and numbers people send, checked before anything is stored: control characters, dates
and database ids within what every page, PDF and database can hold."""

from __future__ import annotations

import datetime as dt
import re

# Dates a person can mean in this app (sessions, due dates, events, worksheet entries). Far
# dates are refused with a message rather than overflowing when weeks are added to them.
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2100, 12, 31)
DATE_RANGE_MESSAGE = (
    f"Enter a date between {EARLIEST:%d %b %Y} and {LATEST:%d %b %Y}, for example 2026-03-14."
)

# Row ids and versions are INTEGER columns: at most 2^31 - 1 on PostgreSQL (SQLite's limit,
# 2^63 - 1, is higher). A number beyond that names nothing that can exist.
MAX_ID = 2**31 - 1

# C0 controls, DEL and C1 controls (Unicode category Cc). PostgreSQL refuses NUL in text, and
# none of them can be shown or printed; multi-line text keeps tab, newline and carriage return.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
CONTROL_MESSAGE = (
    "This contains an invisible control character (it can come with copied text). "
    "Please remove it and try again."
)


def has_control_characters(value: str, *, multiline: bool = False) -> bool:
    """Whether text holds a character that cannot be stored everywhere, shown or printed."""
    return (_CONTROL_MULTILINE if multiline else _CONTROL).search(value) is not None


def within_range(day: dt.date) -> bool:
    """Whether a date lies in the range the app accepts (EARLIEST to LATEST)."""
    return EARLIEST <= day <= LATEST


def whole_number(value: str | None, maximum: int = MAX_ID) -> int | None:
    """A whole number from 0 to `maximum` written plainly in ASCII digits, or None: for ids
    and versions, where '1e3', '٣', '-1' or 10^30 can only be a mistake or a probe."""
    if not value or len(value) > len(str(maximum)) or not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if number <= maximum else None
