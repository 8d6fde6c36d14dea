"""Starting a plan and changing it: homework added, moved, removed and restored; pause, resume and
finish. Every change names the version the page showed (compare-and-set), and checks before it
writes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ..db import utcnow
from ..library import DEFAULT_PROGRAM, library
from ..models import (
    Assignment,
    Plan,
    PlanStatus,
    Submission,
    SubmissionStatus,
    User,
)
from .definitions import WEEKS, Locked, PlanError, StaleChange, record_snapshot
from .schedule import default_due, first_session_on
from .screening import required_for_plan


def find_assignment(db: Session, client_id: int, assignment_id: int) -> Assignment | None:
    """Homework in one of this client's plans, or None (the ownership filter is in the query)."""
    return db.scalar(
        sa.select(Assignment)
        .join(Plan, Plan.id == Assignment.plan_id)
        .where(Assignment.id == assignment_id, Plan.client_id == client_id)
    )


def open_plan(db: Session, client: User) -> Plan | None:
    """The client's current (active or paused) plan."""
    return db.scalar(
        sa.select(Plan).where(Plan.client_id == client.id, Plan.status != PlanStatus.FINISHED.value)
    )


def preload_homework(db: Session, plan: Plan | None) -> None:
    """Load a plan's homework and every submission in two queries, for pages and reports
    that read them all (instead of one query per assignment). They are loaded into
    `plan.assignments` itself: loaded into the session alone, nothing held on to them and
    the first read of `plan.assignments` queried again, then once per submission."""
    if plan is not None:
        db.scalars(
            sa.select(Plan)
            .where(Plan.id == plan.id)
            .options(selectinload(Plan.assignments).selectinload(Assignment.submission))
        ).all()


def sent_homework(db: Session, client: User) -> list[tuple[Submission, Assignment]]:
    """Everything a client has sent (not drafts), newest week first."""
    rows = db.execute(
        sa.select(Submission, Assignment)
        .join(Assignment, Assignment.id == Submission.assignment_id)
        .where(
            Submission.client_id == client.id,
            Submission.status != SubmissionStatus.DRAFT.value,
        )
        .order_by(Assignment.week.desc(), Submission.submitted_at.desc())
    ).all()
    return [(sub, assignment) for sub, assignment in rows]


def latest_plan(db: Session, client: User) -> Plan | None:
    """The client's most recent plan, finished or not."""
    return db.scalar(
        sa.select(Plan)
        .where(Plan.client_id == client.id)
        .order_by(Plan.created_at.desc(), Plan.id.desc())
        .limit(1)
    )


def start_plan(
    db: Session,
    client: User,
    therapist: User,
    start: dt.date,
    weekday: int,
    program_key: str = DEFAULT_PROGRAM,
) -> Plan:
    """Start a client's plan and schedule the program's homework for all 12 weeks (but for
    weeks the suitability screen leaves out). Refused until a screen allows it."""
    if open_plan(db, client) is not None:
        raise PlanError("This client already has a plan. Finish it before starting another.")
    screen = required_for_plan(db, client)
    program = library().programs.get(program_key)
    if program is None:
        raise PlanError("Choose a program.", "program")
    if not 0 <= weekday <= 6:
        raise PlanError("Choose the weekday of the sessions.", "session_weekday")
    record_snapshot(db, "program", program.key, program.version, program.sha256, program.body)
    plan = Plan(
        client_id=client.id,
        started_by_id=therapist.id,
        program_key=program.key,
        program_version=program.version,
        first_session=first_session_on(start, weekday),
        session_weekday=weekday,
        status=PlanStatus.ACTIVE.value,
        screen_id=screen.id,
    )
    db.add(plan)
    db.flush()
    for week in program.weeks:
        if screen.week_changes.get(str(week.number)) == "left_out":
            continue
        for position_, key in enumerate(week.worksheets):
            db.add(
                Assignment(
                    plan_id=plan.id,
                    week=week.number,
                    worksheet_key=key,
                    due_on=default_due(plan, week.number),
                    position=position_,
                )
            )
    db.flush()
    return plan


def _claim_version(db: Session, row: Plan | Assignment, expected: int | None, what: str) -> None:
    """Compare-and-set on the row's version: the change goes ahead only if nobody changed the
    row since the form showed `expected` (two requests racing cannot both pass)."""
    model = type(row)
    result = db.execute(
        sa.update(model)
        .where(model.id == row.id, model.version == (expected if expected is not None else -1))
        .values(version=model.version + 1)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        db.refresh(row)
        raise StaleChange(what)
    set_committed_value(row, "version", (expected or 0) + 1)


def _require_version(row: Plan | Assignment, expected: int | None, what: str) -> None:
    """Refuse, before anything is written, a change asked for from an out-of-date page (the
    compare-and-set in _claim_version still settles two requests racing)."""
    if row.version != expected:
        raise StaleChange(what)


def _require_changeable(plan: Plan) -> None:
    if plan.status == PlanStatus.FINISHED.value:
        raise Locked("This plan is finished and can no longer be changed.")


def add_assignment(
    db: Session,
    plan: Plan,
    worksheet_key: str,
    week: int,
    due_on: dt.date | None = None,
    instruction: str | None = None,
    *,
    version: int | None = -1,
) -> Assignment:
    """Add any worksheet of the library to any week of one client's plan. `version` is the
    plan's version the form was shown with: the same form sent twice (a double click, the
    back button) adds the homework once. The default (-1) skips the check, for code that
    adds homework itself (starting a plan, the demo)."""
    _require_changeable(plan)
    if worksheet_key not in library().worksheets:
        raise PlanError("Choose a worksheet from the library.", "worksheet")
    if not 1 <= week <= WEEKS:
        raise PlanError(f"Choose a week from 1 to {WEEKS}.", "week")
    if version != -1:
        _claim_version(db, plan, version, "This plan")
    last = db.scalar(
        sa.select(sa.func.max(Assignment.position)).where(
            Assignment.plan_id == plan.id, Assignment.week == week
        )
    )
    assignment = Assignment(
        plan_id=plan.id,
        week=week,
        worksheet_key=worksheet_key,
        due_on=due_on or default_due(plan, week),
        instruction=(instruction or "").strip() or None,
        position=(last + 1) if last is not None else 0,
    )
    db.add(assignment)
    db.flush()
    return assignment


def update_assignment(
    db: Session,
    assignment: Assignment,
    *,
    week: int,
    due_on: dt.date | None,
    instruction: str | None,
    version: int | None,
) -> Assignment:
    """Move an assignment to another week, change its due date or its personal instruction.
    Moving without naming a new due date gives the new week's usual due date. `version` is
    the one the form was shown with; a stale one is refused (StaleChange)."""
    plan = assignment.plan
    _require_changeable(plan)
    if not 1 <= week <= WEEKS:
        raise PlanError(f"Choose a week from 1 to {WEEKS}.", "week")
    _claim_version(db, assignment, version, "This homework")
    if week != assignment.week:
        if due_on is None or due_on == assignment.due_on:
            due_on = default_due(plan, week)
        assignment.week = week
    if due_on is not None:
        assignment.due_on = due_on
    assignment.instruction = (instruction or "").strip() or None
    db.flush()
    return assignment


def remove_assignment(db: Session, assignment: Assignment, version: int | None) -> None:
    """Take homework out of the plan. Anything the client wrote for it is kept."""
    _require_changeable(assignment.plan)
    _claim_version(db, assignment, version, "This homework")
    if assignment.removed_at is None:
        assignment.removed_at = utcnow()
    db.flush()


def restore_assignment(db: Session, assignment: Assignment, version: int | None) -> None:
    """Put removed homework back into the plan."""
    _require_changeable(assignment.plan)
    _claim_version(db, assignment, version, "This homework")
    assignment.removed_at = None
    db.flush()


def pause_plan(db: Session, plan: Plan, today: dt.date, version: int | None) -> None:
    """Stop the plan's clock (illness, holiday): weeks and due dates wait."""
    _require_version(plan, version, "The plan")
    if plan.status != PlanStatus.ACTIVE.value:
        raise PlanError("Only an active plan can be paused.")
    _claim_version(db, plan, version, "The plan")
    plan.status = PlanStatus.PAUSED.value
    plan.paused_on = today
    db.flush()


def resume_plan(db: Session, plan: Plan, today: dt.date, version: int | None) -> int:
    """Restart the clock; open homework is due that many days later. Returns the days paused."""
    _require_version(plan, version, "The plan")
    if plan.status != PlanStatus.PAUSED.value or plan.paused_on is None:
        raise PlanError("Only a paused plan can be resumed.")
    _claim_version(db, plan, version, "The plan")
    days = max((today - plan.paused_on).days, 0)
    plan.paused_days += days
    plan.status = PlanStatus.ACTIVE.value
    plan.paused_on = None
    if days:
        done = sa.select(Submission.assignment_id).where(
            Submission.status != SubmissionStatus.DRAFT.value
        )
        for assignment in db.scalars(
            sa.select(Assignment).where(Assignment.plan_id == plan.id, Assignment.id.not_in(done))
        ):
            assignment.due_on += dt.timedelta(days=days)
            assignment.version += 1  # a form showing the old due date is now stale
    db.flush()
    return days


DISCHARGE_REASONS = {
    "completed": "Completed the plan",
    "goals_met": "Goals met before the end",
    "client_stopped": "The client chose to stop",
    "referred_on": "Referred to another service",
    "lost_contact": "Lost contact",
    "other": "Other (see the recommendations)",
}
DISCHARGE_TEXT_MAX = 5000


@dataclass(frozen=True)
class Discharge:
    """What a therapist records when a plan finishes."""

    reason: str
    risk: str
    recommendations: str


def _check_discharge(d: Discharge) -> None:
    if d.reason not in DISCHARGE_REASONS:
        raise PlanError("Choose why the plan is finishing.", "reason")
    if not d.risk.strip():
        raise PlanError(
            "Describe the risk at discharge (or write that there is none known).", "risk"
        )
    for name, text in (("risk", d.risk), ("recommendations", d.recommendations)):
        if len(text) > DISCHARGE_TEXT_MAX:
            raise PlanError(f"Use at most {DISCHARGE_TEXT_MAX:,} characters.", name)


def finish_plan(
    db: Session, plan: Plan, version: int | None, discharge: Discharge | None = None
) -> None:
    """Close the plan (the work stays readable), with its discharge: the therapist's page
    always asks for one; older callers (imports, tests) may finish without."""
    _require_changeable(plan)
    if discharge is not None:
        _check_discharge(discharge)
    _claim_version(db, plan, version, "The plan")
    if discharge is not None:
        plan.discharge_reason = discharge.reason
        plan.discharge_risk = discharge.risk.strip()
        plan.discharge_recommendations = discharge.recommendations.strip() or None
    plan.status = PlanStatus.FINISHED.value
    plan.paused_on = None
    plan.finished_at = utcnow()
    db.flush()


def assign_once(db: Session, plan: Plan, worksheet_key: str, week: int) -> tuple[Assignment, bool]:
    """Set a worksheet in a week unless it is already there (a second click, or two
    colleagues at once, adds nothing): the homework, and whether it was added now."""
    existing = db.scalar(
        sa.select(Assignment).where(
            Assignment.plan_id == plan.id,
            Assignment.week == week,
            Assignment.worksheet_key == worksheet_key,
            Assignment.removed_at.is_(None),
        )
    )
    if existing is not None:
        return existing, False
    return add_assignment(db, plan, worksheet_key, week), True
