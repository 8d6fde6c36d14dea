"""Practices, people (admins, therapists, clients) and their sign-in: recovery codes, care (which
therapist a client is with) and invitations."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, ClinicalText, utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"
    THERAPIST = "therapist"
    CLIENT = "client"


ROLE_VALUES = tuple(r.value for r in Role)


class Practice(Base):
    __tablename__ = "practice"
    # Ids are never reused (SQLite would otherwise recycle the highest one after a delete),
    # so an audit event's practice and user ids always mean the same people.
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 -- read by SQLAlchemy

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    # The demo command rebuilds only practices it made itself.
    is_demo: Mapped[bool] = mapped_column(default=False)
    time_zone: Mapped[str] = mapped_column(sa.String(64), default="Europe/London")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Shown to a client whenever something they answer raises an alert. Set by the admin;
    # the app ships no phone number of its own (numbers differ by country and service).
    crisis_contacts: Mapped[str | None] = mapped_column(sa.Text)
    # Domestic abuse helplines, shown beside the crisis contacts on the client's "Need help
    # now?" page: a trust program must not assume the relationship is safe.
    abuse_helplines: Mapped[str | None] = mapped_column(sa.Text)
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
    # An alert not acknowledged within this many hours is escalated by email to the practice's
    # safety contacts (the admin chooses them; without any, every active admin).
    alert_response_hours: Mapped[int] = mapped_column(default=24, server_default="24")
    # Emails worded without any clinical word (no therapy, therapist, homework, alert kinds),
    # for clients whose mailbox others may read: "You have something waiting in Bedrock".
    discreet_emails: Mapped[bool] = mapped_column(default=False)
    # How many years after the end of a client's care the practice keeps the record (its
    # records policy; erasure.past_retention lists the records past it for the admin to review
    # and erase, never automatically). None: no period set. 1 to 100, kept by the form.
    retention_years: Mapped[int | None]

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
    # Named by the admin: gets the email when an alert is not acknowledged in time.
    safety_contact: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
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
