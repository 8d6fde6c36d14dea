"""The plan's calendar: the first session, each week's session and due date, which week a day falls
in, and how a piece of homework stands."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa

from ..models import (
    Assignment,
    Plan,
    PlanStatus,
    SubmissionStatus,
    User,
)
from ..timeutil import local_time
from .definitions import WEEKS


class PlanCalendar(Protocol):
    """What a plan's calendar follows from: a Plan, or just these columns of one (the
    dashboard reads them without loading the plan)."""

    @property
    def first_session(self) -> dt.date: ...
    @property
    def paused_days(self) -> int: ...
    @property
    def paused_on(self) -> dt.date | None: ...


def first_session_on(start: dt.date, weekday: int) -> dt.date:
    """The first session: the start date itself or the next day that is the session weekday."""
    return start + dt.timedelta(days=(weekday - start.weekday()) % 7)


def session_date(plan: PlanCalendar, week: int) -> dt.date:
    """The session that opens a week (pauses push later weeks back)."""
    return plan.first_session + dt.timedelta(days=7 * (week - 1) + plan.paused_days)


def default_due(plan: Plan, week: int) -> dt.date:
    """Homework set in a week is due the day before the next session, so the therapist can
    read it beforehand."""
    return session_date(plan, week + 1) - dt.timedelta(days=1)


@dataclass(frozen=True)
class Position:
    week: int  # 1..12
    started: bool  # the first session has happened
    over: bool  # the 12 weeks have passed


def position(plan: PlanCalendar, today: dt.date) -> Position:
    """Which week of the plan a day falls in (a paused plan stands still)."""
    ref = plan.paused_on if plan.paused_on is not None else today
    days = (ref - plan.first_session).days - plan.paused_days
    week = min(max(days // 7 + 1, 1), WEEKS)
    return Position(week=week, started=days >= 0, over=days >= 7 * WEEKS)


def week_in_sql(today: dt.date, dialect: str) -> sa.ColumnElement[int]:
    """position(plan, today).week as an SQL expression over the plan's columns, for queries
    that count a whole caseload's homework of "this week" (tests hold it to position()).
    Integer division truncates in SQL where Python floors; the two differ only for days
    before the first session, which both then clamp to week 1."""
    ref = sa.func.coalesce(Plan.paused_on, today)
    elapsed: sa.ColumnElement[int]
    if dialect == "sqlite":  # dates are text there: julianday gives the days between them
        elapsed = sa.cast(
            sa.func.julianday(ref) - sa.func.julianday(Plan.first_session), sa.Integer
        )
    else:  # PostgreSQL: a date minus a date is a whole number of days
        elapsed = sa.type_coerce(ref - Plan.first_session, sa.Integer)
    week = (elapsed - Plan.paused_days) // 7 + 1
    if dialect == "sqlite":  # min() and max() of several values are SQLite's least and greatest
        return sa.func.min(sa.func.max(week, 1), WEEKS)
    return sa.func.least(sa.func.greatest(week, 1), WEEKS)


def homework_state(assignment: Assignment, today: dt.date) -> str:
    """not_started, draft, submitted, reviewed or overdue (overdue: due and not submitted)."""
    sub = assignment.submission
    if sub is not None and sub.status != SubmissionStatus.DRAFT.value:
        return sub.status
    if assignment.due_on < today and assignment.plan.status == PlanStatus.ACTIVE.value:
        return "overdue"
    return "draft" if sub is not None else "not_started"


def homework_state_on(assignment: Assignment, day: dt.date, client: User) -> str:
    """How homework stood at the end of a day in the client's time zone (a session's date):
    anything sent, reviewed or started after that day does not count yet."""
    sub = assignment.submission

    def by(moment: dt.datetime | None) -> bool:
        return moment is not None and local_time(moment, client).date() <= day

    if sub is not None and by(sub.submitted_at):
        return "reviewed" if by(sub.reviewed_at) else "submitted"
    if assignment.due_on < day and assignment.plan.status == PlanStatus.ACTIVE.value:
        return "overdue"
    return "draft" if sub is not None and by(sub.created_at) else "not_started"


# How a state reads: warm and unhurried for clients, precise for therapists (ui.md).
CLIENT_STATE_WORDS = {
    "not_started": "Not started yet",
    "draft": "Draft saved",
    "submitted": "Sent to your therapist",
    "reviewed": "Reviewed by your therapist",
    "overdue": "Not done yet",
}


THERAPIST_STATE_WORDS = {
    "not_started": "Not started",
    "draft": "Draft",
    "submitted": "Submitted · to review",
    "reviewed": "Reviewed",
    "overdue": "Overdue",
}
