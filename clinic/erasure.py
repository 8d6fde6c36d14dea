"""Erasing a client's record without the admin reading it: the admin asks; the client's
therapist downloads the whole record (the practice's archive copy, recorded by its SHA-256 and
the record's state); the admin then erases it with a reason, and sees only when the record was
downloaded, by whom, and its fingerprint. Every step is audited; the erasure itself is kept
(without the client's name or any clinical content) so the practice can account for it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .db import utcnow
from .errors import DomainError
from .models import (
    Addendum,
    Administration,
    Alert,
    Assignment,
    Care,
    CheckIn,
    Erasure,
    EventNote,
    Plan,
    PlanStatus,
    Practice,
    Role,
    Screen,
    SessionNote,
    SessionNoteRevision,
    Submission,
    SubmissionRevision,
    User,
)

# How long after the export the erasure may follow: long enough to check the file, short
# enough that the export is the record as it was erased.
EXPORT_VALID = dt.timedelta(hours=24)
REASON_MIN = 10


class ErasureError(DomainError):
    """A rule about erasing a record was broken."""


def fingerprint(db: Session, client: User) -> str:
    """A digest of the state of every part of the record (ids, versions, statuses, times):
    anything added or changed after the export changes it, so an erasure can tell that the
    downloaded file no longer holds the whole record."""
    notes = sa.select(SessionNote.id).where(SessionNote.client_id == client.id)
    subs = sa.select(Submission.id).where(Submission.client_id == client.id)
    plan_ids = sa.select(Plan.id).where(Plan.client_id == client.id)
    queries = {
        "plan": sa.select(Plan.id, Plan.version, Plan.status, Plan.paused_days).where(
            Plan.id.in_(plan_ids)
        ),
        "assignment": sa.select(
            Assignment.id, Assignment.version, Assignment.removed_at, Assignment.due_on
        ).where(Assignment.plan_id.in_(plan_ids)),
        "submission": sa.select(
            Submission.id, Submission.version, Submission.status, Submission.reviewed_at
        ).where(Submission.client_id == client.id),
        "submission_revision": sa.select(SubmissionRevision.id).where(
            SubmissionRevision.submission_id.in_(subs)
        ),
        "administration": sa.select(Administration.id, Administration.completed_at).where(
            Administration.client_id == client.id
        ),
        "check_in": sa.select(CheckIn.id).where(CheckIn.client_id == client.id),
        "alert": sa.select(Alert.id, Alert.acknowledged_at).where(Alert.client_id == client.id),
        "note": sa.select(SessionNote.id, SessionNote.version, SessionNote.status).where(
            SessionNote.client_id == client.id
        ),
        "note_revision": sa.select(SessionNoteRevision.id).where(
            SessionNoteRevision.note_id.in_(notes)
        ),
        "addendum": sa.select(Addendum.id).where(Addendum.note_id.in_(notes)),
        "event": sa.select(EventNote.id).where(EventNote.client_id == client.id),
        "screen": sa.select(Screen.id).where(Screen.client_id == client.id),
    }
    state: dict[str, list[Any]] = {
        name: [list(row) for row in db.execute(q.order_by(*q.selected_columns[:1]))]
        for name, q in queries.items()
    }
    state["user"] = [client.display_name, client.email, client.active]
    return hashlib.sha256(json.dumps(state, default=str, sort_keys=True).encode()).hexdigest()


def open_request(db: Session, client: User) -> Erasure | None:
    """The erasure asked for this client and not yet done, if any."""
    return db.scalar(
        sa.select(Erasure)
        .where(
            Erasure.client_number == client.id,
            Erasure.practice_id == client.practice_id,
            Erasure.erased_at.is_(None),
            Erasure.requested_at.is_not(None),
        )
        .order_by(Erasure.id.desc())
        .limit(1)
    )


def request(db: Session, client: User, admin: User) -> Erasure:
    """The admin asks for a client's record to be erased (once: asking again changes nothing)."""
    if client.role != Role.CLIENT.value or client.practice_id != admin.practice_id:
        raise ErasureError("Only a client of your own practice can be erased.")
    row = open_request(db, client)
    if row is None:
        row = Erasure(
            practice_id=client.practice_id,
            client_number=client.id,
            requested_by_id=admin.id,
            requested_at=utcnow(),
        )
        db.add(row)
        db.flush()
    return row


def exported(db: Session, client: User, by: User, data: bytes) -> Erasure | None:
    """Note that the therapist downloaded the whole record while an erasure is asked for
    (the newest download counts); without a request, nothing is noted."""
    row = open_request(db, client)
    if row is None:
        return None
    row.exported_at = utcnow()
    row.exported_by_id = by.id
    row.export_sha256 = hashlib.sha256(data).hexdigest()
    row.record_fingerprint = fingerprint(db, client)
    db.flush()
    return row


def pending_export(db: Session, client: User, now: dt.datetime | None = None) -> Erasure | None:
    """The asked-for erasure whose download is recent enough for the erasure to follow."""
    now = now or utcnow()
    row = open_request(db, client)
    if row is None or row.exported_at is None or row.exported_at <= now - EXPORT_VALID:
        return None
    return row


def erase(db: Session, client: User, admin: User, reason: str, confirm_name: str) -> Erasure:
    """Delete the client's account and everything in their record (plans, homework, answers,
    questionnaires, check-ins, alerts, notes, invitations); keep the audit trail."""
    if client.role != Role.CLIENT.value or client.practice_id != admin.practice_id:
        raise ErasureError("Only a client of your own practice can be erased.")
    reason = (reason or "").strip()
    if len(reason) < REASON_MIN:
        raise ErasureError(
            f"Say why the record is erased (at least {REASON_MIN} characters), for the practice's records.",
            "reason",
        )
    if confirm_name.strip() != client.display_name.strip():
        raise ErasureError("Type the client's name exactly as shown to confirm.", "confirm_name")
    row = pending_export(db, client)
    if row is None:
        raise ErasureError(
            "The record must be downloaded by the client's therapist first (within the last "
            "24 hours); the erasure follows that download."
        )
    if row.record_fingerprint != fingerprint(db, client):
        raise ErasureError(
            "The record has changed since you downloaded it (new answers, notes or reviews). "
            "Download it again, so that the file you keep holds everything that is erased."
        )
    number, admin_id = client.id, admin.id
    db.expunge(client)
    # The database's ON DELETE CASCADE removes every row of the record in one statement.
    db.execute(sa.delete(User).where(User.id == number))
    db.expire_all()
    row.reason, row.erased_by_id, row.erased_at = reason, admin_id, utcnow()
    db.flush()
    return row


def erasures_of(db: Session, practice_id: int) -> list[Erasure]:
    """The practice's erasures asked for (done or not), newest first."""
    return list(
        db.scalars(
            sa.select(Erasure)
            .where(Erasure.practice_id == practice_id)
            .order_by(
                sa.func.coalesce(
                    Erasure.erased_at, Erasure.exported_at, Erasure.requested_at
                ).desc(),
                Erasure.id.desc(),
            )
        )
    )


# --- retention ----------------------------------------------------------------------------------

# What a practice may set as its retention period, in years from the end of care. The NHS
# Records Management Code of Practice (NHS England / NHSX, 2021, appendix II retention
# schedule: "Mental health records", 20 years after no further treatment is considered
# necessary) is one reference; a practice follows its own policy, its regulator and insurer.
RETENTION_YEARS_MAX = 100
RETENTION_SOURCE = (
    "For example, the NHS Records Management Code of Practice (2021) keeps adult mental health "
    "records for 20 years after the end of treatment; follow your own records policy."
)


@dataclass(frozen=True)
class RetentionDue:
    """A client whose record is past the practice's retention period (no clinical content)."""

    client: User
    therapist_id: int | None
    care_ended: dt.date  # the end of care the period counts from
    keep_until: dt.date  # the end of the retention period
    request: Erasure | None  # the erasure asked for, if it is


def add_years(day: dt.date, years: int) -> dt.date:
    """The same day `years` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def end_of_care(
    last_plan: Plan | None, last_session: dt.date | None, added: dt.date
) -> dt.date | None:
    """When a client's care ended: the later of their last plan's finish and their last
    session note; never while a plan is open. A client whose plan never started counts from
    when they were added (or their last session note)."""
    if last_plan is not None and last_plan.status != PlanStatus.FINISHED.value:
        return None
    ends = [d for d in (last_session,) if d is not None]
    if last_plan is not None and last_plan.finished_at is not None:
        ends.append(last_plan.finished_at.date())
    elif last_plan is None:
        ends.append(added)
    return max(ends) if ends else None


def past_retention(db: Session, practice: Practice, today: dt.date) -> list[RetentionDue]:
    """The practice's clients whose records are past its retention period on `today`, the
    longest past first; empty while no period is set. Nothing is erased here: the admin asks
    for each erasure, the therapist exports, the admin erases (the flow above)."""
    years = practice.retention_years
    if not years:
        return []
    clients = list(
        db.scalars(
            sa.select(User).where(User.practice_id == practice.id, User.role == Role.CLIENT.value)
        )
    )
    ids = [c.id for c in clients]
    last_plan: dict[int, Plan] = {}
    for plan in db.scalars(
        sa.select(Plan).where(Plan.client_id.in_(ids)).order_by(Plan.created_at, Plan.id)
    ):
        last_plan[plan.client_id] = plan
    last_session: dict[int, dt.date] = {
        client_id: day
        for client_id, day in db.execute(
            sa.select(SessionNote.client_id, sa.func.max(SessionNote.session_date))
            .where(SessionNote.client_id.in_(ids))
            .group_by(SessionNote.client_id)
        )
    }
    therapist: dict[int, int] = {}
    for client_id, therapist_id in db.execute(
        sa.select(Care.client_id, Care.therapist_id)
        .where(Care.client_id.in_(ids))
        .order_by(Care.started_at, Care.id)
    ):
        therapist[client_id] = therapist_id
    requests = {
        r.client_number: r
        for r in db.scalars(
            sa.select(Erasure).where(Erasure.client_number.in_(ids), Erasure.erased_at.is_(None))
        )
    }
    due = []
    for client in clients:
        ended = end_of_care(
            last_plan.get(client.id), last_session.get(client.id), client.created_at.date()
        )
        if ended is None:
            continue
        keep_until = add_years(ended, years)
        if keep_until <= today:
            due.append(
                RetentionDue(
                    client, therapist.get(client.id), ended, keep_until, requests.get(client.id)
                )
            )
    return sorted(due, key=lambda d: (d.keep_until, d.client.id))
