"""The practice's reminder settings (reminder days, quiet hours, digest hour), the words the
admin's Email page uses, and the signed links that turn a client's reminders off."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from ..models import (
    Practice,
    Role,
    User,
)

UNSUBSCRIBE_SALT = "clinic.reminders-off"


KIND_WORDS = {
    "invitation": "Invitation",
    "reminder": "Reminder to a client",
    "digest": "Daily summary",
    "alert": "Alert",
    "escalation": "Alert not acknowledged in time",
}


STATUS_WORDS = {
    "pending": "Waiting",
    "sending": "Being sent",
    "sent": "Sent",
    "failed": "Failed",
    "cancelled": "Not needed any more",
    "expired": "Too late to send",
}


@dataclass(frozen=True)
class Schedule:
    offsets: tuple[int, ...]
    window_days: int
    quiet_from: int
    quiet_until: int
    digest_hour: int


def parse_offsets(text: str) -> tuple[int, ...]:
    """Reminder days as typed by an admin ("-1, 0, +2"): whole days from -7 to 30, at most
    six. Raises ValueError with a message for the person."""
    values: set[int] = set()
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            value = int(part)
        except ValueError:
            raise ValueError(
                f"“{part[:20]}” is not a whole number of days. Use numbers like -1, 0, 2."
            ) from None
        if not -7 <= value <= 30:
            raise ValueError("Use days from -7 (a week before) to 30 (a month after).")
        values.add(value)
    if len(values) > 6:
        raise ValueError("Use at most six reminder days.")
    return tuple(sorted(values))


def format_offsets(offsets: Iterable[int]) -> str:
    """The stored form of reminder days: "-1,0,2"."""
    return ",".join(str(v) for v in offsets)


def schedule_of(practice: Practice) -> Schedule:
    """The practice's reminder settings (a stored value that no longer parses means none)."""
    try:
        offsets = parse_offsets(practice.reminder_days or "")
    except ValueError:
        offsets = ()
    return Schedule(
        offsets,
        practice.reminder_window_days,
        practice.quiet_from_hour,
        practice.quiet_until_hour,
        practice.digest_hour,
    )


def is_quiet(local: dt.datetime, schedule: Schedule) -> bool:
    """Whether a local time falls in the practice's quiet hours (which may span midnight)."""
    start, end, hour = schedule.quiet_from, schedule.quiet_until, local.hour
    if start == end:
        return False
    return start <= hour < end if start < end else hour >= start or hour < end


def first_moment_allowed(now: dt.datetime, zone: ZoneInfo, schedule: Schedule) -> dt.datetime:
    """Now, or the end of the quiet hours the person is in (their own time zone)."""
    local = now.astimezone(zone)
    if not is_quiet(local, schedule):
        return now
    end = dt.datetime.combine(local.date(), dt.time(schedule.quiet_until), zone)
    if end <= local:
        end = dt.datetime.combine(local.date() + dt.timedelta(days=1), end.time(), zone)
    return end.astimezone(dt.UTC)


def end_of_day(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """Midnight at the end of a local day, in UTC."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone).astimezone(dt.UTC)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(client: User) -> str:
    """A signed token that turns one client's reminders off without signing in. It carries a
    fingerprint of the account (id and creation time) besides the id, so that it can never
    act on a different account that later gets the same id (e.g. a rebuilt demo)."""
    return _serializer().dumps([client.id, _fingerprint(client)])


def _fingerprint(client: User) -> str:
    return hashlib.sha256(f"{client.id}:{client.created_at.isoformat()}".encode()).hexdigest()[:16]


def client_for_token(db: Session, token: str) -> User | None:
    """The client an unsubscribe token was made for, or None if it is not genuine."""
    try:
        client_id, fingerprint = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(client_id, int):
        return None
    client = db.get(User, client_id)
    if client is None or client.role != Role.CLIENT.value or _fingerprint(client) != fingerprint:
        return None
    return client
