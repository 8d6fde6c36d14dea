"""The "not on track" signal: a PHQ-9 or GAD-7 course above its expected path (clinic.tracking).
Not a risk alert: it never enters the alerts list, the alert emails or escalation. It opens a
clinical-support checklist whose answers are kept with it, encrypted."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, ClinicalJSON, utcnow

# open: raised, checklist not done; reviewed: checklist answered, still off track;
# resolved: back on track (a later score on or below the path).
SIGNAL_STATES = ("open", "reviewed", "resolved")


class ProgressSignal(Base):
    __tablename__ = "progress_signal"
    __table_args__ = (
        sa.CheckConstraint(f"state IN {SIGNAL_STATES!r}", name="state_known"),
        sa.CheckConstraint("instrument_code IN ('phq9', 'gad7')", name="instrument_tracked"),
        sa.CheckConstraint(
            "(state = 'resolved') = (resolved_on IS NOT NULL)", name="resolved_has_date"
        ),
        sa.CheckConstraint(
            "(reviewed_at IS NULL) = (checklist IS NULL)", name="reviewed_has_checklist"
        ),
        # At most one signal still standing per plan and questionnaire.
        sa.Index(
            "uq_progress_signal_standing",
            "plan_id",
            "instrument_code",
            unique=True,
            sqlite_where=sa.text("state <> 'resolved'"),
            postgresql_where=sa.text("state <> 'resolved'"),
        ),
        sa.Index("ix_progress_signal_client_state", "client_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    instrument_code: Mapped[str] = mapped_column(sa.String(16))
    state: Mapped[str] = mapped_column(sa.String(12), default="open")
    raised_on: Mapped[date]  # the client's local date of the score that raised it
    # The newest score that kept it standing, and what the rule said about it: a factual
    # line of numbers ("PHQ-9 16 in week 3; expected 13 or lower"), no one's own words.
    administration_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("administration.id", ondelete="SET NULL")
    )
    detail: Mapped[str] = mapped_column(sa.String(200))
    updated_on: Mapped[date]
    resolved_on: Mapped[date | None]
    # The clinical-support checklist ({area: {"answer", "note"}, "next_step"}), encrypted.
    checklist: Mapped[dict[str, Any] | None] = mapped_column(ClinicalJSON)
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
