"""Throttling of guessing: per IP address with Flask-Limiter (memory, or Redis shared by every
worker when CLINIC_RATELIMIT_STORAGE_URL is set), and per account in the database.

OWASP ASVS 4.0.3 V2.2.1: anti-automation that stops credential guessing without letting an
attacker lock other people out; NIST SP 800-63B 5.2.2 caps failed attempts per account."""

from __future__ import annotations

import datetime as dt
import hashlib

import sqlalchemy as sa
from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from sqlalchemy.orm import Session

from .db import utcnow
from .models import SignInThrottle

limiter = Limiter(get_remote_address, storage_uri="memory://", strategy="moving-window")

# Per IP: generous for a practice behind one address, tight for a script.
SIGN_IN_LIMIT = "20 per minute; 200 per hour"
INVITATION_LIMIT = "30 per minute"
# Per account: after this many failures in a row, each further failure locks the address for
# twice as long as the last, from one minute up to fifteen.
FREE_FAILURES = 5
MAX_LOCK_MINUTES = 15


def init_app(app: Flask) -> None:
    """Use Redis for the per-IP counters when configured, memory otherwise."""
    app.config.setdefault(
        "RATELIMIT_STORAGE_URI", app.config.get("RATELIMIT_STORAGE_URL") or "memory://"
    )
    app.config["RATELIMIT_HEADERS_ENABLED"] = True
    limiter.init_app(app)


def _key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def locked_for(db: Session, email: str, now: dt.datetime | None = None) -> int:
    """Whole minutes until this address may try again (0 when it may now)."""
    now = now or utcnow()
    row = db.get(SignInThrottle, _key(email))
    if row is None or row.locked_until is None or row.locked_until <= now:
        return 0
    return max(1, -(-int((row.locked_until - now).total_seconds()) // 60))


def failed(db: Session, email: str) -> None:
    """Count a failed sign-in for this address (whether or not an account has it)."""
    now = utcnow()
    key = _key(email)
    row = db.get(SignInThrottle, key)
    if row is None:
        row = SignInThrottle(key=key, failures=0)
        db.add(row)
    row.failures += 1
    row.last_failure_at = now
    extra = row.failures - FREE_FAILURES
    if extra >= 0:
        row.locked_until = now + dt.timedelta(minutes=min(2**extra, MAX_LOCK_MINUTES))
    db.flush()


def succeeded(db: Session, email: str) -> None:
    """A correct sign-in clears the count."""
    db.execute(sa.delete(SignInThrottle).where(SignInThrottle.key == _key(email)))
