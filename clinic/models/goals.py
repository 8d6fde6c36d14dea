"""The client's own goals (Goal Based Outcomes): up to three at a time, in the client's words,
each rated 0-10 at the weekly check-in and in session. Rewording keeps every earlier wording
with the moment it started; a goal that no longer fits is retired, never deleted."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, ClinicalText, utcnow

GOAL_RATING_CONTEXTS = ("check_in", "session")


class Goal(Base):
    __tablename__ = "goal"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    retired_at: Mapped[datetime | None]
    retired_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )

    wordings: Mapped[list[GoalWording]] = relationship(
        order_by="(GoalWording.from_at, GoalWording.id)",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    ratings: Mapped[list[GoalRating]] = relationship(
        order_by="(GoalRating.rated_on, GoalRating.created_at, GoalRating.id)",
        cascade="all, delete-orphan",
        lazy="selectin",
    )


class GoalWording(Base):
    """One wording of a goal, in force from `from_at` until the next one."""

    __tablename__ = "goal_wording"

    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(sa.ForeignKey("goal.id", ondelete="CASCADE"), index=True)
    wording: Mapped[str] = mapped_column(ClinicalText)
    from_at: Mapped[datetime] = mapped_column(default=utcnow)
    by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))


class GoalRating(Base):
    """How close the client is to the goal, 0 (not at all) to 10 (reached), on one day."""

    __tablename__ = "goal_rating"
    __table_args__ = (
        sa.CheckConstraint("rating BETWEEN 0 AND 10", name="rating_range"),
        sa.CheckConstraint(f"context IN {GOAL_RATING_CONTEXTS!r}", name="context_known"),
        # One rating per goal per check-in; in session, one per goal and day (a second
        # rating the same day replaces the first).
        sa.UniqueConstraint("goal_id", "check_in_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(sa.ForeignKey("goal.id", ondelete="CASCADE"), index=True)
    rating: Mapped[int]
    rated_on: Mapped[date]  # the client's local date
    context: Mapped[str] = mapped_column(sa.String(12))
    check_in_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("check_in.id", ondelete="CASCADE")
    )
    week: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    entered_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
