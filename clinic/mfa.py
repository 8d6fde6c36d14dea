"""Two-step sign-in: time-based one-time codes from an authenticator app (TOTP, RFC 6238,
with pyotp) and single-use recovery codes for a lost phone.

OWASP ASVS 4.0.3 V2.8 (one-time verifiers: a code is valid for one time step either side and
can be used only once) and V2.6 (look-up secrets: random, single use, stored hashed with a
unique salt). The TOTP secret is stored encrypted (clinic.crypto), like clinical text."""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
import time
from typing import Any, cast

import pyotp
import segno
import sqlalchemy as sa
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.attributes import set_committed_value

from .db import utcnow
from .errors import DomainError
from .models import RecoveryCode, Role, User

ISSUER = "Bedrock"
RECOVERY_CODES = 10
# 10 characters from a 32-letter alphabet without look-alikes (50 bits each); typed as two
# groups of five. Guessing is limited by the sign-in throttle.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_STAFF = (Role.THERAPIST.value, Role.ADMIN.value)


class MfaError(DomainError):
    """A rule about two-step sign-in was broken."""


def applies_to(user: User) -> bool:
    """Two-step sign-in is offered to therapists and admins."""
    return user.role in _STAFF


def must_enrol(user: User) -> bool:
    """The practice requires two-step sign-in and this person has not set it up yet."""
    return applies_to(user) and not user.mfa_enabled and user.practice.mfa_required


def begin_setup(user: User) -> str:
    """Give the person a new secret, not yet switched on (a first code confirms it)."""
    if user.mfa_enabled:
        raise MfaError("Two-step sign-in is already on. Turn it off first to move to a new app.")
    user.totp_secret = pyotp.random_base32()  # 160 bits, as RFC 4226 recommends
    user.totp_last_step = None
    return user.totp_secret


def provisioning_uri(user: User) -> str:
    """The otpauth:// address an authenticator app reads (from the QR code or typed in)."""
    assert user.totp_secret is not None
    return pyotp.TOTP(user.totp_secret).provisioning_uri(
        name=user.email or str(user.id), issuer_name=f"{ISSUER} ({user.practice.name})"
    )


def qr_svg(uri: str) -> str:
    """The address as a QR code in SVG, drawn on the server (no script, no image request)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(
        out, kind="svg", xmldecl=False, svgns=True, scale=5, border=2, title="QR code"
    )
    return out.getvalue().decode("utf-8")


def _clean_code(code: str) -> str:
    return "".join(ch for ch in (code or "") if not ch.isspace() and ch != "-").lower()


def verify_totp(user: User, code: str, now: float | None = None) -> bool:
    """Accept a code for the current time step or one either side, once: a step at or before
    the last accepted one is refused, so an observed code cannot be replayed."""
    code = _clean_code(code)
    if user.totp_secret is None or len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(user.totp_secret)
    now = time.time() if now is None else now
    current = int(now) // totp.interval
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return False
            db = object_session(user)
            if db is None:  # not stored yet (set-up in a test): nothing to race with
                user.totp_last_step = step
                return True
            # A conditional update: of two requests racing with the same code, one wins.
            result = db.execute(
                sa.update(User)
                .where(
                    User.id == user.id,
                    sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step),
                )
                .values(totp_last_step=step)
                .execution_options(synchronize_session=False)
            )
            # An UPDATE without RETURNING runs on a cursor: its result has a row count.
            won = cast("sa.CursorResult[Any]", result).rowcount
            if won != 1:
                return False
            set_committed_value(user, "totp_last_step", step)
            return True
    return False


def confirm_setup(db: Session, user: User, code: str) -> list[str]:
    """Switch two-step sign-in on with a first correct code; returns new recovery codes."""
    if user.totp_secret is None or user.mfa_enabled:
        raise MfaError("Start the set-up again: there is no new secret waiting.")
    if not verify_totp(user, code):
        raise MfaError(
            "That code did not match. Check the app shows Bedrock and type the newest code.",
            "code",
        )
    user.totp_enabled_at = utcnow()
    return new_recovery_codes(db, user)


def turn_off(db: Session, user: User) -> None:
    """Switch two-step sign-in off and forget the secret and the recovery codes."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.flush()


def _hash(code: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(16)
    return f"{salt}${hashlib.sha256((salt + _clean_code(code)).encode()).hexdigest()}"


def new_recovery_codes(db: Session, user: User) -> list[str]:
    """Replace the person's recovery codes with ten new ones (shown once, stored hashed)."""
    db.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.add(RecoveryCode(user_id=user.id, code_hash=_hash(raw)))
    db.flush()
    return codes


def recovery_codes_left(db: Session, user: User) -> int:
    """How many unused recovery codes the person has."""
    return int(
        db.scalar(
            sa.select(sa.func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def use_recovery_code(db: Session, user: User, code: str) -> bool:
    """Accept an unused recovery code once (a conditional update: two requests cannot both
    use it)."""
    code = _clean_code(code)
    if len(code) != 10:
        return False
    rows = db.scalars(
        sa.select(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    ).all()
    for row in rows:
        salt, _, _digest = row.code_hash.partition("$")
        if hmac.compare_digest(_hash(code, salt), row.code_hash):
            claimed = db.execute(
                sa.update(RecoveryCode)
                .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
                .values(used_at=utcnow())
                .execution_options(synchronize_session="fetch")
            )
            return getattr(claimed, "rowcount", 0) == 1
    return False


def verify_any(db: Session, user: User, code: str) -> str | None:
    """'totp' or 'recovery' for an accepted code, None otherwise."""
    if verify_totp(user, code):
        return "totp"
    if use_recovery_code(db, user, code):
        return "recovery"
    return None
