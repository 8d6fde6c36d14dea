"""The 12-week plan: start, schedule, tailor, pause; homework drafts, submission and review.

Domain functions take the session explicitly, flush but never commit, and raise PlanError
(or a subclass) for anything a person should be told about."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from . import answers as engine
from .db import utcnow
from .errors import DomainError
from .library import DEFAULT_PROGRAM, Program, Worksheet, library, parse_program, parse_worksheet
from .models import (
    COMPLETION_VALUES,
    Assignment,
    ContentSnapshot,
    Plan,
    PlanStatus,
    Submission,
    SubmissionRevision,
    SubmissionStatus,
    User,
)

WEEKS = 12


class PlanError(DomainError):
    """A rule about plans or homework was broken."""


class SaveConflict(PlanError):
    """The answers changed (another tab or device) since this form was opened."""

    def __init__(self, submission: Submission) -> None:
        super().__init__(
            "These answers were changed somewhere else (another tab or device) after you "
            "opened this page. What you typed is below and has not been saved yet."
        )
        self.submission = submission


class StaleChange(PlanError):
    """The plan or homework changed (another tab, a colleague's click) since the page that
    asked for this change was shown; nothing was changed."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"{what} was changed somewhere else (another tab or a double click) after this page "
            "was opened, so nothing was changed. Here is how it stands now; make the change "
            "again if it is still needed."
        )


class Locked(PlanError):
    """The homework can no longer be changed (reviewed, removed or the plan finished)."""


# --- content snapshots ----------------------------------------------------------------------


def _snapshot(db: Session, kind: str, key: str, version: int, sha: str, body: dict) -> None:
    """Record the definition a plan or submission uses, once per (kind, key, version)."""
    existing = db.scalar(
        sa.select(ContentSnapshot).where(
            ContentSnapshot.kind == kind,
            ContentSnapshot.key == key,
            ContentSnapshot.version == version,
        )
    )
    if existing is not None:
        return
    try:
        with db.begin_nested():
            db.add(ContentSnapshot(kind=kind, key=key, version=version, sha256=sha, body=body))
    except IntegrityError:  # another request recorded it at the same moment
        pass


@lru_cache(maxsize=256)
def _parsed_worksheet(sha: str, body_json: str) -> Worksheet:
    return parse_worksheet(json.loads(body_json), f"stored worksheet {sha[:12]}")


def worksheet(db: Session, key: str, version: int | None = None) -> Worksheet:
    """A worksheet definition: the current one, or the exact version a submission used."""
    current = library().worksheets.get(key)
    if current is not None and (version is None or version == current.version):
        return current
    snap = db.scalar(
        sa.select(ContentSnapshot).where(
            ContentSnapshot.kind == "worksheet",
            ContentSnapshot.key == key,
            ContentSnapshot.version == version,
        )
    )
    if snap is None:
        raise PlanError(f"The worksheet definition {key!r} version {version} is not available.")
    return _parsed_worksheet(snap.sha256, json.dumps(snap.body, sort_keys=True))


def program_of(db: Session, plan: Plan) -> Program:
    """The program definition a plan was started with."""
    current = library().programs.get(plan.program_key)
    if current is not None and current.version == plan.program_version:
        return current
    snap = db.scalar(
        sa.select(ContentSnapshot).where(
            ContentSnapshot.kind == "program",
            ContentSnapshot.key == plan.program_key,
            ContentSnapshot.version == plan.program_version,
        )
    )
    if snap is None:
        raise PlanError(f"The program {plan.program_key!r} v{plan.program_version} is missing.")
    # Worksheets named by an old program may have moved on; the program only needs their keys.
    return parse_program(snap.body, f"stored program {plan.program_key}", _AnyWorksheet())


class _AnyWorksheet(dict):  # type: ignore[type-arg]
    def __contains__(self, key: object) -> bool:
        return True


# --- schedule -------------------------------------------------------------------------------


def first_session_on(start: dt.date, weekday: int) -> dt.date:
    """The first session: the start date itself or the next day that is the session weekday."""
    return start + dt.timedelta(days=(weekday - start.weekday()) % 7)


def session_date(plan: Plan, week: int) -> dt.date:
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


def position(plan: Plan, today: dt.date) -> Position:
    """Which week of the plan a day falls in (a paused plan stands still)."""
    ref = plan.paused_on if plan.paused_on is not None else today
    days = (ref - plan.first_session).days - plan.paused_days
    week = min(max(days // 7 + 1, 1), WEEKS)
    return Position(week=week, started=days >= 0, over=days >= 7 * WEEKS)


# --- plans ----------------------------------------------------------------------------------


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
    that read them all (instead of one query per assignment)."""
    if plan is not None:
        db.scalars(
            sa.select(Assignment)
            .where(Assignment.plan_id == plan.id)
            .options(selectinload(Assignment.submission))
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
    """Start a client's plan and schedule the program's homework for all 12 weeks."""
    if open_plan(db, client) is not None:
        raise PlanError("This client already has a plan. Finish it before starting another.")
    program = library().programs.get(program_key)
    if program is None:
        raise PlanError("Choose a program.", "program")
    if not 0 <= weekday <= 6:
        raise PlanError("Choose the weekday of the sessions.", "session_weekday")
    _snapshot(db, "program", program.key, program.version, program.sha256, program.body)
    plan = Plan(
        client_id=client.id,
        started_by_id=therapist.id,
        program_key=program.key,
        program_version=program.version,
        first_session=first_session_on(start, weekday),
        session_weekday=weekday,
        status=PlanStatus.ACTIVE.value,
    )
    db.add(plan)
    db.flush()
    for week in program.weeks:
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


def finish_plan(db: Session, plan: Plan, version: int | None) -> None:
    """Close the plan (the work stays readable)."""
    _require_changeable(plan)
    _claim_version(db, plan, version, "The plan")
    plan.status = PlanStatus.FINISHED.value
    plan.paused_on = None
    plan.finished_at = utcnow()
    db.flush()


# --- homework state -------------------------------------------------------------------------


def homework_state(assignment: Assignment, today: dt.date) -> str:
    """not_started, draft, submitted, reviewed or overdue (overdue: due and not submitted)."""
    sub = assignment.submission
    if sub is not None and sub.status != SubmissionStatus.DRAFT.value:
        return sub.status
    if assignment.due_on < today and assignment.plan.status == PlanStatus.ACTIVE.value:
        return "overdue"
    return "draft" if sub is not None else "not_started"


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


# --- saving answers -------------------------------------------------------------------------


def _claim(db: Session, sub: Submission, base_version: int, values: dict[str, Any]) -> bool:
    """Write only if nobody saved since `base_version` (compare-and-set on the version)."""
    result = db.execute(
        sa.update(Submission)
        .where(Submission.id == sub.id, Submission.version == base_version)
        .values(version=base_version + 1, saved_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return False
    db.refresh(sub)
    return True


def _revision(db: Session, sub: Submission, reason: str, by: User | None) -> None:
    db.add(
        SubmissionRevision(
            submission_id=sub.id,
            version=sub.version,
            status=sub.status,
            reason=reason,
            answers=sub.answers,
            saved_by_id=by.id if by else None,
        )
    )


def _check_open(assignment: Assignment) -> None:
    if assignment.removed_at is not None:
        raise Locked("Your therapist has taken this homework out of your plan.")
    if assignment.plan.status == PlanStatus.FINISHED.value:
        raise Locked("This plan has finished, so its homework can no longer be changed.")


def save_draft(
    db: Session,
    assignment: Assignment,
    client: User,
    raw: dict[str, Any],
    base_version: int,
    *,
    replacing: bool = False,
) -> Submission:
    """Keep what the client typed so far. Refused once submitted (a late autosave must not
    change sent answers) and when someone else saved since the form was opened. `replacing`
    says the person saw a conflict and chose their version: the other one is kept as a
    revision, so nothing is lost."""
    _check_open(assignment)
    sub = assignment.submission
    ws = worksheet(db, assignment.worksheet_key, sub.worksheet_version if sub else None)
    raw = engine.sort_rows(ws, engine.normalise_raw(ws, raw))
    if sub is None:
        if base_version != 0:
            raise PlanError("These answers could not be found. Reload the page.")
        _snapshot(db, "worksheet", ws.key, ws.version, ws.sha256, ws.body)
        try:
            with db.begin_nested():
                sub = Submission(
                    assignment_id=assignment.id,
                    client_id=client.id,
                    answers=raw,
                    worksheet_version=ws.version,
                )
                db.add(sub)
        except IntegrityError:  # another tab created it first
            db.expire(assignment)
            raise SaveConflict(assignment.submission) from None  # type: ignore[arg-type]
        db.flush()
        # Readers later in this transaction (a report, the demo's notes) see it at once.
        set_committed_value(assignment, "submission", sub)
        return sub
    if sub.status != SubmissionStatus.DRAFT.value:
        raise Locked("These answers have already been sent to your therapist.")
    if sub.version != base_version:
        raise SaveConflict(sub)
    if replacing:
        _revision(db, sub, "replaced", client)
    if not _claim(db, sub, base_version, {"answers": raw}):
        raise SaveConflict(sub)
    return sub


def set_aside(
    db: Session, sub: Submission, raw: dict[str, Any], client: User
) -> SubmissionRevision:
    """File answers that collided with a newer save as a revision, so that whichever version
    the person then keeps, the other one is never lost."""
    ws = worksheet(db, sub.assignment.worksheet_key, sub.worksheet_version)
    revision = SubmissionRevision(
        submission_id=sub.id,
        version=sub.version,
        status=sub.status,
        reason="conflict",
        answers=engine.sort_rows(ws, engine.normalise_raw(ws, raw)),
        saved_by_id=client.id,
    )
    db.add(revision)
    db.flush()
    return revision


def keep_set_aside(
    db: Session, assignment: Assignment, client: User, revision: SubmissionRevision, base: int
) -> Submission:
    """Make set-aside answers the draft again; what was saved is filed as a revision."""
    return save_draft(db, assignment, client, revision.answers, base, replacing=True)


def submit(
    db: Session, assignment: Assignment, client: User, raw: dict[str, Any], base_version: int
) -> Submission:
    """Send the answers to the therapist (or correct them before review). Submitting the same
    answers twice (double click, back button, replay) changes nothing the second time."""
    _check_open(assignment)
    sub = assignment.submission
    ws = worksheet(db, assignment.worksheet_key, sub.worksheet_version if sub else None)
    raw = engine.sort_rows(ws, engine.normalise_raw(ws, raw))
    errors = engine.check(ws, raw, final=True)
    if errors:
        raise InvalidAnswers(errors, raw)
    answers = engine.clean(ws, raw)
    if sub is not None and sub.status != SubmissionStatus.DRAFT.value and sub.answers == answers:
        return sub  # a repeat of what is already stored
    if sub is not None and sub.status == SubmissionStatus.REVIEWED.value:
        raise Locked("Your therapist has already reviewed this, so it can no longer be changed.")
    if sub is None:
        sub = save_draft(db, assignment, client, raw, base_version)
        base_version = sub.version
    elif sub.version != base_version:
        raise SaveConflict(sub)
    correcting = sub.status == SubmissionStatus.SUBMITTED.value
    values: dict[str, Any] = {"answers": answers, "status": SubmissionStatus.SUBMITTED.value}
    if not correcting:
        values["submitted_at"] = utcnow()
    if not _claim(db, sub, base_version, values):
        raise SaveConflict(sub)
    _revision(db, sub, "corrected" if correcting else "submitted", client)
    db.flush()
    return sub


class InvalidAnswers(PlanError):
    """Answers that cannot be submitted; `errors` is keyed like worksheets.check()."""

    def __init__(self, errors: dict[str, list[str]], raw: dict[str, Any]) -> None:
        super().__init__("Some answers need a look before you send them.")
        self.errors = errors
        self.raw = raw  # in the order the errors refer to (ordered sections are sorted)


def review(
    db: Session,
    submission: Submission,
    therapist: User,
    *,
    completion: str,
    quality: int,
    feedback: str | None,
) -> Submission:
    """Record the therapist's rating and feedback. Completion (none/some/most/all) and
    quality (0-4) are rated separately because the quality of homework, not only whether it
    was done, predicts outcome (Kazantzis, Whittington & Dattilio 2010, Clin Psychol Sci
    Pract 17:144-156; Kazantzis et al. 2016, Behav Ther 47:755-772)."""
    if submission.status == SubmissionStatus.DRAFT.value:
        raise PlanError("This homework has not been submitted yet.")
    if completion not in COMPLETION_VALUES:
        raise PlanError("Choose how much of the homework was done.", "completion")
    if not 0 <= quality <= 4:
        raise PlanError("Choose a quality rating from 0 to 4.", "quality")
    submission.completion = completion
    submission.quality = quality
    submission.feedback = (feedback or "").strip() or None
    submission.status = SubmissionStatus.REVIEWED.value
    submission.reviewed_at = utcnow()
    submission.reviewed_by_id = therapist.id
    submission.version += 1
    db.flush()
    return submission


# --- one entry point for what a client does with their answers ------------------------------


@dataclass
class AnswersOutcome:
    """What became of answers a client acted on. `kind` is "sent", "saved", "rows" (a row
    was added or removed), "invalid" (not sent: `errors` say why; a draft keeps the typing),
    "conflict" (saved elsewhere meanwhile: the typing is filed as `revision`) or "refused"
    (`message` says why). `raw` is what the page shows again."""

    kind: str
    raw: dict[str, Any]
    submission: Submission | None
    version: int
    errors: dict[str, list[str]] = field(default_factory=dict)
    revision: SubmissionRevision | None = None
    message: str | None = None
    focus: str | None = None

    @property
    def keep(self) -> bool:
        """Whether what was stored stays although the page reports a problem."""
        return self.kind in ("invalid", "conflict")


def act_on_answers(
    db: Session,
    assignment: Assignment,
    client: User,
    raw: dict[str, Any],
    action: str,
    base_version: int,
    *,
    replacing: bool = False,
    background: bool = False,
) -> AnswersOutcome:
    """Save a draft (`background`: the page's autosave), add or remove a row ("add:<section>",
    "remove:<section>:<index>"), or send the answers ("submit"), correcting them until they
    are reviewed. Answers are put in the worksheet's shape once, here."""
    sub = assignment.submission
    ws = worksheet(db, assignment.worksheet_key, sub.worksheet_version if sub else None)
    raw = engine.normalise_raw(ws, raw)
    kind, _, rest = action.partition(":")
    section, _, index = rest.partition(":")
    if kind == "add":
        raw = engine.add_row(ws, raw, section)
    elif kind == "remove":
        raw = engine.remove_row(ws, raw, section, int(index) if index.isdecimal() else -1)
    focus = engine.row_focus(ws, raw, section) if kind == "add" else None
    sent = sub is not None and sub.status != SubmissionStatus.DRAFT.value
    try:
        if kind == "submit":
            return AnswersOutcome("sent", raw, submit(db, assignment, client, raw, base_version), 0)
        if sent and kind in ("add", "remove"):
            # Correcting sent answers: rows change on screen only, nothing is saved until sent.
            return AnswersOutcome("rows", raw, sub, base_version, focus=focus)
        if sent:
            raise Locked("These answers have already been sent. Use 'Send changes'.")
        saved = save_draft(db, assignment, client, raw, base_version, replacing=replacing)
    except InvalidAnswers as invalid:
        return _keep_invalid(db, assignment, client, invalid, base_version, replacing, sent)
    except SaveConflict as conflict:
        if background:
            return AnswersOutcome(
                "conflict", raw, conflict.submission, base_version, message=conflict.message
            )
        db.refresh(conflict.submission)
        # Both versions are kept: the typed one is filed now, and the person chooses.
        revision = set_aside(db, conflict.submission, raw, client)
        return AnswersOutcome("conflict", raw, conflict.submission, 0, revision=revision)
    except PlanError as error:
        return AnswersOutcome("refused", raw, sub, base_version, message=error.message)
    done = "rows" if kind in ("add", "remove") else "saved"
    return AnswersOutcome(done, raw, saved, saved.version, focus=focus)


def _keep_invalid(
    db: Session,
    assignment: Assignment,
    client: User,
    invalid: InvalidAnswers,
    base: int,
    replacing: bool,
    sent: bool,
) -> AnswersOutcome:
    """Answers that cannot be sent yet: a draft keeps the typing while the page says what
    needs fixing (sent answers stay as they were until corrected ones are sent)."""
    sub = assignment.submission
    if not sent:
        try:
            sub = save_draft(db, assignment, client, invalid.raw, base, replacing=replacing)
            base = sub.version
        except PlanError:
            pass
    return AnswersOutcome(
        "invalid", invalid.raw, sub, base, errors=invalid.errors, message=invalid.message
    )
