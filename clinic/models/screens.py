"""The suitability and safety screen a therapist records before a plan starts (and again at
any time): the answers are clinical text, encrypted at rest; the outcome and the changes to
partner-facing weeks are plain, because they decide what the plan may do."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, ClinicalJSON, utcnow

SCREEN_OUTCOMES = ("suitable", "with_changes", "not_suitable")


class Screen(Base):
    """One suitability and safety screen of a client. Screens are never edited: screening
    again adds a new one, and the newest decides."""

    __tablename__ = "screen"
    __table_args__ = (
        sa.CheckConstraint(f"outcome IN {SCREEN_OUTCOMES!r}", name="outcome_known"),
        sa.Index("ix_screen_client_date", "client_id", "screened_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    therapist_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    screened_on: Mapped[date]
    content_key: Mapped[str] = mapped_column(sa.String(64))
    content_version: Mapped[int]
    answers: Mapped[dict[str, Any]] = mapped_column(ClinicalJSON)
    outcome: Mapped[str] = mapped_column(sa.String(16))
    # {"5": "adapted", "8": "left_out"}: only the weeks that are not as written.
    week_changes: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
