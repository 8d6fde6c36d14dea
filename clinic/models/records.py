"""What the practice keeps about the use of the record: the append-only audit trail, sign-in
throttling, erasures, and the email outbox."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, ClinicalText, utcnow
from .people import User


class AuditEvent(Base):
    """Who did what to which record, when, from where, and whether it was allowed. Append-only
    (the database refuses UPDATE and DELETE); never any clinical content. Ids are plain
    numbers, not foreign keys, so that no later change elsewhere can alter an event."""

    __tablename__ = "audit_event"
    __table_args__ = (
        sa.CheckConstraint("outcome IN ('allowed', 'denied')", name="outcome_known"),
        sa.Index("ix_audit_event_practice_at", "practice_id", "at"),
        sa.Index("ix_audit_event_subject", "subject_id", "at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    practice_id: Mapped[int | None]
    user_id: Mapped[int | None]
    user_name: Mapped[str | None] = mapped_column(sa.String(120))
    role: Mapped[str | None] = mapped_column(sa.String(16))
    action: Mapped[str] = mapped_column(sa.String(32))
    object_type: Mapped[str] = mapped_column(sa.String(32))
    object_id: Mapped[int | None]
    # The client whose record this concerns, for the client's own access log.
    subject_id: Mapped[int | None]
    outcome: Mapped[str] = mapped_column(sa.String(8), default="allowed")
    ip: Mapped[str | None] = mapped_column(sa.String(45))


# The database itself refuses to change or delete audit events. Migration 0004 creates these
# triggers; the listeners below make metadata-built schemas (tests only) have them too.
SQLITE_TRIGGERS = [
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
]


POSTGRES_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit events are append-only'; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
]


for _statement in SQLITE_TRIGGERS:
    sa.event.listen(
        AuditEvent.__table__, "after_create", sa.DDL(_statement).execute_if(dialect="sqlite")
    )
for _statement in POSTGRES_TRIGGERS:
    sa.event.listen(
        AuditEvent.__table__, "after_create", sa.DDL(_statement).execute_if(dialect="postgresql")
    )


class SignInThrottle(Base):
    """Failed sign-ins, shared by every worker through the database: one row per account
    typed (the hash of the email, or of "mfa:<id>"), and one per account and client address
    (the hash of "account|address"); see clinic.throttle. Keyed by what was typed, so unknown
    addresses are throttled exactly like real ones and the answer never reveals whether an
    account exists."""

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]


class Erasure(Base):
    """A client's record erased by an admin. The admin asks for it (the row is made); the
    client's therapist downloads the whole record (its SHA-256 and the record's state are
    kept, so the practice can show which file it archived, and the admin never reads it); then
    the admin erases. It names no one: the client's former id links it to the audit trail,
    whose events stay."""

    __tablename__ = "erasure"
    __table_args__ = (
        sa.CheckConstraint(
            "erased_at IS NULL OR (reason IS NOT NULL AND erased_by_id IS NOT NULL)",
            name="erased_has_reason",
        ),
        sa.CheckConstraint(
            "erased_at IS NULL OR export_sha256 IS NOT NULL", name="erased_after_export"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(
        sa.ForeignKey("practice.id", ondelete="CASCADE"), index=True
    )
    client_number: Mapped[int]  # the erased client's id (plain: the account is gone)
    requested_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    requested_by_id: Mapped[int | None]
    exported_at: Mapped[datetime | None]
    exported_by_id: Mapped[int | None]
    export_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    # The state of the record when it was exported (erasure.fingerprint): an erasure after
    # any change is refused until the record is downloaded again.
    record_fingerprint: Mapped[str | None] = mapped_column(sa.String(64))
    erased_at: Mapped[datetime | None]
    erased_by_id: Mapped[int | None]
    reason: Mapped[str | None] = mapped_column(sa.String(500))


NOTIFICATION_KINDS = ("invitation", "reminder", "digest", "alert", "escalation")


NOTIFICATION_STATUSES = ("pending", "sending", "sent", "failed", "cancelled", "expired")


class Notification(Base):
    """One email Bedrock means to send (the outbox). Planned once per dedupe key, claimed by
    one sender at a time, and kept with its outcome. It holds no message text: the email is
    written when it is sent, from what is true then, and never carries clinical content."""

    __tablename__ = "notification"
    __table_args__ = (
        sa.CheckConstraint(f"kind IN {NOTIFICATION_KINDS!r}", name="kind_known"),
        sa.CheckConstraint(f"status IN {NOTIFICATION_STATUSES!r}", name="status_known"),
        sa.CheckConstraint("attempts >= 0", name="attempts_positive"),
        sa.CheckConstraint("status <> 'sent' OR sent_at IS NOT NULL", name="sent_has_time"),
        sa.Index("ix_notification_status_next", "status", "next_attempt_at"),
        sa.Index("ix_notification_practice_status", "practice_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(sa.ForeignKey("practice.id", ondelete="CASCADE"))
    recipient_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(16))
    # What makes this message unique, e.g. "reminder:12:2026-03-03" or "alert:40".
    key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    object_id: Mapped[int | None]
    status: Mapped[str] = mapped_column(sa.String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # After this moment the message is no longer worth sending (a reminder meant for a day).
    expires_at: Mapped[datetime | None]
    # A sender that stops halfway leaves its claim; another may take the row after this.
    claimed_until: Mapped[datetime | None]
    claim: Mapped[str | None] = mapped_column(sa.String(32))
    last_error: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    # An invitation's one-time token, encrypted, kept only until the email has gone.
    secret: Mapped[str | None] = mapped_column(ClinicalText)

    recipient: Mapped[User] = relationship()


class KeyCheck(Base):
    """Which secret and encryption keys this database was written with, as HMACs of fixed
    labels (never the keys): every start compares its own keys with this one row, so that a
    host, worker or timer with other keys refuses to start instead of signing links nobody
    else accepts or writing text nobody else can read (clinic.keycheck)."""

    __tablename__ = "key_check"
    __table_args__ = (sa.CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    # HMAC-SHA256 of a fixed label under SECRET_KEY, hex.
    secret_check: Mapped[str] = mapped_column(sa.String(64))
    # JSON: {HMAC of a fixed label under each encryption key: "writes" or "decrypts"}.
    # "writes": stored text may be encrypted with it, so every host needs it.
    encryption_checks: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
