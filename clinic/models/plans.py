"""The 12-week plan and its homework: assignments, submissions (answers) and their revisions, and
the content snapshots a plan or an answer was made with."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, ClinicalJSON, ClinicalText, utcnow
from .people import User
from .screens import Screen


class ContentSnapshot(Base):
    """The exact definition (program or worksheet) a plan or submission was made with, kept so
    that later edits to the content files never change how old answers read."""

    __tablename__ = "content_snapshot"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('program', 'worksheet', 'screen')", name="kind_known"),
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
    # The suitability screen the plan follows (which partner-facing weeks are changed); none
    # for plans started before screens were recorded.
    screen_id: Mapped[int | None] = mapped_column(sa.ForeignKey("screen.id", ondelete="SET NULL"))
    # The discharge, written when the plan is finished: why, the risk at discharge and what
    # the therapist recommends next (clinical text, encrypted).
    discharge_reason: Mapped[str | None] = mapped_column(sa.String(24))
    discharge_risk: Mapped[str | None] = mapped_column(ClinicalText)
    discharge_recommendations: Mapped[str | None] = mapped_column(ClinicalText)
    # Measures that fit the client (plans.fit_measures): battery instruments this plan does not
    # give (codes, e.g. CSI-4 for a client with no current partner), and the client's own words
    # for "[problem]" in the WSAS items (None: plans.DEFAULT_PROBLEM).
    left_out_measures: Mapped[list[str]] = mapped_column(
        sa.JSON, default=list, server_default=sa.text("'[]'")
    )
    problem_wording: Mapped[str | None] = mapped_column(ClinicalText)
    # The client's own questionnaire schedule (plans.set_schedule), per instrument code: the
    # weeks a battery instrument is given instead of the program's, or a practice-supplied
    # instrument added to the plan ({"rule": "weeks", "weeks": [1, 6, 12]}, {"rule": "every",
    # "every": 2} or {"rule": "sessions"}). An instrument not named follows the program.
    measure_schedules: Mapped[dict[str, dict[str, object]]] = mapped_column(
        sa.JSON, default=dict, server_default=sa.text("'{}'")
    )

    client: Mapped[User] = relationship(foreign_keys=[client_id])
    screen: Mapped[Screen | None] = relationship()
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
