"""Dates and times as the people of a practice live them (their local calendar)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .models import User

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def zone_of(user: User) -> ZoneInfo:
    """The person's time zone, else their practice's, else UTC."""
    for name in (user.time_zone, user.practice.time_zone if user.practice else None, "UTC"):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def local_today(user: User) -> dt.date:
    """Today's date where the person is."""
    return dt.datetime.now(zone_of(user)).date()


def local_time(moment: dt.datetime, user: User) -> dt.datetime:
    """A stored UTC moment in the person's time zone."""
    return moment.astimezone(zone_of(user))
