"""The caseload dashboard: one row per client in care, built from a fixed number of queries
(one per kind of data, never one per client) and reduced in Python."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import alerts, episodes, measures, plans, tracking
from .models import (
    Alert,
    Assignment,
    Care,
    CheckIn,
    Plan,
    PlanStatus,
    Submission,
    SubmissionStatus,
    User,
)

# A client with nothing done for this long "needs attention" (computed, never stored).
QUIET_DAYS = 14
FILTERS = ("all", "attention", "overdue", "alerts", "finished")
SORTS = ("alerts", "name", "week", "phq9", "activity", "next")


@dataclass
class Row:
    client: User
    plan: Plan | None = None
    week: int | None = None
    this_week_done: int = 0
    this_week_total: int = 0
    due_so_far: int = 0
    done_so_far: int = 0
    qualities: list[int] = field(default_factory=list)
    overdue: int = 0
    to_review: int = 0
    phq9: list[int] = field(default_factory=list)
    gad7: list[int] = field(default_factory=list)
    trust: list[int] = field(default_factory=list)
    last_activity: dt.datetime | None = None
    next_session: dt.date | None = None
    open_alerts: list[Alert] = field(default_factory=list)
    phq9_change: str | None = None
    courses: dict[str, episodes.Course] = field(default_factory=dict)
    nhs: measures.TalkingTherapiesOutcome | None = None
    days_quiet: int | None = None
    reasons: list[str] = field(default_factory=list)
    # Questionnaires with a standing "not on track" signal (tracking; not a risk alert).
    not_on_track: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.plan is None:
            return "No plan yet"
        if self.plan.status == PlanStatus.FINISHED.value:
            return "Finished"
        if self.plan.status == PlanStatus.PAUSED.value:
            return f"Paused · week {self.week}/12"
        return f"{self.week}/12"

    @property
    def completion(self) -> float | None:
        return self.done_so_far / self.due_so_far if self.due_so_far else None

    @property
    def quality(self) -> float | None:
        return sum(self.qualities) / len(self.qualities) if self.qualities else None

    @property
    def attention(self) -> bool:
        return bool(self.reasons)

    def touch(self, moment: dt.datetime | None) -> None:
        if moment is not None and (self.last_activity is None or moment > self.last_activity):
            self.last_activity = moment


def _next_session(plan: Plan, today: dt.date) -> dt.date | None:
    if plan.status != PlanStatus.ACTIVE.value:
        return None
    for week in range(1, plans.WEEKS + 2):  # the 13th is the session after week 12
        day = plans.session_date(plan, week)
        if day >= today:
            return day
    return None


def caseload(db: Session, therapist: User, today: dt.date, now: dt.datetime) -> list[Row]:
    """Every client in the therapist's care with the figures the dashboard shows."""
    in_care = (
        sa.select(Care.client_id)
        .where(Care.therapist_id == therapist.id, Care.ended_at.is_(None))
        .scalar_subquery()
    )
    rows = {
        c.id: Row(client=c)
        for c in db.scalars(
            sa.select(User).where(User.id.in_(in_care)).order_by(sa.func.lower(User.display_name))
        )
    }
    if not rows:
        return []
    # Each client's open plan, else their latest finished one.
    for plan in db.scalars(sa.select(Plan).where(Plan.client_id.in_(in_care)).order_by(Plan.id)):
        row = rows[plan.client_id]
        if row.plan is None or row.plan.status == PlanStatus.FINISHED.value:
            row.plan = plan
    for row in rows.values():
        row.touch(row.client.last_sign_in_at)
        if row.plan is not None:
            row.week = plans.position(row.plan, today).week
            row.next_session = _next_session(row.plan, today)
    plan_of = {row.plan.id: row for row in rows.values() if row.plan is not None}
    # Homework, with the state of any submission, for those plans: one query. Only the
    # columns the dashboard shows: the answers are encrypted, and decrypting every client's
    # answers to count them cost more than everything else on the page.
    homework = db.execute(
        sa.select(
            Assignment.plan_id,
            Assignment.week,
            Assignment.due_on,
            Submission.status,
            Submission.saved_at,
            Submission.quality,
        )
        .outerjoin(Submission, Submission.assignment_id == Assignment.id)
        .where(Assignment.plan_id.in_(list(plan_of)), Assignment.removed_at.is_(None))
    ).all()
    for plan_id, week, due_on, status, saved_at, quality in homework:
        row = plan_of[plan_id]
        sent = status is not None and status != SubmissionStatus.DRAFT.value
        if status is not None:
            row.touch(saved_at)
        if week == row.week:
            row.this_week_total += 1
            row.this_week_done += sent
        if due_on < today:
            row.due_so_far += 1
            row.done_so_far += sent
            if not sent and row.plan is not None and row.plan.status == PlanStatus.ACTIVE.value:
                row.overdue += 1
        if status == SubmissionStatus.SUBMITTED.value:
            row.to_review += 1
        if quality is not None:
            row.qualities.append(quality)
    # PHQ-9 and GAD-7 scores of each client's episode (their plan), oldest first: one query.
    found: dict[tuple[int, str], list[episodes.Score]] = {}
    for (
        client_id,
        score_plan_id,
        code,
        total,
        completed_at,
        score_week,
        slot,
        row_id,
        out_of,
    ) in episodes.score_rows(db, list(rows), ("phq9", "gad7")):
        row = rows[client_id]
        row.touch(completed_at)
        if score_plan_id == (row.plan.id if row.plan else None):
            day = completed_at.date()  # the course only orders by time; the day is not shown
            score = episodes.Score(completed_at, day, total, score_week, slot, row_id, out_of)
            found.setdefault((client_id, code), []).append(score)
    for (client_id, code), scores in found.items():
        course = episodes.course(code, scores)
        if course is not None:
            rows[client_id].courses[code] = course
            setattr(rows[client_id], code, [s.value for s in course.scores])
    # Weekly trust thermometer: one query.
    for client_id, trust, created_at in db.execute(
        sa.select(CheckIn.client_id, CheckIn.trust, CheckIn.created_at)
        .where(CheckIn.client_id.in_(in_care))
        .order_by(CheckIn.created_at, CheckIn.id)
    ):
        rows[client_id].trust.append(trust)
        rows[client_id].touch(created_at)
    # Open alerts: one query.
    for alert in db.scalars(
        sa.select(Alert)
        .where(Alert.client_id.in_(in_care), Alert.acknowledged_at.is_(None))
        .order_by(Alert.opened_at.desc())
    ):
        rows[alert.client_id].open_alerts.append(alert)
    # "Not on track" signals (not alerts): one query.
    for client_id, codes in tracking.not_on_track_by_client(db, in_care).items():
        rows[client_id].not_on_track = codes
    phq9 = measures.instrument("phq9")
    for row in rows.values():
        phq, gad = row.courses.get("phq9"), row.courses.get("gad7")
        if phq is not None and not phq.single:
            rc = phq9.reliable_change(phq.baseline.value, phq.latest.value)
            row.phq9_change = rc.category if rc else None
        if phq is not None and gad is not None and not phq.single and not gad.single:
            row.nhs = measures.talking_therapies_outcome(
                phq.baseline.value, phq.latest.value, gad.baseline.value, gad.latest.value
            )
        if row.last_activity is not None:
            row.days_quiet = (now - row.last_activity).days
        _reasons(row)
    return list(rows.values())


def _reasons(row: Row) -> None:
    if row.open_alerts:
        row.reasons.append(f"{len(row.open_alerts)} open alert(s)")
    if row.overdue:
        row.reasons.append(f"{row.overdue} overdue")
    finished = row.plan is not None and row.plan.status == PlanStatus.FINISHED.value
    if not finished and (row.days_quiet is None or row.days_quiet >= QUIET_DAYS):
        row.reasons.append(
            "never active" if row.days_quiet is None else f"no activity for {row.days_quiet} days"
        )
    if row.phq9_change == measures.DETERIORATION:
        row.reasons.append("PHQ-9 reliable deterioration")
    if row.not_on_track:
        names = " and ".join(measures.instrument(c).short_name for c in row.not_on_track)
        row.reasons.append(f"{tracking.NAME} ({names})")


def filtered(rows: list[Row], name: str) -> list[Row]:
    """Rows that pass a dashboard filter."""
    finished = {
        id(r) for r in rows if r.plan is not None and r.plan.status == PlanStatus.FINISHED.value
    }
    match name:
        case "attention":
            return [r for r in rows if r.attention]
        case "overdue":
            return [r for r in rows if r.overdue]
        case "alerts":
            return [r for r in rows if r.open_alerts]
        case "finished":
            return [r for r in rows if id(r) in finished]
    return rows


def sorted_rows(rows: list[Row], key: str) -> list[Row]:
    """Rows in the chosen order; the default puts open alerts, then attention, first."""
    name = lambda r: r.client.display_name.lower()  # noqa: E731
    far = dt.date.max
    match key:
        case "name":
            return sorted(rows, key=name)
        case "week":
            return sorted(rows, key=lambda r: (-(r.week or 0), name(r)))
        case "phq9":
            return sorted(rows, key=lambda r: (-(r.phq9[-1] if r.phq9 else -1), name(r)))
        case "activity":
            return sorted(
                rows,
                key=lambda r: (-(r.days_quiet if r.days_quiet is not None else 10**6), name(r)),
            )
        case "next":
            return sorted(rows, key=lambda r: (r.next_session or far, name(r)))
    return sorted(rows, key=lambda r: (not r.open_alerts, not r.attention, name(r)))


def sparkline(values: list[int], high: int) -> str:
    """A tiny inline SVG trend (decorative: the numbers are written beside it)."""
    if len(values) < 2:
        return ""
    recent = values[-6:]
    w, h = 60, 18
    step = w / (len(recent) - 1)
    points = " ".join(
        f"{i * step:.1f},{h - 1 - (v / high) * (h - 2):.1f}" for i, v in enumerate(recent)
    )
    return (
        f'<svg class="spark" width="{w}" height="{h}" viewBox="0 0 {w} {h}" aria-hidden="true" '
        f'focusable="false"><polyline points="{points}"/></svg>'
    )


def pick(value: str | None, allowed: object, default: str) -> str:
    """A filter or sort order named in the address, if it is one we have."""
    return value if value is not None and value in allowed else default  # type: ignore[operator]


def open_alerts(rows: list[Row]) -> list[tuple[Alert, User]]:
    """Every open alert of the caseload with its client: the most urgent kind first (a
    self-harm answer before a high distress rating before a severe score), then the newest."""
    pairs = [(a, r.client) for r in rows for a in r.open_alerts]
    return sorted(pairs, key=lambda pair: alerts.urgency(pair[0]))
