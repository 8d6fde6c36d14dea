"""The plan seen week by week: the client's "This week" page, and the timeline of the
therapist's record (what was set, answered, noted and raised in each program week)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import alerts, measures, notes, plans, progress, questionnaires
from .library import Week, Worksheet
from .models import (
    Administration,
    Alert,
    Assignment,
    CheckIn,
    EventNote,
    Plan,
    PlanStatus,
    SessionNote,
    User,
)
from .timeutil import local_time


@dataclass(frozen=True)
class WeekView:
    """A client's week: where the plan stands, the week's idea, homework and what is due."""

    plan: Plan
    where: plans.Position
    week: Week
    upcoming: Week | None
    this_week: list[Assignment]
    earlier: list[Assignment]  # unfinished homework of earlier weeks
    next_week: list[Assignment]
    library: dict[str, Worksheet]
    dues: list[questionnaires.Due] = field(default_factory=list)
    check_in_due: bool = False
    check_in_done: CheckIn | None = None
    today: dt.date = field(default_factory=dt.date.today)
    # 'adapted' or 'left_out' when the suitability screen changed this week
    change: str | None = None

    def state(self, assignment: Assignment) -> str:
        """How one piece of homework stands today."""
        return plans.homework_state(assignment, self.today)

    @property
    def done_count(self) -> tuple[int, int]:
        """How many of this week's tasks (homework, questionnaires, the check-in) are done,
        of how many."""
        done = sum(self.state(a) in ("submitted", "reviewed") for a in self.this_week)
        done += sum(d.done is not None for d in self.dues)
        done += self.check_in_done is not None
        total = len(self.this_week) + len(self.dues) + int(self.check_in_due)
        return done, total


def week_view(db: Session, plan: Plan, today: dt.date) -> WeekView:
    """The client's "This week" for a plan (a finished plan shows its last week, nothing due)."""
    where = plans.position(plan, today)
    program = plans.program_of(db, plan)
    live = [a for a in plan.assignments if a.removed_at is None]
    unfinished = ("draft", "overdue", "not_started")
    dues: list[questionnaires.Due] = []
    check_in_due = False
    if plan.status != PlanStatus.FINISHED.value:
        dues, check_in_due = questionnaires.open_dues(db, plan, where.week)
    return WeekView(
        plan=plan,
        where=where,
        week=program.week(where.week),
        upcoming=program.week(where.week + 1) if where.week < plans.WEEKS else None,
        this_week=[a for a in live if a.week == where.week],
        earlier=[
            a for a in live if a.week < where.week and plans.homework_state(a, today) in unfinished
        ],
        next_week=[a for a in live if a.week == where.week + 1],
        library={a.worksheet_key: plans.worksheet(db, a.worksheet_key) for a in live},
        dues=dues,
        check_in_due=check_in_due,
        check_in_done=questionnaires.check_in_for(db, plan, where.week) if check_in_due else None,
        today=today,
        change=plans.screening.week_change(plan, where.week),
    )


@dataclass(frozen=True)
class TimelineWeek:
    """One week of the record's timeline: the program week and what happened in it."""

    week: Week
    homework: list[Assignment]
    questionnaires: list[Administration]
    notes: list[SessionNote]
    alerts: list[Alert]
    change: str | None = None  # 'adapted' or 'left_out' by the suitability screen


def timeline(
    db: Session,
    client: User,
    plan: Plan,
    shown_notes: list[SessionNote],
    client_alerts: list[Alert],
) -> list[TimelineWeek]:
    """The plan week by week, each week from its session to the next: homework set for it,
    questionnaires answered for it, the notes and alerts dated in it."""
    program = plans.program_of(db, plan)
    answered = db.scalars(
        sa.select(Administration).where(
            Administration.plan_id == plan.id, Administration.completed_at.is_not(None)
        )
    ).all()
    weeks = []
    for week in program.weeks:
        start = plans.session_date(plan, week.number)
        end = plans.session_date(plan, week.number + 1)
        weeks.append(
            TimelineWeek(
                week=week,
                homework=[a for a in plan.assignments if a.week == week.number],
                questionnaires=[x for x in answered if x.week == week.number],
                notes=[n for n in shown_notes if start <= n.session_date < end],
                alerts=[
                    x
                    for x in client_alerts
                    if start <= local_time(x.opened_at, client).date() < end
                ],
                change=plans.screening.week_change(plan, week.number),
            )
        )
    return weeks


@dataclass(frozen=True)
class RecordView:
    """What the therapist's record of one client shows, besides the account: the plan and its
    timeline, charts and outcome, notes the therapist may read, alerts, open requests."""

    plan: Plan | None
    where: plans.Position | None
    weeks: list[TimelineWeek]
    notes: list[SessionNote]
    alerts: list[Alert]
    events: list[EventNote]
    charts: list[progress.ChartView]
    check_in_charts: list[progress.ChartView]
    homework_chart: progress.ChartView | None
    outcome: measures.TalkingTherapiesOutcome | None
    pending: list[Administration]
    today: dt.date
    screen: plans.screening.ScreenView | None = None  # the newest suitability screen
    screens: int = 0  # how many screens there are
    chips: list[progress.ScoreChip] = field(default_factory=list)

    @property
    def open_alerts(self) -> list[Alert]:
        """Alerts nobody has acknowledged yet, oldest first."""
        return [a for a in self.alerts if a.acknowledged_at is None]

    @property
    def to_review(self) -> list[Assignment]:
        """Homework the client sent that the therapist has not reviewed yet."""
        if self.plan is None:
            return []
        return [
            a
            for a in self.plan.assignments
            if a.removed_at is None and a.submission and a.submission.status == "submitted"
        ]

    @property
    def next_session(self) -> dt.date | None:
        """The plan's next session on or after today (none once finished or past week 12)."""
        if self.plan is None or self.plan.status == PlanStatus.FINISHED.value:
            return None
        for week in range(1, plans.WEEKS + 1):
            day = plans.session_date(self.plan, week)
            if day >= self.today:
                return day
        return None

    @property
    def last_signed(self) -> SessionNote | None:
        """The newest signed session note."""
        return next((n for n in self.notes if n.status == "signed"), None)

    def state(self, assignment: Assignment) -> str:
        """How one piece of homework stands today."""
        return plans.homework_state(assignment, self.today)

    def session_date(self, week: int) -> dt.date | None:
        """The session that opens a week of the plan."""
        return plans.session_date(self.plan, week) if self.plan else None


def record_view(db: Session, client: User, therapist: User, today: dt.date) -> RecordView:
    """Everything the record page reads about one client, as of today."""
    plan = plans.open_plan(db, client)
    shown = notes.visible_to(db, client, therapist)
    client_alerts = alerts.client_alerts(db, client)
    events = notes.events_of(db, client)
    markers = tuple((e.on_date, e.text) for e in events)
    charts = progress.measure_charts(db, client, markers=markers)
    screens = plans.screening.screens_of(db, client)
    return RecordView(
        plan=plan,
        where=plans.position(plan, today) if plan else None,
        weeks=timeline(db, client, plan, shown, client_alerts) if plan else [],
        notes=shown,
        alerts=client_alerts,
        events=events,
        charts=charts,
        check_in_charts=progress.check_in_charts(db, client),
        homework_chart=progress.homework_chart(db, client, plan, markers) if plan else None,
        outcome=progress.talking_therapies(db, client),
        pending=questionnaires.pending_requests(db, client),
        today=today,
        screen=plans.screening.view(db, screens[0]) if screens else None,
        screens=len(screens),
        chips=progress.score_chips(charts),
    )
