"""Session notes (DAP), their addenda, and dated event notes. A note is a draft until its
therapist signs it; the signed text never changes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import episodes, goals, measures, plans, questionnaires, tracking
from .db import utcnow
from .errors import DomainError
from .models import (
    Addendum,
    Assignment,
    EventNote,
    Plan,
    SessionNote,
    SessionNoteRevision,
    User,
)
from .timeutil import local_time

NOTE_FIELDS = ("data", "assessment", "plan", "homework_reviewed", "homework_set")
LIMITS = {
    "data": 10_000,
    "assessment": 10_000,
    "plan": 10_000,
    "homework_reviewed": 5_000,
    "homework_set": 5_000,
}


class NoteError(DomainError):
    """A rule about notes was broken."""


class NoteConflict(NoteError):
    def __init__(self, note: SessionNote) -> None:
        super().__init__(
            "This note was saved somewhere else (another tab or device) after you opened it. "
            "Your text is below and has not been saved yet; save again to keep it."
        )
        self.note = note


def notes_of(db: Session, client: User) -> list[SessionNote]:
    """All of a client's session notes, newest session first."""
    return list(
        db.scalars(
            sa.select(SessionNote)
            .where(SessionNote.client_id == client.id)
            .order_by(SessionNote.session_date.desc(), SessionNote.id.desc())
        )
    )


def visible_to(db: Session, client: User, therapist: User) -> list[SessionNote]:
    """The client's notes a therapist may read: every signed note, and their own drafts."""
    return [
        n for n in notes_of(db, client) if n.status == "signed" or n.therapist_id == therapist.id
    ]


def _previous_session(db: Session, client: User, before: dt.date) -> dt.date | None:
    return db.scalar(
        sa.select(sa.func.max(SessionNote.session_date)).where(
            SessionNote.client_id == client.id, SessionNote.session_date < before
        )
    )


def record_summary(db: Session, client: User, session_date: dt.date) -> tuple[str, str]:
    """The scores (latest, change since the episode's baseline), the latest check-in and the
    homework since the last session, as of the session date (nothing after it), as text to
    start a note's 'data' and 'homework reviewed' fields."""
    plan = episodes.episode(db, client, session_date)
    lines = [f"Scores up to {session_date:%d %b %Y} (latest; change since the baseline):"]
    for code, course in episodes.courses(db, client, plan, until=session_date).items():
        inst = measures.instrument(code)
        s = questionnaires.summarise(course)
        change = "" if course.single else f"; baseline {s.baseline.value}, change {s.change:+d}"
        verdict = s.rc.category.replace("_", " ") if s.rc else ""
        rc = f"; {measures.JACOBSON_TRUAX}: {verdict} (RCI {s.rc.rci:+.2f})" if s.rc else ""
        lines.append(f"- {inst.short_name} {s.latest.value} ({s.band}){change}{rc}")
    check_ins = [
        c
        for c in questionnaires.check_in_series(db, client)
        if (plan is None or c.plan_id == plan.id)
        and local_time(c.created_at, client).date() <= session_date
    ]
    if check_ins:
        last = check_ins[-1]
        lines.append(
            f"- Weekly check-in, week {last.week}: trust {last.trust}/10, distress {last.distress}/10"
        )
    for goal in goals.views(db, plan, as_of=session_date):
        if not goal.active:
            continue
        if goal.latest is None:
            lines.append(f"- Goal {goal.number} “{goal.wording}”: not rated yet")
            continue
        first, change = goal.first, ""
        if goal.change is not None and first is not None:
            change = (
                f"; first {first.value}, change {goal.change:+d}: {goal.verdict} "
                f"({goals.CONVENTION})"
            )
        lines.append(
            f"- Goal {goal.number} “{goal.wording}”: {goal.latest.value}/10 on "
            f"{goal.latest.day:%d %b %Y}{change}"
        )
    if len(lines) == 1:
        lines.append("- No questionnaires answered yet.")
    # A "not on track" signal standing on the session date, with its checklist if reviewed
    # by then (tracking.for_note): offered to the note, never a risk alert.
    lines += tracking.for_note(db, client, plan, session_date)
    since, due = homework_window(db, client, plan, session_date)
    homework = [f"Homework since the last session{f' ({since:%d %b %Y})' if since else ''}:"]
    for a in due:
        title = plans.worksheet(db, a.worksheet_key).title
        state = plans.THERAPIST_STATE_WORDS[plans.homework_state_on(a, session_date, client)]
        homework.append(f"- Week {a.week} · {title}: {state}")
    if len(homework) == 1:
        homework.append("- None due or sent.")
    return "\n".join(lines), "\n".join(homework)


def homework_window(
    db: Session, client: User, plan: Plan | None, session_date: dt.date
) -> tuple[dt.date | None, list[Assignment]]:
    """The previous session's date, and the homework due or sent between it and this
    session (what a session reviews)."""
    since = _previous_session(db, client, session_date)
    due = []
    for a in plan.assignments if plan is not None else []:
        if a.removed_at is not None:
            continue
        sub = a.submission
        # Local dates throughout: session dates are the practice's calendar days.
        sent = local_time(sub.submitted_at, client).date() if sub and sub.submitted_at else None
        due_in_window = (since is None or a.due_on > since) and a.due_on <= session_date
        sent_in_window = (
            sent is not None and (since is None or sent > since) and sent <= session_date
        )
        if due_in_window or sent_in_window:
            due.append(a)
    return since, due


def draft_for(
    db: Session, client: User, therapist: User, session_date: dt.date
) -> SessionNote | None:
    """The therapist's draft note of this client's session on that date, if there is one."""
    return db.scalar(
        sa.select(SessionNote).where(
            SessionNote.client_id == client.id,
            SessionNote.therapist_id == therapist.id,
            SessionNote.session_date == session_date,
            SessionNote.status == "draft",
        )
    )


def start_note(db: Session, client: User, therapist: User, session_date: dt.date) -> SessionNote:
    """The therapist's draft for that session: reopened when there is one, else new."""
    return open_or_start_note(db, client, therapist, session_date)[0]


def open_or_start_note(
    db: Session, client: User, therapist: User, session_date: dt.date
) -> tuple[SessionNote, bool]:
    """The therapist's draft for that session: the one already started (reopened, never a
    second), or a new one with its data and homework fields filled in from the record. True
    when it is new. A unique index (one draft per client, therapist and date) backs this up
    when two clicks race."""
    found = draft_for(db, client, therapist, session_date)
    if found is not None:
        return found, False
    data, homework = record_summary(db, client, session_date)
    note = SessionNote(
        client_id=client.id,
        therapist_id=therapist.id,
        session_date=session_date,
        data=data,
        homework_reviewed=homework,
    )
    try:
        with db.begin_nested():
            db.add(note)
            db.flush()
    except sa.exc.IntegrityError:  # the other click made it a moment ago
        found = draft_for(db, client, therapist, session_date)
        if found is None:
            raise
        return found, False
    return note, True


def check_lengths(values: dict[str, Any]) -> dict[str, str]:
    """Length problems of note fields, by field."""
    return {
        name: f"Use at most {LIMITS[name]:,} characters (you have {len(values.get(name) or ''):,})."
        for name in NOTE_FIELDS
        if len(values.get(name) or "") > LIMITS[name]
    }


def save(
    db: Session,
    note: SessionNote,
    therapist: User,
    base_version: int | None,
    values: dict[str, Any],
) -> SessionNote:
    """Save a draft; refused once signed, and when it changed since `base_version` (None: the
    page sent no version the note can have, which counts as changed)."""
    if note.status == "signed":
        raise NoteError(
            "This note is signed and can no longer be changed. Add an addendum instead."
        )
    if note.therapist_id != therapist.id:
        raise NoteError("Only the therapist who started this note can change it.")
    problems = check_lengths(values)
    if problems:
        raise NoteError(next(iter(problems.values())), next(iter(problems)))
    if base_version is None:
        raise NoteConflict(note)
    day = values["session_date"]
    other = draft_for(db, _client_of(db, note), therapist, day) if day else None
    if other is not None and other.id != note.id:
        raise NoteError(
            f"You already have a draft note for {day:%d %b %Y}: open it from the notes list, "
            "or choose another date for this one.",
            "session_date",
        )
    fields = {name: (values.get(name) or "").strip() or None for name in NOTE_FIELDS}
    fields |= {
        "session_date": values["session_date"],
        "duration_minutes": values["duration_minutes"],
        "attendance": values["attendance"],
        "format": values["format"],
    }
    result = db.execute(
        sa.update(SessionNote)
        .where(
            SessionNote.id == note.id,
            SessionNote.version == base_version,
            SessionNote.status == "draft",
        )
        .values(version=base_version + 1, updated_at=utcnow(), **fields)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        db.refresh(note)
        if note.status == "signed":
            raise NoteError("This note was signed meanwhile and can no longer be changed.")
        raise NoteConflict(note)
    db.refresh(note)
    return note


def _client_of(db: Session, note: SessionNote) -> User:
    client = db.get(User, note.client_id)
    assert client is not None  # the note's foreign key
    return client


def write(
    db: Session,
    note: SessionNote,
    therapist: User,
    base_version: int | None,
    values: dict[str, Any],
    *,
    sign_it: bool = False,
) -> SessionNoteRevision | None:
    """Save a draft, and sign it if asked: the one entry point of the note editor. When the
    note was saved elsewhere meanwhile, the typed text is filed as a revision (returned) and
    nothing else changes, so that the therapist can choose; other problems raise NoteError."""
    try:
        save(db, note, therapist, base_version, values)
    except NoteConflict as conflict:
        return set_aside(db, conflict.note, therapist, values, "conflict")
    if sign_it:
        sign(db, note, therapist)
    return None


EDITABLE = (*NOTE_FIELDS, "session_date", "duration_minutes", "attendance", "format")


def fields_of(note: SessionNote) -> dict[str, Any]:
    """A draft's editable fields, as saved now."""
    return {name: getattr(note, name) for name in EDITABLE}


def _storable(values: dict[str, Any]) -> dict[str, Any]:
    out = {name: values.get(name) for name in EDITABLE}
    if isinstance(out["session_date"], dt.date):
        out["session_date"] = out["session_date"].isoformat()
    return out


def revision_values(revision: SessionNoteRevision) -> dict[str, Any]:
    """A revision's fields as save() takes them."""
    values = dict(revision.fields)
    values["session_date"] = dt.date.fromisoformat(values["session_date"])
    return values


def set_aside(
    db: Session, note: SessionNote, therapist: User, values: dict[str, Any], reason: str
) -> SessionNoteRevision:
    """File a version of a draft that is not (or no longer) the saved one, so that choosing
    between two colliding saves never loses the other."""
    revision = SessionNoteRevision(
        note_id=note.id, reason=reason, fields=_storable(values), saved_by_id=therapist.id
    )
    db.add(revision)
    db.flush()
    return revision


def keep_set_aside(
    db: Session, note: SessionNote, therapist: User, revision: SessionNoteRevision, base: int | None
) -> SessionNote:
    """Make a set-aside version the draft again; the version saved now is filed in its place."""
    if note.version == base and note.status == "draft":
        set_aside(db, note, therapist, fields_of(note), "replaced")
    return save(db, note, therapist, base, revision_values(revision))


def sign(db: Session, note: SessionNote, therapist: User) -> SessionNote:
    """Sign a draft. Signing twice is refused and changes nothing."""
    if note.therapist_id != therapist.id:
        raise NoteError("Only the therapist who wrote this note can sign it.")
    result = db.execute(
        sa.update(SessionNote)
        .where(SessionNote.id == note.id, SessionNote.status == "draft")
        .values(status="signed", signed_at=utcnow(), version=SessionNote.version + 1)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise NoteError("This note is already signed.")
    db.refresh(note)
    return note


def add_addendum(db: Session, note: SessionNote, therapist: User, text: str) -> Addendum:
    """Add a dated addendum to a signed note (the signed text itself never changes)."""
    if note.status != "signed":
        raise NoteError("Drafts can simply be edited; addenda are for signed notes.")
    text = text.strip()
    if not text:
        raise NoteError("Write the addendum.", "text")
    if len(text) > 5000:
        raise NoteError(f"Use at most 5,000 characters (you have {len(text):,}).", "text")
    addendum = Addendum(note_id=note.id, author_id=therapist.id, text=text)
    db.add(addendum)
    db.flush()
    return addendum


def add_event(db: Session, client: User, author: User, on_date: dt.date, text: str) -> EventNote:
    """A dated event note (shown as a marker on the client's charts)."""
    text = text.strip()
    if not text:
        raise NoteError("Describe the event.", "text")
    event = EventNote(client_id=client.id, author_id=author.id, on_date=on_date, text=text[:1000])
    db.add(event)
    db.flush()
    return event


def events_of(db: Session, client: User) -> list[EventNote]:
    """The client's event notes, oldest first."""
    return list(
        db.scalars(
            sa.select(EventNote)
            .where(EventNote.client_id == client.id)
            .order_by(EventNote.on_date, EventNote.id)
        )
    )
