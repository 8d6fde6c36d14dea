"""Throttling of guessing: per IP address with Flask-Limiter (memory, or Redis shared by every
worker when CLINIC_RATELIMIT_STORAGE_URL is set), and per account in the database. A worker
whose configured store cannot be reached refuses to start rather than count on its own: one
worker's memory would let an attacker multiply the per-address limit by the number of workers.

Failures are counted twice: for the pair (account, client address), whose lock stops only
that address, and for the account across every address, with a much higher allowance, so that
a distributed attack still slows down. Failures from one address therefore never lock the
rightful person out from another, and every lock ends within fifteen minutes. The account is
the email typed (known or not, so nothing tells accounts apart), or "mfa:<id>" for the code
step. No schema change: the two counters are rows of the same table, keyed by the hash of
"account" and of "account|address".

OWASP ASVS 4.0.3 V2.2.1: anti-automation that stops credential guessing without letting an
attacker lock other people out; NIST SP 800-63B 5.2.2 caps failed attempts per account (at
most 100 in a row)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import sqlalchemy as sa
from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from sqlalchemy.orm import Session

from .db import utcnow
from .errors import SetupError
from .models import SignInThrottle

# No storage here: a storage given to the constructor would win over the app's configuration.
limiter = Limiter(get_remote_address, strategy="moving-window")

# Per IP: generous for a practice behind one address, tight for a script.
SIGN_IN_LIMIT = "20 per minute; 200 per hour"
INVITATION_LIMIT = "30 per minute"
# Per (account, address): after this many failures, each further failure locks that address out
# of that account for twice as long as the last, from one minute up to fifteen.
FREE_FAILURES = 5
# Per account, across all addresses: the same, after this many failures.
ACCOUNT_FREE_FAILURES = 50
MAX_LOCK_MINUTES = 15
# A count is forgotten after this long without a failure (and on a correct sign-in).
FORGET_AFTER = dt.timedelta(hours=24)


def init_app(app: Flask) -> None:
    """Keep the per-IP counters where CLINIC_RATELIMIT_STORAGE_URL says (memory without it),
    and stop the start if that store does not answer."""
    url = app.config.get("RATELIMIT_STORAGE_URL") or "memory://"
    app.config["RATELIMIT_STORAGE_URI"] = url
    app.config["RATELIMIT_HEADERS_ENABLED"] = True
    limiter.init_app(app)
    if not url.startswith("memory://") and not limiter.storage.check():
        raise SetupError(
            f"CLINIC_RATELIMIT_STORAGE_URL: the rate-limit store at {_redacted(url)} does not "
            "answer. Start it or correct the setting; unset it only if a single worker serves "
            "the app (the counters then live in that worker's memory)."
        )


def _redacted(url: str) -> str:
    return re.sub(r"//[^@/]*@", "//***@", url)


def _normal(account: str) -> str:
    return account.strip().lower()


def _account_key(account: str) -> str:
    return hashlib.sha256(_normal(account).encode()).hexdigest()


def _pair_key(account: str, address: str | None) -> str:
    return hashlib.sha256(f"{_normal(account)}|{address or 'unknown'}".encode()).hexdigest()


def locked_for(
    db: Session, account: str, address: str | None, now: dt.datetime | None = None
) -> int:
    """Whole minutes until this address may try this account again (0 when it may now)."""
    now = now or utcnow()
    rows = [db.get(SignInThrottle, key) for key in _keys(account, address)]
    until = max((r.locked_until for r in rows if r and r.locked_until), default=None)
    if until is None or until <= now:
        return 0
    return max(1, -(-int((until - now).total_seconds()) // 60))


def failed(db: Session, account: str, address: str | None) -> None:
    """Count a failed sign-in for this account (whether or not it exists) from this address."""
    now = utcnow()
    pair, whole = _keys(account, address)
    _count(db, pair, FREE_FAILURES, now)
    _count(db, whole, ACCOUNT_FREE_FAILURES, now)
    # Counts nobody added to for a day are over; their locks ended long before.
    db.execute(sa.delete(SignInThrottle).where(SignInThrottle.last_failure_at < now - FORGET_AFTER))
    db.flush()


def succeeded(db: Session, account: str, address: str | None) -> None:
    """A correct sign-in clears the account's count and this address's; other addresses'
    locks stay."""
    db.execute(sa.delete(SignInThrottle).where(SignInThrottle.key.in_(_keys(account, address))))


def _keys(account: str, address: str | None) -> tuple[str, str]:
    return _pair_key(account, address), _account_key(account)


def _count(db: Session, key: str, free: int, now: dt.datetime) -> None:
    row = db.get(SignInThrottle, key, with_for_update=True)
    if row is None:
        row = SignInThrottle(key=key, failures=0)
        db.add(row)
    elif row.last_failure_at < now - FORGET_AFTER:
        row.failures, row.locked_until = 0, None
    row.failures += 1
    row.last_failure_at = now
    extra = row.failures - free
    if extra >= 0:
        row.locked_until = now + dt.timedelta(minutes=min(2 ** min(extra, 4), MAX_LOCK_MINUTES))
