"""Session notes (DAP), their addenda and revisions, and dated event notes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, ClinicalJSON, ClinicalText, utcnow

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
        # One draft per client, therapist and session date: "Start today's note" reopens it.
        sa.Index(
            "uq_session_note_one_draft",
            "client_id",
            "therapist_id",
            "session_date",
            unique=True,
            sqlite_where=sa.text("status = 'draft'"),
            postgresql_where=sa.text("status = 'draft'"),
        ),
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
