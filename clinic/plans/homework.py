"""A client's answers to a piece of homework: drafts kept as typed, saves that collide with another
tab or device, sending and correcting, and the therapist's review; act_on_answers is the one
entry point for what a client does."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from .. import alerts
from .. import answers as engine
from ..db import utcnow
from ..models import (
    COMPLETION_VALUES,
    Assignment,
    PlanStatus,
    Submission,
    SubmissionRevision,
    SubmissionStatus,
    User,
)
from ..timeutil import local_time
from .definitions import (
    DraftTooLong,
    InvalidAnswers,
    Locked,
    PlanError,
    SaveConflict,
    record_snapshot,
    worksheet,
)


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
    base_version: int | None,
    *,
    replacing: bool = False,
) -> Submission:
    """Keep what the client typed so far. Refused once submitted (a late autosave must not
    change sent answers), when someone else saved since the form was opened, and when an
    answer is longer than the worksheet keeps (DraftTooLong). `replacing` says the person saw
    a conflict and chose their version: the other one is kept as a revision, so nothing is
    lost."""
    _check_open(assignment)
    sub = assignment.submission
    ws = worksheet(db, assignment.worksheet_key, sub.worksheet_version if sub else None)
    raw = engine.sort_rows(ws, engine.normalise_raw(ws, raw))
    too_long = engine.draft_problems(ws, raw)
    if too_long:
        raise DraftTooLong(too_long, raw)
    if sub is None:
        if base_version != 0:
            raise PlanError("These answers could not be found. Reload the page.")
        record_snapshot(db, "worksheet", ws.key, ws.version, ws.sha256, ws.body)
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


def answers_as_of(sub: Submission, day: dt.date, client: User) -> dict[str, Any]:
    """The answers as they were sent by the end of a day (client's calendar): a correction
    made later does not change what a session summary of that day quotes. Submissions older
    than revisions fall back to the stored answers."""
    sent = [
        r
        for r in sub.revisions
        if r.reason in ("submitted", "corrected") and local_time(r.saved_at, client).date() <= day
    ]
    if not sent:
        return sub.answers
    return max(sent, key=lambda r: (r.saved_at, r.id)).answers


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
    db: Session,
    assignment: Assignment,
    client: User,
    revision: SubmissionRevision,
    base: int | None,
) -> Submission:
    """Make set-aside answers the draft again; what was saved is filed as a revision."""
    return save_draft(db, assignment, client, revision.answers, base, replacing=True)


def submit(
    db: Session,
    assignment: Assignment,
    client: User,
    raw: dict[str, Any],
    base_version: int | None,
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
    alerts.for_submission(db, sub, ws)
    return sub


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


UNKNOWN_ACTION = (
    "That button is not part of this worksheet, so nothing was saved. Your answers are below "
    "as you typed them; please use the buttons on this page."
)


@dataclass
class AnswersOutcome:
    """What became of answers a client acted on. `kind` is "sent", "saved", "rows" (a row
    was added or removed), "invalid" (not sent: `errors` say why; a draft keeps the typing),
    "conflict" (saved elsewhere meanwhile: the typing is filed as `revision`), "refused"
    (`message` says why) or "unknown" (an action no button of the worksheet sends; nothing
    was saved). `raw` is what the page shows again."""

    kind: str
    raw: dict[str, Any]
    submission: Submission | None
    version: int | None
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
    base_version: int | None,
    *,
    replacing: bool = False,
    background: bool = False,
) -> AnswersOutcome:
    """Save a draft (`background`: the page's autosave), add or remove a row ("add:<section>",
    "remove:<section>:<index>"), or send the answers ("submit"), correcting them until they
    are reviewed; any other action changes nothing. Answers are put in the worksheet's shape
    once, here."""
    sub = assignment.submission
    ws = worksheet(db, assignment.worksheet_key, sub.worksheet_version if sub else None)
    raw = engine.normalise_raw(ws, raw)
    asked = engine.parse_action(ws, action)
    if asked is None:  # no button of this worksheet sends it: nothing is saved
        return AnswersOutcome("unknown", raw, sub, base_version, message=UNKNOWN_ACTION)
    kind, section = asked.kind, asked.section
    if kind == "add":
        raw = engine.add_row(ws, raw, section)
    elif kind == "remove":
        raw = engine.remove_row(ws, raw, section, asked.index)
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
    base: int | None,
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
