"""Questionnaires given (administrations), weekly check-ins and the alerts they raise."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, ClinicalText, utcnow

# baseline, midpoint, end: the program's batteries; fortnightly: PHQ-9 and GAD-7 between them;
# scheduled: a week the client's own schedule adds (plans.set_schedule); ad_hoc: sent by hand.
SLOTS = ("baseline", "midpoint", "end", "fortnightly", "scheduled", "ad_hoc")


class Administration(Base):
    """One questionnaire given to a client: requested, then completed with its raw answers.
    Totals, bands and flags are computed on the server from the answers (measures.score)."""

    __tablename__ = "administration"
    __table_args__ = (
        sa.CheckConstraint(f"slot IN {SLOTS!r}", name="slot_known"),
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
    # What the total is out of when an item did not apply (the WSAS work item for someone
    # retired or not working by choice: 32); None when every item was answered.
    out_of: Mapped[int | None]
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


ALERT_KINDS = ("item9", "severe", "deterioration", "distress", "red_flag")


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
            "administration_id IS NOT NULL OR check_in_id IS NOT NULL OR submission_id IS NOT NULL",
            name="has_source",
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
    # Homework sent with an answer its worksheet flags (a red flag on the red-flags worksheet).
    submission_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("submission.id", ondelete="CASCADE")
    )
    # A short factual line (e.g. "PHQ-9 item 9 answered 2"), never the client's own words.
    detail: Mapped[str] = mapped_column(sa.String(200))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    note: Mapped[str | None] = mapped_column(ClinicalText)
    # How urgent within its kind, higher first: the item-9 answer (1 several days .. 3 nearly
    # every day), the distress rating (9 or 10); 0 where a kind has no grades.
    grade: Mapped[int] = mapped_column(default=0, server_default="0")
    # When the practice's safety contacts were emailed because nobody acknowledged it in time.
    escalated_at: Mapped[datetime | None]
    # How it was acknowledged, besides the note (alerts.ACK_CHOICES): was risk assessed, what
    # about a safety plan, how and when the client was contacted, and the next step.
    risk_review: Mapped[str | None] = mapped_column(sa.String(16))
    safety_plan: Mapped[str | None] = mapped_column(sa.String(16))
    contact: Mapped[str | None] = mapped_column(sa.String(16))
    contacted_on: Mapped[date | None]
    next_step: Mapped[str | None] = mapped_column(ClinicalText)
