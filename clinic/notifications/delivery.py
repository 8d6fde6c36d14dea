"""Delivery: rows are claimed one at a time with a conditional UPDATE, so two senders running at
once never take the same row; each is written, sent and its outcome recorded, with retries for
temporary failures."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import smtplib
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from .. import mail
from ..db import utcnow
from ..models import (
    Notification,
    User,
)
from .planning import plan
from .writing import WRITERS, NotNeeded

# A claimed row whose sender has not finished after this long is taken by the next run.
LEASE = dt.timedelta(minutes=10)


# Temporary failures are retried after 2, 6, 18, 54 and 162 minutes, then reported as failed.
MAX_ATTEMPTS = 6


FIRST_RETRY = dt.timedelta(minutes=2)


@dataclass
class Outcome:
    planned: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    expired: int = 0
    # Not tried because the mail server could not be used (they stay waiting, as they were).
    left: int = 0
    # Why the run stopped early: the mail server's error, without any recipient.
    unreachable: str | None = None

    @property
    def ok(self) -> bool:
        """Nothing went wrong: every message due was sent, or was no longer needed."""
        return not (self.failed or self.retrying or self.unreachable)

    def summary(self) -> str:
        text = (
            f"Planned {self.planned}, sent {self.sent}, will retry {self.retrying}, "
            f"failed {self.failed}, left for later {self.left}, not needed {self.cancelled}, "
            f"too late {self.expired}."
        )
        if self.unreachable:
            text += f"\nStopped: the mail server could not be used ({self.unreachable})."
        return text


def _claimable(now: dt.datetime) -> Any:
    return sa.or_(
        sa.and_(Notification.status == "pending", Notification.next_attempt_at <= now),
        sa.and_(Notification.status == "sending", Notification.claimed_until < now),
    )


def claim_row(db: Session, row_id: int, now: dt.datetime) -> str | None:
    """Take one row for this sender (a conditional UPDATE: only one sender can win it)."""
    claim = secrets.token_hex(8)
    result = db.execute(
        sa.update(Notification)
        .where(Notification.id == row_id, _claimable(now))
        .values(
            status="sending",
            attempts=Notification.attempts + 1,
            claimed_until=now + LEASE,
            claim=claim,
        )
        .execution_options(synchronize_session=False)
    )
    db.commit()
    return claim if result.rowcount == 1 else None  # type: ignore[attr-defined]


def _finish(db: Session, row_id: int, claim: str, **values: Any) -> None:
    """Record the outcome, unless another sender has taken the row over meanwhile."""
    if values.get("status") in ("sent", "cancelled", "expired"):
        values["secret"] = None  # an invitation's token is not kept once the email is settled
    db.execute(
        sa.update(Notification)
        .where(Notification.id == row_id, Notification.claim == claim)
        .values(claimed_until=None, claim=None, **values)
        .execution_options(synchronize_session=False)
    )
    db.commit()


def _message_id(row: Notification) -> str:
    # The same row always gets the same Message-ID, so that in the rare case of a sender
    # stopping between handing over a message and recording it, the copy is recognisable.
    digest = hashlib.sha256(row.key.encode()).hexdigest()[:16]
    return f"<bedrock.{row.id}.{digest}@{mail.sender_domain(current_app.config)}>"


def _permanent(error: Exception) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return False


def retry_at(row_attempts: int, now: dt.datetime) -> dt.datetime:
    """When a failed attempt is tried again: 2, 6, 18, 54, 162 minutes later."""
    return now + FIRST_RETRY * 3 ** max(row_attempts - 1, 0)


def deliver(db: Session, mailer: mail.Mailer, now: dt.datetime, limit: int = 500) -> Outcome:
    """Send every message that is due, one claimed row at a time. When the mail server cannot
    be used at all (refused, timed out, TLS or sign-in failed), the run stops there: the
    message in hand goes back to waiting with no attempt counted (it was never offered to
    the server, so it must not use up its retries) and the rest are not tried."""
    outcome = Outcome()
    ids = list(
        db.scalars(
            sa.select(Notification.id)
            .where(_claimable(now))
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(limit)
        )
    )
    db.rollback()  # end the read, so that each claim starts its own writing transaction
    for index, row_id in enumerate(ids):
        claim = claim_row(db, row_id, now)
        if claim is None:
            continue  # another sender has it
        row = db.scalars(
            sa.select(Notification)
            .where(Notification.id == row_id)
            .execution_options(populate_existing=True)
        ).one()
        if row.expires_at is not None and row.expires_at <= now:
            db.rollback()
            _finish(db, row_id, claim, status="expired")
            outcome.expired += 1
            continue
        try:
            message = WRITERS[row.kind](db, row, now)
        except NotNeeded as reason:
            db.rollback()
            _finish(db, row_id, claim, status="cancelled", last_error=str(reason)[:300])
            outcome.cancelled += 1
            continue
        except Exception as error:  # a fault of ours: report it, keep sending the others
            current_app.logger.exception("could not write notification %s", row_id)
            db.rollback()
            text = f"Bedrock could not write this email ({type(error).__name__}); see the log."
            _finish(db, row_id, claim, status="failed", last_error=text)
            outcome.failed += 1
            continue
        message["Date"] = formatdate(usegmt=True)  # when it is handed over, in UTC
        message["Message-ID"] = _message_id(row)
        # RFC 3834: sent by a program, so vacation responders and the like do not answer it.
        message["Auto-Submitted"] = "auto-generated"
        attempts = row.attempts
        db.rollback()  # no transaction stays open while the mail server is talked to
        try:
            mailer.send(message)
        except mail.ServerUnavailable as error:
            text = f"The mail server could not be used: {error}"[:300]
            _finish(
                db,
                row_id,
                claim,
                status="pending",
                last_error=text,
                attempts=Notification.attempts - 1,
            )
            outcome.left = len(ids) - index
            outcome.unreachable = str(error)[:300]
            break
        except (smtplib.SMTPException, OSError) as error:
            text = f"{type(error).__name__}: {error}"[:300]
            if _permanent(error) or attempts >= MAX_ATTEMPTS:
                _finish(db, row_id, claim, status="failed", last_error=text)
                outcome.failed += 1
            else:
                _finish(
                    db,
                    row_id,
                    claim,
                    status="pending",
                    last_error=text,
                    next_attempt_at=retry_at(attempts, now),
                )
                outcome.retrying += 1
            mailer.close()
            continue
        _finish(db, row_id, claim, status="sent", sent_at=utcnow(), last_error=None)
        outcome.sent += 1
    return outcome


def run(db: Session, now: dt.datetime | None = None) -> Outcome:
    """Plan and then send everything due: what `flask --app clinic send-notifications` does."""
    now = now or utcnow()
    if db.get_bind().dialect.name == "sqlite":
        # Planning reads and then writes: take the write lock first so that a second sender
        # running at the same moment waits its turn instead of failing.
        db.connection(execution_options={"clinic_write": True})
    planned = plan(db, now)
    db.commit()
    with mail.Mailer(current_app.config) as mailer:
        outcome = deliver(db, mailer, now)
    outcome.planned = planned
    return outcome


def retry(db: Session, row: Notification) -> None:
    """Put a failed message back in the queue (the admin fixed the address or the server)."""
    if row.status != "failed":
        return
    row.status = "pending"
    row.next_attempt_at = utcnow()
    row.attempts = 0
    db.flush()


def outbox(
    db: Session, practice_id: int
) -> tuple[list[sa.Row[Notification, User]], list[sa.Row[Notification, User]]]:
    """The practice's emails still open (waiting, sending, failed) and the latest 50 done."""
    base = (
        sa.select(Notification, User)
        .join(User, User.id == Notification.recipient_id)
        .where(Notification.practice_id == practice_id)
    )
    open_rows = db.execute(
        base.where(Notification.status.in_(["pending", "sending", "failed"])).order_by(
            Notification.status == "failed", Notification.next_attempt_at, Notification.id
        )
    ).all()
    done_rows = db.execute(
        base.where(Notification.status.not_in(["pending", "sending", "failed"]))
        .order_by(Notification.id.desc())
        .limit(50)
    ).all()
    return list(open_rows), list(done_rows)
