"""The practice outcome report: counts only, for quality improvement. For the admin (the whole
practice) and for each therapist (their own caseload). No names, no free text, no dates of
birth: episodes started, finished and dropped out; the NHS Talking Therapies rates; homework
completion; by calendar quarter and by program week; every cell under 5 suppressed.

Definitions (printed in the PDF's notes and the CSV's header comment, cited here):

- An **episode** is one plan (clinic/episodes.py). It **starts** on its first session and
  **ends** when the therapist finishes the plan with a discharge reason: *finished* (completed
  the plan, goals met), *dropped out* (the client chose to stop, lost contact) or *ended
  otherwise* (referred on, other).
- **NHS Talking Therapies outcomes** (measures.talking_therapies_outcome: caseness PHQ-9 >= 10
  or GAD-7 >= 8; reliable change 6 points on PHQ-9, 4 on GAD-7; National Collaborating Centre
  for Mental Health, The NHS Talking Therapies for anxiety and depression Manual, 2023,
  appendix on outcome measures; Gyani, Shafran, Layard & Clark 2013, Behav Res Ther
  51:597-606) compare the episode's baseline and latest PHQ-9 and GAD-7 by the one rule of
  clinic/episodes.py. They count episodes that ended (for any reason) with at least two
  PHQ-9 and two GAD-7 scores: NHS Talking Therapies counts a course of treatment as finished
  at two or more treatment sessions, whatever the ending. Reliable improvement and
  deterioration are out of all such episodes; recovery and reliable recovery out of those
  at caseness at baseline (the Manual's denominator).
- By **program week**, the same outcomes compare the baseline with the PHQ-9 and GAD-7 given
  in that week, for every episode that has both then (ended or not).
- **Homework completion**: homework due before the report's day (removed homework left out),
  and how much of it was sent (submitted or reviewed).

**Small numbers** (NHS Digital's statistical disclosure control for its NHS Talking Therapies
publications, and the Anonymisation Standard for Publishing Health and Social Care Data,
ISB 1523, NHS Digital 2013): every count under 5, zero included, is shown as "<5"; a rate is
shown only when its numerator, its denominator and the rest (denominator less numerator) are
all 5 or more, else "suppressed", so that no rate lets a reader work a small count back."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.orm import Session

if TYPE_CHECKING:  # ReportLab loads on the first PDF, not at start (see clinic.warm)
    from reportlab.platypus import Flowable

from .. import episodes, measures, plans
from ..models import (
    Assignment,
    Care,
    Plan,
    PlanStatus,
    Practice,
    Role,
    Submission,
    SubmissionStatus,
    User,
)
from ..timeutil import zone_of

# Counts under this are suppressed (see the module docstring).
SMALL = 5
COUNT_SUPPRESSED = "<5"
RATE_SUPPRESSED = "suppressed"

FINISHED_REASONS = ("completed", "goals_met")
DROPPED_OUT_REASONS = ("client_stopped", "lost_contact")

SUPPRESSION_SOURCE = (
    "Small numbers: every count under 5 (zero included) is shown as “<5”, and a rate only "
    "when its numerator, its denominator and the rest are each 5 or more (else "
    "“suppressed”), following NHS Digital's statistical disclosure control for its NHS "
    "Talking Therapies publications and the Anonymisation Standard for Publishing Health and "
    "Social Care Data (ISB 1523, NHS Digital 2013)."
)
OUTCOME_SOURCE = (
    "NHS Talking Therapies outcomes: caseness is PHQ-9 10 or more or GAD-7 8 or more; "
    "reliable change is 6 points on PHQ-9 or 4 on GAD-7; reliable improvement when either "
    "falls by that much and neither rises by it (deterioration the mirror); recovery when an "
    "episode at caseness at baseline ends below caseness on both; reliable recovery when both "
    "hold. National Collaborating Centre for Mental Health, The NHS Talking Therapies for "
    "anxiety and depression Manual (2023), appendix on outcome measures; Gyani A, Shafran R, "
    "Layard R, Clark DM (2013), Enhancing recovery rates: lessons from year one of IAPT, "
    "Behav Res Ther 51:597-606."
)
DEFINITIONS = (
    "An episode is one plan. It starts at its first session and ends when the therapist "
    "finishes the plan: finished (completed the plan, goals met), dropped out (the client "
    "chose to stop, lost contact) or ended otherwise (referred on, other).",
    "Outcomes by quarter count the episodes that ended in the quarter, for any reason, with "
    "at least two PHQ-9 and two GAD-7 scores (NHS Talking Therapies counts a course of "
    "treatment as finished at two or more sessions). Baseline and latest scores follow "
    "Bedrock's one episode rule: the baseline-week questionnaire (else the first), and the "
    "most recent. Recovery rates are out of the episodes at caseness at baseline.",
    "Outcomes by program week compare the baseline with the PHQ-9 and GAD-7 given in that "
    "week, for every episode that has both then.",
    "Homework: pieces due before the report's day (removed ones left out), and how many "
    "were sent (submitted or reviewed).",
)


def count_text(n: int) -> str:
    """A count as the report shows it: under 5 suppressed."""
    return str(n) if n >= SMALL else COUNT_SUPPRESSED


def rate_text(numerator: int, denominator: int) -> str:
    """A rate as a whole percentage, or "suppressed" when it could reveal a count under 5."""
    if min(numerator, denominator, denominator - numerator) < SMALL:
        return RATE_SUPPRESSED
    return f"{round(100 * numerator / denominator)}%"


@dataclass
class Tally:
    """The raw counts of one row (a quarter or a program week), before suppression."""

    episodes: int = 0  # started in the quarter; reached the week
    finished: int = 0
    dropped_out: int = 0
    ended_otherwise: int = 0
    paired: int = 0  # with a baseline and a later PHQ-9 and GAD-7
    improved: int = 0
    deteriorated: int = 0
    caseness: int = 0  # of the paired, at caseness at baseline
    recovered: int = 0
    reliably_recovered: int = 0
    homework_due: int = 0
    homework_sent: int = 0

    def add_outcome(self, outcome: measures.TalkingTherapiesOutcome) -> None:
        self.paired += 1
        self.improved += outcome.reliable_improvement
        self.deteriorated += outcome.reliable_deterioration
        if outcome.caseness_pre:
            self.caseness += 1
            self.recovered += bool(outcome.recovery)
            self.reliably_recovered += bool(outcome.reliable_recovery)


QUARTER_HEADER = (
    "Quarter",
    "Episodes started",
    "Finished",
    "Dropped out",
    "Ended otherwise",
    "Ended with PHQ-9 and GAD-7 pairs",
    "Reliable improvement",
    "Reliable deterioration",
    "At caseness at baseline",
    "Recovery",
    "Reliable recovery",
    "Homework due",
    "Homework sent",
    "Homework completion",
)
WEEK_HEADER = (
    "Program week",
    "Episodes reaching the week",
    "Dropped out in the week",
    "With PHQ-9 and GAD-7 this week",
    "Reliable improvement",
    "Reliable deterioration",
    "At caseness at baseline",
    "Recovery",
    "Reliable recovery",
    "Homework due",
    "Homework sent",
    "Homework completion",
)


def _outcome_cells(t: Tally) -> list[str]:
    return [
        count_text(t.paired),
        rate_text(t.improved, t.paired),
        rate_text(t.deteriorated, t.paired),
        count_text(t.caseness),
        rate_text(t.recovered, t.caseness),
        rate_text(t.reliably_recovered, t.caseness),
        count_text(t.homework_due),
        count_text(t.homework_sent),
        rate_text(t.homework_sent, t.homework_due),
    ]


@dataclass(frozen=True)
class PracticeReport:
    """The report's raw tallies and its suppressed cells; `scope` says whose episodes."""

    practice_name: str
    scope: str  # "the whole practice" or "your own caseload"
    as_of: dt.date
    quarters: dict[str, Tally] = field(default_factory=dict)
    weeks: dict[int, Tally] = field(default_factory=dict)

    def quarter_rows(self) -> list[list[str]]:
        """The quarter table as shown: every cell suppressed where small."""
        return [
            [
                label,
                count_text(t.episodes),
                count_text(t.finished),
                count_text(t.dropped_out),
                count_text(t.ended_otherwise),
                *_outcome_cells(t),
            ]
            for label, t in self.quarters.items()
        ]

    def week_rows(self) -> list[list[str]]:
        """The program-week table as shown."""
        return [
            [str(week), count_text(t.episodes), count_text(t.dropped_out), *_outcome_cells(t)]
            for week, t in self.weeks.items()
        ]


def practice_zone(practice: Practice) -> ZoneInfo:
    """The practice's time zone (UTC if its name is unknown)."""
    try:
        return ZoneInfo(practice.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def practice_today(practice: Practice) -> dt.date:
    """Today in the practice's time zone: the day the report is as of."""
    return dt.datetime.now(practice_zone(practice)).date()


def quarter_of(day: dt.date) -> str:
    """A calendar quarter's label, e.g. "2026 Q1 (Jan–Mar)"."""
    q = (day.month - 1) // 3
    months = ("Jan–Mar", "Apr–Jun", "Jul–Sep", "Oct–Dec")[q]
    return f"{day.year} Q{q + 1} ({months})"


def _clients_in_scope(db: Session, practice: Practice, therapist: User | None) -> list[User]:
    """The practice's clients; for a therapist, those whose latest care is with them."""
    clients = list(
        db.scalars(
            sa.select(User)
            .where(User.practice_id == practice.id, User.role == Role.CLIENT.value)
            .order_by(User.id)
        )
    )
    if therapist is None:
        return clients
    latest: dict[int, int] = {}
    for client_id, therapist_id in db.execute(
        sa.select(Care.client_id, Care.therapist_id)
        .where(Care.client_id.in_([c.id for c in clients]))
        .order_by(Care.started_at, Care.id)
    ):
        latest[client_id] = therapist_id
    return [c for c in clients if latest.get(c.id) == therapist.id]


def gather_practice_report(
    db: Session, practice: Practice, today: dt.date, therapist: User | None = None
) -> PracticeReport:
    """The outcome report as of `today` (the practice's local date): for the whole practice,
    or for one therapist's own caseload. A handful of queries whatever the practice's size."""
    clients = _clients_in_scope(db, practice, therapist)
    by_id = {c.id: c for c in clients}
    zone = practice_zone(practice)
    plan_rows = list(
        db.scalars(
            sa.select(Plan).where(Plan.client_id.in_(list(by_id))).order_by(Plan.first_session)
        )
    )
    scores: dict[int, dict[str, list[episodes.Score]]] = defaultdict(lambda: defaultdict(list))
    for client_id, plan_id, code, total, when, week, slot, row_id, out_of in episodes.score_rows(
        db, list(by_id), ("phq9", "gad7")
    ):
        if plan_id is None:
            continue
        day = when.astimezone(zone_of(by_id[client_id])).date()
        if day <= today:
            scores[plan_id][code].append(
                episodes.Score(when, day, total, week, slot, row_id, out_of)
            )
    quarters: dict[str, Tally] = defaultdict(Tally)
    weeks = {w: Tally() for w in range(1, plans.WEEKS + 1)}
    for plan in plan_rows:
        if plan.first_session > today:
            continue
        quarters[quarter_of(plan.first_session)].episodes += 1
        ended = plan.finished_at.astimezone(zone).date() if plan.finished_at else None
        if plan.status != PlanStatus.FINISHED.value or ended is None or ended > today:
            ended = None
        reached = plans.position(plan, ended or today).week
        for w in range(1, reached + 1):
            weeks[w].episodes += 1
        courses = {code: episodes.course(code, s) for code, s in scores[plan.id].items()}
        phq, gad = courses.get("phq9"), courses.get("gad7")
        if ended is not None:
            row = quarters[quarter_of(ended)]
            if plan.discharge_reason in FINISHED_REASONS:
                row.finished += 1
            elif plan.discharge_reason in DROPPED_OUT_REASONS:
                row.dropped_out += 1
                weeks[reached].dropped_out += 1
            else:
                row.ended_otherwise += 1
            if phq and gad and not phq.single and not gad.single:
                row.add_outcome(_outcome(phq.baseline, phq.latest, gad.baseline, gad.latest))
        if phq and gad:
            for w in range(2, plans.WEEKS + 1):
                phq_w = [s for s in phq.scores if s.week == w and s is not phq.baseline]
                gad_w = [s for s in gad.scores if s.week == w and s is not gad.baseline]
                if phq_w and gad_w:
                    weeks[w].add_outcome(_outcome(phq.baseline, phq_w[-1], gad.baseline, gad_w[-1]))
    _homework(db, [p.id for p in plan_rows], today, quarters, weeks)
    return PracticeReport(
        practice_name=practice.name,
        scope="your own caseload" if therapist is not None else "the whole practice",
        as_of=today,
        quarters=dict(sorted(quarters.items())),
        weeks=weeks,
    )


def _outcome(
    phq_pre: episodes.Score,
    phq_post: episodes.Score,
    gad_pre: episodes.Score,
    gad_post: episodes.Score,
) -> measures.TalkingTherapiesOutcome:
    return measures.talking_therapies_outcome(
        phq_pre.value, phq_post.value, gad_pre.value, gad_post.value
    )


def _homework(
    db: Session,
    plan_ids: Sequence[int],
    today: dt.date,
    quarters: dict[str, Tally],
    weeks: dict[int, Tally],
) -> None:
    """Homework due before `today` and how much of it was sent, by due quarter and by week."""
    rows = db.execute(
        sa.select(Assignment.week, Assignment.due_on, Submission.status)
        .outerjoin(Submission, Submission.assignment_id == Assignment.id)
        .where(
            Assignment.plan_id.in_(plan_ids),
            Assignment.removed_at.is_(None),
            Assignment.due_on < today,
        )
    )
    for week, due_on, status in rows:
        sent = status is not None and status != SubmissionStatus.DRAFT.value
        for row in (quarters[quarter_of(due_on)], weeks[week]):
            row.homework_due += 1
            row.homework_sent += sent


# --- the CSV and the PDF ----------------------------------------------------------------------


CSV_NAME = "practice-outcomes.csv"
PDF_NAME = "practice-outcomes.pdf"


CSV_HEADER = (
    "table",
    "quarter or week",
    "episodes started",
    "episodes reaching the week",
    "finished",
    "dropped out",
    "ended otherwise",
    "with PHQ-9 and GAD-7 pairs",
    "reliable improvement",
    "reliable deterioration",
    "at caseness at baseline",
    "recovery",
    "reliable recovery",
    "homework due",
    "homework sent",
    "homework completion",
)


def csv_rows(report: PracticeReport) -> tuple[list[str], list[list[str]]]:
    """Both tables in one CSV, a row per quarter and per program week, with the same
    suppressed cells as the PDF; a column that does not apply to a table is left empty
    (episodes reaching a week, for quarters; started, finished, ended otherwise, for weeks).
    For a quarter, the outcome columns count the episodes that ended in it; for a week, those
    with a PHQ-9 and a GAD-7 that week."""
    rows = [["by quarter", r[0], r[1], "", *r[2:]] for r in report.quarter_rows()]
    rows += [["by program week", r[0], "", r[1], "", r[2], "", *r[3:]] for r in report.week_rows()]
    return list(CSV_HEADER), rows


# The PDF prints each table in three narrower parts (A4 portrait): which columns each takes.
QUARTER_PARTS = (
    ("Episodes", (0, 1, 2, 3, 4)),
    ("NHS Talking Therapies outcomes of the episodes that ended", (0, 5, 6, 7, 8, 9, 10)),
    ("Homework, by the quarter it was due", (0, 11, 12, 13)),
)
WEEK_PARTS = (
    ("Episodes", (0, 1, 2)),
    ("NHS Talking Therapies outcomes: baseline against this week", (0, 3, 4, 5, 6, 7, 8)),
    ("Homework set for the week", (0, 9, 10, 11)),
)


def _parts(
    header: Sequence[str], rows: list[list[str]], parts: Sequence[tuple[str, Sequence[int]]]
) -> list[Flowable]:
    from .. import pdf  # ReportLab loads on the first PDF (clinic.warm)

    out: list[Flowable] = []
    for title, columns in parts:
        out += [
            pdf.para(title, "h3"),
            pdf.table([header[i] for i in columns], [[r[i] for i in columns] for r in rows]),
        ]
    return out


def practice_report_pdf(report: PracticeReport) -> bytes:
    """The report as a PDF: both tables (each in three parts), then the definitions and their
    sources."""
    from .. import pdf  # ReportLab loads on the first PDF (clinic.warm)

    quarter_rows = report.quarter_rows()
    story: list[Flowable] = [
        pdf.para("Practice outcome report", "title"),
        pdf.para(f"{report.practice_name} · {report.scope} · as of {report.as_of:%d %b %Y}"),
        pdf.para(
            "Counts only: this report names no one and quotes nothing anyone wrote. "
            "Counts under 5 are shown as “<5”; rates that could reveal one as “suppressed”.",
            "small",
        ),
        pdf.para("By calendar quarter", "h2"),
    ]
    if quarter_rows:
        story += _parts(QUARTER_HEADER, quarter_rows, QUARTER_PARTS)
    else:
        story.append(pdf.para("No episode has started yet."))
    story += [
        pdf.para("By program week", "h2"),
        *_parts(WEEK_HEADER, report.week_rows(), WEEK_PARTS),
        pdf.para("Definitions and sources", "h2"),
        *[pdf.para(text) for text in DEFINITIONS],
        pdf.para(OUTCOME_SOURCE),
        pdf.para(SUPPRESSION_SOURCE),
    ]
    return pdf.render(
        story,
        title="Practice outcome report",
        footer=f"Bedrock · practice outcome report · as of {report.as_of.isoformat()} · "
        "counts only",
    )
