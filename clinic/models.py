"""Every mapped class. Invariants live in the schema as CHECK and UNIQUE constraints."""

from __future__ import annotations

import enum
import secrets
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base, ClinicalJSON, ClinicalText, utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"
    THERAPIST = "therapist"
    CLIENT = "client"


ROLE_VALUES = tuple(r.value for r in Role)


class Practice(Base):
    __tablename__ = "practice"
    # Ids are never reused (SQLite would otherwise recycle the highest one after a delete),
    # so an audit event's practice and user ids always mean the same people.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    # The demo command rebuilds only practices it made itself.
    is_demo: Mapped[bool] = mapped_column(default=False)
    time_zone: Mapped[str] = mapped_column(sa.String(64), default="Europe/London")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Shown to a client whenever something they answer raises an alert. Set by the admin;
    # the app ships no phone number of its own (numbers differ by country and service).
    crisis_contacts: Mapped[str | None] = mapped_column(sa.Text)
    clients_see_scores: Mapped[bool] = mapped_column(default=True)
    # Therapists and admins must use a second step (an authenticator app) to sign in.
    mfa_required: Mapped[bool] = mapped_column(default=False)
    # Reminders (clinic.notifications): days relative to the due date on which a client is
    # reminded of unfinished work, e.g. "-1,0,2"; none after `reminder_window_days` past it.
    reminder_days: Mapped[str] = mapped_column(
        sa.String(40), default="-1,0,2", server_default="-1,0,2"
    )
    reminder_window_days: Mapped[int] = mapped_column(default=7, server_default="7")
    # No reminder reaches a client between these local hours (equal hours: no quiet hours).
    quiet_from_hour: Mapped[int] = mapped_column(default=21, server_default="21")
    quiet_until_hour: Mapped[int] = mapped_column(default=8, server_default="8")
    # The therapists' daily summary goes out at this local hour. (The ranges are kept by the
    # settings form: a CHECK here would make SQLite rebuild the practice table.)
    digest_hour: Mapped[int] = mapped_column(default=7, server_default="7")

    users: Mapped[list[User]] = relationship(back_populates="practice")


class User(Base):
    __tablename__ = "user_account"
    __table_args__ = (
        sa.CheckConstraint(f"role IN {ROLE_VALUES!r}", name="role_known"),
        # Emails are stored case-folded so that the plain unique constraint is case-insensitive.
        sa.CheckConstraint("email = lower(email)", name="email_lowercase"),
        sa.CheckConstraint("role = 'client' OR email IS NOT NULL", name="staff_have_email"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(sa.ForeignKey("practice.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(sa.String(16))
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    time_zone: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None]
    # Email reminders reach a client only while both they and their therapist want them.
    reminders_wanted: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    reminders_allowed: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # What the session cookie carries instead of the id: rotating it ends every session of the
    # person, and a recycled id (e.g. after the demo is rebuilt) can never match an old cookie.
    session_token: Mapped[str] = mapped_column(
        sa.String(64), unique=True, default=lambda: secrets.token_urlsafe(32)
    )

    # Two-step sign-in (TOTP, RFC 6238). The secret is encrypted like clinical text; it is
    # switched on only once the person has typed a first code (totp_enabled_at). The last
    # accepted time step stops a code from being used twice.
    totp_secret: Mapped[str | None] = mapped_column(ClinicalText)
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)

    practice: Mapped[Practice] = relationship(back_populates="users")

    # Flask-Login protocol, written out so that inactive accounts really are refused.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active and self.password_hash is not None

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return self.session_token

    def end_all_sessions(self) -> None:
        """Make every existing session cookie of this person useless."""
        self.session_token = secrets.token_urlsafe(32)

    @property
    def mfa_enabled(self) -> bool:
        """Whether signing in needs a code from an authenticator app."""
        return self.totp_enabled_at is not None and self.totp_secret is not None

    @property
    def has_accepted(self) -> bool:
        """Whether the person has chosen a password (accepted their invitation)."""
        return self.password_hash is not None


class RecoveryCode(Base):
    """A single-use code that stands in for the authenticator app (a lost phone). Only a salted
    hash is kept; the codes are shown once, when they are made."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class Care(Base):
    """A therapist caring for a client. A client has at most one open care at a time."""

    __tablename__ = "care"
    __table_args__ = (
        sa.CheckConstraint("therapist_id <> client_id", name="distinct_people"),
        sa.CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ends_after_start"),
        sa.Index(
            "uq_care_one_open_per_client",
            "client_id",
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    therapist_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    ended_reason: Mapped[str | None] = mapped_column(sa.String(200))

    therapist: Mapped[User] = relationship(foreign_keys=[therapist_id])
    client: Mapped[User] = relationship(foreign_keys=[client_id])


class Invitation(Base):
    """A one-time link that lets a new person choose their password. Only its hash is kept."""

    __tablename__ = "invitation"
    __table_args__ = (
        sa.CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        sa.CheckConstraint("used_at IS NULL OR revoked_at IS NULL", name="used_or_revoked"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    def state(self, now: datetime) -> str:
        """One of: pending, used, revoked, expired."""
        if self.used_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "pending"


class ContentSnapshot(Base):
    """The exact definition (program or worksheet) a plan or submission was made with, kept so
    that later edits to the content files never change how old answers read."""

    __tablename__ = "content_snapshot"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('program', 'worksheet')", name="kind_known"),
        sa.UniqueConstraint("kind", "key", "version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    key: Mapped[str] = mapped_column(sa.String(64))
    version: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    body: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PlanStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    FINISHED = "finished"


class Plan(Base):
    """A client's run through a program: the weeks are counted from the first session."""

    __tablename__ = "plan"
    __table_args__ = (
        sa.CheckConstraint("status IN ('active', 'paused', 'finished')", name="status_known"),
        sa.CheckConstraint("session_weekday BETWEEN 0 AND 6", name="weekday_range"),
        sa.CheckConstraint("paused_days >= 0", name="paused_days_positive"),
        sa.CheckConstraint("(status = 'paused') = (paused_on IS NOT NULL)", name="paused_has_date"),
        sa.Index(
            "uq_plan_one_open_per_client",
            "client_id",
            unique=True,
            sqlite_where=sa.text("status <> 'finished'"),
            postgresql_where=sa.text("status <> 'finished'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    started_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    program_key: Mapped[str] = mapped_column(sa.String(64))
    program_version: Mapped[int]
    first_session: Mapped[date]
    session_weekday: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(16), default=PlanStatus.ACTIVE.value)
    paused_on: Mapped[date | None]
    paused_days: Mapped[int] = mapped_column(default=0)
    # Optimistic lock for the therapist's changes (pause, resume, finish): a stale form is
    # refused instead of being applied twice.
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    client: Mapped[User] = relationship(foreign_keys=[client_id])
    assignments: Mapped[list[Assignment]] = relationship(
        back_populates="plan", order_by="(Assignment.week, Assignment.position, Assignment.id)"
    )


class Assignment(Base):
    """One piece of homework in one week of a client's plan."""

    __tablename__ = "assignment"
    __table_args__ = (sa.CheckConstraint("week BETWEEN 1 AND 12", name="week_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    week: Mapped[int]
    worksheet_key: Mapped[str] = mapped_column(sa.String(64))
    due_on: Mapped[date]
    instruction: Mapped[str | None] = mapped_column(ClinicalText)
    position: Mapped[int] = mapped_column(default=0)
    # Optimistic lock for the therapist's edits (move, due date, instruction, remove, restore).
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None]

    plan: Mapped[Plan] = relationship(back_populates="assignments")
    submission: Mapped[Submission | None] = relationship(back_populates="assignment")


class SubmissionStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    REVIEWED = "reviewed"


COMPLETION_VALUES = ("none", "some", "most", "all")


class Submission(Base):
    """A client's answers to one assignment: a draft, then submitted, then reviewed."""

    __tablename__ = "submission"
    __table_args__ = (
        sa.CheckConstraint("status IN ('draft', 'submitted', 'reviewed')", name="status_known"),
        sa.CheckConstraint(f"completion IN {COMPLETION_VALUES!r}", name="completion_known"),
        sa.CheckConstraint("quality BETWEEN 0 AND 4", name="quality_range"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.CheckConstraint(
            "status = 'draft' OR submitted_at IS NOT NULL", name="submitted_has_time"
        ),
        sa.CheckConstraint(
            "status <> 'reviewed' OR reviewed_at IS NOT NULL", name="reviewed_has_time"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assignment.id", ondelete="CASCADE"), unique=True
    )
    client_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(sa.String(16), default=SubmissionStatus.DRAFT.value)
    answers: Mapped[dict[str, Any]] = mapped_column(ClinicalJSON)
    worksheet_version: Mapped[int]
    # Optimistic lock: every save names the version it started from (two tabs, late autosaves).
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    completion: Mapped[str | None] = mapped_column(sa.String(8))
    quality: Mapped[int | None]
    feedback: Mapped[str | None] = mapped_column(ClinicalText)

    assignment: Mapped[Assignment] = relationship(back_populates="submission")
    revisions: Mapped[list[SubmissionRevision]] = relationship(
        back_populates="submission", order_by="SubmissionRevision.id"
    )


class SubmissionRevision(Base):
    """An append-only copy of the answers at each submit, correction or overwritten save."""

    __tablename__ = "submission_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        sa.ForeignKey("submission.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str] = mapped_column(sa.String(32))
    answers: Mapped[dict[str, Any]] = mapped_column(ClinicalJSON)
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
    saved_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )

    submission: Mapped[Submission] = relationship(back_populates="revisions")


class Administration(Base):
    """One questionnaire given to a client: requested, then completed with its raw answers.
    Totals, bands and flags are computed on the server from the answers (measures.score)."""

    __tablename__ = "administration"
    __table_args__ = (
        sa.CheckConstraint(
            "slot IN ('baseline', 'midpoint', 'end', 'fortnightly', 'ad_hoc')", name="slot_known"
        ),
        sa.CheckConstraint("week IS NULL OR week BETWEEN 1 AND 12", name="week_range"),
        sa.CheckConstraint("(completed_at IS NULL) = (total IS NULL)", name="completed_has_total"),
        sa.Index(
            "uq_administration_scheduled",
            "plan_id",
            "week",
            "instrument_code",
            unique=True,
            sqlite_where=sa.text("slot <> 'ad_hoc'"),
            postgresql_where=sa.text("slot <> 'ad_hoc'"),
        ),
        sa.Index("ix_administration_client_code", "client_id", "instrument_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    plan_id: Mapped[int | None] = mapped_column(sa.ForeignKey("plan.id", ondelete="SET NULL"))
    instrument_code: Mapped[str] = mapped_column(sa.String(64))
    instrument_version: Mapped[int]
    slot: Mapped[str] = mapped_column(sa.String(16))
    week: Mapped[int | None]
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    requested_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    completed_at: Mapped[datetime | None]
    entered_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    answers: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    total: Mapped[int | None]
    band: Mapped[str | None] = mapped_column(sa.String(64))
    flags: Mapped[list[str] | None] = mapped_column(sa.JSON)


class CheckIn(Base):
    """The weekly check-in: the practice's own ratings, not a validated scale."""

    __tablename__ = "check_in"
    __table_args__ = (
        sa.CheckConstraint("trust BETWEEN 0 AND 10", name="trust_range"),
        sa.CheckConstraint("distress BETWEEN 0 AND 10", name="distress_range"),
        sa.CheckConstraint("helpfulness BETWEEN 0 AND 4", name="helpfulness_range"),
        sa.CheckConstraint("week BETWEEN 1 AND 12", name="week_range"),
        sa.UniqueConstraint("plan_id", "week"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plan.id", ondelete="CASCADE"))
    week: Mapped[int]
    trust: Mapped[int]
    distress: Mapped[int]
    helpfulness: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(ClinicalText)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    entered_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )


ALERT_KINDS = ("item9", "severe", "deterioration", "distress")


class Alert(Base):
    """Something the treating therapist must look at; open until acknowledged with a note."""

    __tablename__ = "alert"
    __table_args__ = (
        sa.CheckConstraint(f"kind IN {ALERT_KINDS!r}", name="kind_known"),
        # Who acknowledged can become unknown (their account removed), never the other way.
        sa.CheckConstraint(
            "acknowledged_by_id IS NULL OR acknowledged_at IS NOT NULL", name="ack_has_time"
        ),
        sa.CheckConstraint("acknowledged_at IS NULL OR note IS NOT NULL", name="ack_has_note"),
        sa.CheckConstraint(
            "administration_id IS NOT NULL OR check_in_id IS NOT NULL", name="has_source"
        ),
        sa.Index("ix_alert_client_open", "client_id", "acknowledged_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    administration_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("administration.id", ondelete="CASCADE")
    )
    check_in_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("check_in.id", ondelete="CASCADE")
    )
    # A short factual line (e.g. "PHQ-9 item 9 answered 2"), never the client's own words.
    detail: Mapped[str] = mapped_column(sa.String(200))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    note: Mapped[str | None] = mapped_column(ClinicalText)


ATTENDANCE = ("attended", "cancelled", "did_not_attend")
SESSION_FORMATS = ("in_person", "video", "phone")


class SessionNote(Base):
    """A structured DAP note of one session. A draft until signed; a signed note never
    changes (corrections are addenda)."""

    __tablename__ = "session_note"
    __table_args__ = (
        sa.CheckConstraint(f"attendance IN {ATTENDANCE!r}", name="attendance_known"),
        sa.CheckConstraint(f"format IN {SESSION_FORMATS!r}", name="format_known"),
        sa.CheckConstraint("status IN ('draft', 'signed')", name="status_known"),
        sa.CheckConstraint("(status = 'signed') = (signed_at IS NOT NULL)", name="signed_has_time"),
        sa.CheckConstraint("duration_minutes BETWEEN 0 AND 600", name="duration_range"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.Index("ix_session_note_client_date", "client_id", "session_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    therapist_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    session_date: Mapped[date]
    duration_minutes: Mapped[int] = mapped_column(default=50)
    attendance: Mapped[str] = mapped_column(sa.String(16), default="attended")
    format: Mapped[str] = mapped_column(sa.String(16), default="in_person")
    data: Mapped[str | None] = mapped_column(ClinicalText)
    assessment: Mapped[str | None] = mapped_column(ClinicalText)
    plan: Mapped[str | None] = mapped_column(ClinicalText)
    homework_reviewed: Mapped[str | None] = mapped_column(ClinicalText)
    homework_set: Mapped[str | None] = mapped_column(ClinicalText)
    status: Mapped[str] = mapped_column(sa.String(8), default="draft")
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    signed_at: Mapped[datetime | None]

    addenda: Mapped[list[Addendum]] = relationship(back_populates="note", order_by="Addendum.id")


class Addendum(Base):
    """A dated addition to a signed note; append-only."""

    __tablename__ = "addendum"

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(
        sa.ForeignKey("session_note.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    text: Mapped[str] = mapped_column(ClinicalText)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    note: Mapped[SessionNote] = relationship(back_populates="addenda")


class SessionNoteRevision(Base):
    """A draft's text set aside when two saves collided: the version not kept is filed here,
    so choosing one never loses the other."""

    __tablename__ = "session_note_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(
        sa.ForeignKey("session_note.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(sa.String(32))
    # The note's fields as they were typed or saved (dates as ISO text).
    fields: Mapped[dict[str, Any]] = mapped_column(ClinicalJSON)
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
    saved_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )


class EventNote(Base):
    """A dated life event the therapist notes (a move, a loss); shown as a marker on charts."""

    __tablename__ = "event_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    on_date: Mapped[date]
    text: Mapped[str] = mapped_column(ClinicalText)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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
    """Failed sign-ins per email address (hashed), shared by every worker through the
    database. Keyed by the address typed, so unknown addresses are throttled exactly like
    real ones and the answer never reveals whether an account exists."""

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]


class Erasure(Base):
    """A client's record exported and then erased by an admin. The row is made when the
    export is downloaded (its SHA-256 kept, so the practice can show which file it archived)
    and completed when the record is erased. It names no one: the client's former id links
    it to the audit trail, whose events stay."""

    __tablename__ = "erasure"
    __table_args__ = (
        sa.CheckConstraint(
            "erased_at IS NULL OR (reason IS NOT NULL AND erased_by_id IS NOT NULL)",
            name="erased_has_reason",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(
        sa.ForeignKey("practice.id", ondelete="CASCADE"), index=True
    )
    client_number: Mapped[int]  # the erased client's id (plain: the account is gone)
    exported_at: Mapped[datetime] = mapped_column(default=utcnow)
    exported_by_id: Mapped[int]
    export_sha256: Mapped[str] = mapped_column(sa.String(64))
    # The state of the record when it was exported (erasure.fingerprint): an erasure after
    # any change is refused until the record is downloaded again.
    record_fingerprint: Mapped[str] = mapped_column(sa.String(64))
    erased_at: Mapped[datetime | None]
    erased_by_id: Mapped[int | None]
    reason: Mapped[str | None] = mapped_column(sa.String(500))


NOTIFICATION_KINDS = ("invitation", "reminder", "digest", "alert")
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
