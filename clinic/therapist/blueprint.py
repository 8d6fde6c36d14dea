"""The therapist blueprint: closed to everyone but therapists, and the owner-scoped loaders.
Anything a URL names is loaded here, with the ownership filter in the query; someone else's
record answers 404 (and the attempt is audited)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort

from .. import audit, plans
from .. import db as database
from ..models import (
    Alert,
    Assignment,
    Care,
    Plan,
    Role,
    SessionNote,
    SessionNoteRevision,
    User,
)
from ..web.gates import require_role, signed_in_user

bp = Blueprint("therapist", __name__, url_prefix="/therapist")
require_role(bp, Role.THERAPIST)


def get_client_or_404(client_id: int) -> User:
    """A client currently in the signed-in therapist's care; anyone else is 404."""
    therapist = signed_in_user()
    client = database.session().scalar(
        sa.select(User)
        .join(Care, Care.client_id == User.id)
        .where(
            User.id == client_id,
            User.role == Role.CLIENT.value,
            Care.therapist_id == therapist.id,
            Care.ended_at.is_(None),
        )
    )
    if client is None:
        audit.denied("client", client_id)
        abort(404)
    return client


def get_assignment_or_404(client: User, assignment_id: int) -> Assignment:
    """Homework in one of this client's plans (the client already passed get_client_or_404)."""
    assignment = plans.find_assignment(database.session(), client.id, assignment_id)
    if assignment is None:
        abort(404)
    return assignment


def open_plan_or_404(client: User) -> Plan:
    plan = plans.open_plan(database.session(), client)
    if plan is None:
        abort(404)
    return plan


def get_note_or_404(client: User, note_id: int) -> SessionNote:
    """A note of this client; a draft only for the therapist who started it."""
    therapist = signed_in_user()
    note = database.session().scalar(
        sa.select(SessionNote).where(
            SessionNote.id == note_id,
            SessionNote.client_id == client.id,
            sa.or_(SessionNote.status == "signed", SessionNote.therapist_id == therapist.id),
        )
    )
    if note is None:
        audit.denied("session_note", note_id)
        abort(404)
    return note


def get_alert_or_404(client: User, alert_id: int) -> Alert:
    """An alert of this client (who already passed get_client_or_404)."""
    alert = database.session().scalar(
        sa.select(Alert).where(Alert.id == alert_id, Alert.client_id == client.id)
    )
    if alert is None:
        abort(404)
    return alert


def get_note_revision_or_404(note: SessionNote, revision_id: int) -> SessionNoteRevision:
    """A version of this note that was set aside in a conflict (the note passed its loader)."""
    revision = database.session().scalar(
        sa.select(SessionNoteRevision).where(
            SessionNoteRevision.id == revision_id,
            SessionNoteRevision.note_id == note.id,
            SessionNoteRevision.reason == "conflict",
        )
    )
    if revision is None:
        abort(404)
    return revision
