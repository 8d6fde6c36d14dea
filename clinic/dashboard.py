"""The caseload dashboard: one row per client in care, built from a fixed number of queries
(one per kind of data, never one per client). What is only counted is counted in SQL, and
read-only rows come back as columns, not ORM objects: at 1,500 clients building objects and
counting rows in Python cost several times more than rendering the table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

import sqlalchemy as sa
from markupsafe import Markup
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
FILTERS = ("all", "attention", "review", "overdue", "alerts", "finished")
SORTS = ("alerts", "name", "week", "phq9", "activity", "next")


class Client(NamedTuple):
    """What the dashboard shows of a client (read-only columns, not the account object)."""

    id: int
    display_name: str
    has_accepted: bool
    last_sign_in_at: dt.datetime | None


class PlanDates(NamedTuple):
    """What the dashboard reads of a plan: its state and the dates its weeks follow from."""

    id: int
    client_id: int
    status: str
    first_session: dt.date
    paused_days: int
    paused_on: dt.date | None


class ScoreChip(NamedTuple):
    """A latest score as the caseload shows it: the score, its band's name and the band's
    severity (0 the mildest .. 3 the most severe, the chip's colour; the same as the record's
    summary band)."""

    shown: str
    band: str
    level: int


class ChangeChip(NamedTuple):
    """A change figure on one line, with its convention: "PHQ-9 −7 · reliable improvement"
    by Jacobson–Truax, or the NHS Talking Therapies outcome of PHQ-9 and GAD-7 together."""

    text: str
    convention: str  # the short name shown on the chip ("JT", "NHS TT")
    convention_full: str  # its full name, for a screen reader and as the chip's title
    tone: str  # "better", "same" or "worse": the chip's colour (the words say it too)


@dataclass(slots=True)
class Row:
    client: Client
    plan: PlanDates | None = None
    week: int | None = None
    this_week_done: int = 0
    this_week_total: int = 0
    due_so_far: int = 0
    done_so_far: int = 0
    quality_sum: int = 0
    quality_count: int = 0
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
    # The trend of each, drawn by draw_sparklines for the rows a page shows.
    sparklines: dict[str, Markup] = field(default_factory=dict)
    # The latest PHQ-9 and GAD-7 with their bands, and the change figures, drawn by
    # draw_chips for the rows a page shows.
    chips: dict[str, ScoreChip] = field(default_factory=dict)
    changes: list[ChangeChip] = field(default_factory=list)

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
        return self.quality_sum / self.quality_count if self.quality_count else None

    @property
    def attention(self) -> bool:
        return bool(self.reasons)

    def touch(self, moment: dt.datetime | None) -> None:
        if moment is not None and (self.last_activity is None or moment > self.last_activity):
            self.last_activity = moment


def _next_session(plan: PlanDates, today: dt.date) -> dt.date | None:
    """The first session on or after today (the 13th is the session after week 12)."""
    if plan.status != PlanStatus.ACTIVE.value:
        return None
    # The first week w >= 1 whose session, first + 7 (w - 1) + paused days, is not before today.
    behind = (today - plan.first_session).days - plan.paused_days
    week = 1 if behind <= 0 else -(-behind // 7) + 1
    return plans.session_date(plan, week) if week <= plans.WEEKS + 1 else None


def _sent() -> sa.ColumnElement[bool]:
    return sa.and_(
        Submission.status.is_not(None), Submission.status != SubmissionStatus.DRAFT.value
    )


def _count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.sum(sa.case((condition, 1), else_=0))


def _homework_counts(
    in_care: sa.ScalarSelect[int], today: dt.date, dialect: str
) -> sa.Select[*tuple[Any, ...]]:
    """Per plan of the caseload: homework set and sent in the plan's week "now" (the week
    plans.position gives, worked out in SQL), due by today, sent of those, waiting for
    review, the sum and number of quality ratings, the last save."""
    due = Assignment.due_on < today
    sent = _sent()
    this_week = Assignment.week == plans.week_in_sql(today, dialect)
    return (
        sa.select(
            Assignment.plan_id,
            _count(this_week),
            _count(sa.and_(this_week, sent)),
            _count(due),
            _count(sa.and_(due, sent)),
            _count(Submission.status == SubmissionStatus.SUBMITTED.value),
            sa.func.coalesce(sa.func.sum(Submission.quality), 0),
            sa.func.count(Submission.quality),
            sa.func.max(Submission.saved_at),
        )
        .join(Plan, Plan.id == Assignment.plan_id)
        .outerjoin(Submission, Submission.assignment_id == Assignment.id)
        .where(Plan.client_id.in_(in_care), Assignment.removed_at.is_(None))
        .group_by(Assignment.plan_id)
    )


def caseload(db: Session, therapist: User, today: dt.date, now: dt.datetime) -> list[Row]:
    """Every client in the therapist's care with the figures the dashboard shows."""
    in_care = (
        sa.select(Care.client_id)
        .where(Care.therapist_id == therapist.id, Care.ended_at.is_(None))
        .scalar_subquery()
    )
    # Read-only columns through the session's connection: Core rows, without the ORM's
    # per-row bookkeeping (a third of the page's time at 1,500 clients).
    conn = db.connection()
    rows = {
        c[0]: Row(client=Client(*c))
        for c in conn.execute(
            sa.select(
                User.id,
                User.display_name,
                User.password_hash.is_not(None),
                User.last_sign_in_at,
            )
            .where(User.id.in_(in_care))
            .order_by(sa.func.lower(User.display_name))
        ).all()
    }
    if not rows:
        return []
    # Each client's open plan, else their latest finished one.
    for plan in conn.execute(
        sa.select(
            Plan.id,
            Plan.client_id,
            Plan.status,
            Plan.first_session,
            Plan.paused_days,
            Plan.paused_on,
        )
        .where(Plan.client_id.in_(in_care))
        .order_by(Plan.id)
    ).all():
        row = rows[plan.client_id]
        if row.plan is None or row.plan.status == PlanStatus.FINISHED.value:
            row.plan = PlanDates(*plan)
    for row in rows.values():
        row.touch(row.client.last_sign_in_at)
        if row.plan is not None:
            row.week = plans.position(row.plan, today).week
            row.next_session = _next_session(row.plan, today)
    plan_of = {row.plan.id: row for row in rows.values() if row.plan is not None}
    # Homework counted in SQL, per plan: one query. The answers are never read: they are
    # encrypted, and the dashboard only counts.
    for (
        plan_id,
        week_total,
        week_sent,
        due,
        done,
        submitted,
        quality_sum,
        quality_count,
        saved_at,
    ) in conn.execute(_homework_counts(in_care, today, conn.dialect.name)).all():
        row = plan_of.get(plan_id)  # type: ignore[assignment]
        if row is None:
            continue  # an earlier plan of the client
        row.touch(saved_at)
        row.this_week_total = week_total
        row.this_week_done = week_sent
        row.due_so_far = due
        row.done_so_far = done
        if row.plan is not None and row.plan.status == PlanStatus.ACTIVE.value:
            row.overdue = due - done
        row.to_review = submitted
        row.quality_sum = quality_sum
        row.quality_count = quality_count
    # PHQ-9 and GAD-7 scores of each client's episode (their plan), oldest first: one query.
    found: dict[tuple[int, str], list[episodes.Score]] = {}
    episode = {cid: row.plan.id if row.plan else None for cid, row in rows.items()}
    last: dict[int, dt.datetime] = {}  # oldest first: the last one seen is the latest
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
    ) in episodes.score_rows(db, in_care, ("phq9", "gad7")).all():
        last[client_id] = completed_at
        if score_plan_id == episode[client_id]:
            day = completed_at.date()  # the course only orders by time; the day is not shown
            score = episodes.Score(completed_at, day, total, score_week, slot, row_id, out_of)
            found.setdefault((client_id, code), []).append(score)
    for client_id, completed_at in last.items():
        rows[client_id].touch(completed_at)
    for (client_id, code), scores in found.items():
        course = episodes.course(code, scores)
        if course is not None:
            rows[client_id].courses[code] = course
            setattr(rows[client_id], code, [s.value for s in course.scores])
    # Weekly trust thermometer: one query for the ratings, one for each client's latest.
    for client_id, trust in conn.execute(
        sa.select(CheckIn.client_id, CheckIn.trust)
        .where(CheckIn.client_id.in_(in_care))
        .order_by(CheckIn.created_at, CheckIn.id)
    ).all():
        rows[client_id].trust.append(trust)
    for client_id, created_at in conn.execute(
        sa.select(CheckIn.client_id, sa.func.max(CheckIn.created_at))
        .where(CheckIn.client_id.in_(in_care))
        .group_by(CheckIn.client_id)
    ).all():
        rows[client_id].touch(created_at)
    # Open alerts (a few): one query.
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
    if row.to_review:
        row.reasons.append(f"{row.to_review} to review")
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
        case "review":
            return [r for r in rows if r.to_review]
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


_SPARK_W, _SPARK_H = 60, 18


@lru_cache(maxsize=8)
def _spark_x(n: int) -> tuple[str, ...]:
    step = _SPARK_W / (n - 1)
    return tuple(f"{i * step:.1f}" for i in range(n))


@lru_cache(maxsize=1024)
def _spark_y(value: int, high: int) -> str:
    return f"{_SPARK_H - 1 - (value / high) * (_SPARK_H - 2):.1f}"


def sparkline(values: list[int], high: int) -> str:
    """A tiny inline SVG trend (decorative: the numbers are written beside it). A page draws
    thousands: the coordinates are formatted once per value, not once per point."""
    if len(values) < 2:
        return ""
    recent = values[-6:]
    xs = _spark_x(len(recent))
    points = " ".join([f"{x},{_spark_y(v, high)}" for x, v in zip(xs, recent, strict=True)])
    return (
        f'<svg class="spark" width="{_SPARK_W}" height="{_SPARK_H}" viewBox="0 0 {_SPARK_W} '
        f'{_SPARK_H}" aria-hidden="true" focusable="false"><polyline points="{points}"/></svg>'
    )


SPARKLINE_HIGH = {"phq9": 27, "gad7": 21, "trust": 10}


def draw_sparklines(rows: list[Row]) -> None:
    """Each shown row's PHQ-9, GAD-7 and trust trends, drawn once in Python: called from the
    template they cost a template call each, three per row."""
    for row in rows:
        row.sparklines = {
            key: Markup(sparkline(getattr(row, key), high)) for key, high in SPARKLINE_HIGH.items()
        }


def search(rows: list[Row], query: str) -> list[Row]:
    """Rows whose client's name holds the query (any case, any script; spaces between words
    of the query match any spacing in the name)."""
    words = query.casefold().split()
    if not words:
        return rows
    return [r for r in rows if all(w in r.client.display_name.casefold() for w in words)]


_JT_FULL = f"{measures.JACOBSON_TRUAX} reliable change index"
_NHS_FULL = f"{measures.NHS_TALKING_THERAPIES}: PHQ-9 and GAD-7, first versus latest score"
_RC_TEXT = {
    measures.IMPROVEMENT: ("reliable improvement", "better"),
    measures.NO_CHANGE: ("no reliable change", "same"),
    measures.DETERIORATION: ("reliable deterioration", "worse"),
}


def _nhs_chip(outcome: measures.TalkingTherapiesOutcome) -> ChangeChip:
    if outcome.reliable_recovery:
        text, tone = "reliable recovery", "better"
    elif outcome.reliable_improvement:
        text, tone = "reliable improvement", "better"
    elif outcome.reliable_deterioration:
        text, tone = "reliable deterioration", "worse"
    else:
        text, tone = "no reliable change", "same"
    return ChangeChip(text, "NHS TT", _NHS_FULL, tone)


def draw_chips(rows: list[Row]) -> None:
    """Each shown row's score chips (latest PHQ-9 and GAD-7 with band and severity) and
    change chips (PHQ-9 by Jacobson–Truax; PHQ-9 with GAD-7 by NHS Talking Therapies), worked
    out in Python from what caseload() read: no query."""
    for row in rows:
        for code in ("phq9", "gad7"):
            course = row.courses.get(code)
            if course is None:
                continue
            inst = measures.instrument(code)
            band = inst.band_for(course.latest.value, course.latest.out_of).label
            row.chips[code] = ScoreChip(course.latest.shown, band, inst.severity(band))
        phq = row.courses.get("phq9")
        if phq is not None and row.phq9_change in _RC_TEXT:
            change = phq.latest.value - phq.baseline.value
            words, tone = _RC_TEXT[row.phq9_change]
            # A real minus sign, as in print: "PHQ-9 −7", "PHQ-9 +2", "PHQ-9 0".
            figure = f"{change:+d}".replace("-", "−") if change else "0"
            row.changes.append(ChangeChip(f"PHQ-9 {figure} · {words}", "JT", _JT_FULL, tone))
        if row.nhs is not None:
            row.changes.append(_nhs_chip(row.nhs))


def pick(value: str | None, allowed: object, default: str) -> str:
    """A filter or sort order named in the address, if it is one we have."""
    return value if value is not None and value in allowed else default  # type: ignore[operator]


def open_alerts(rows: list[Row]) -> list[tuple[Alert, Client]]:
    """Every open alert of the caseload with its client: the most urgent kind first (a
    self-harm answer before a high distress rating before a severe score), then the newest."""
    pairs = [(a, r.client) for r in rows for a in r.open_alerts]
    return sorted(pairs, key=lambda pair: alerts.urgency(pair[0]))
