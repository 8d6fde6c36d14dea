"""The client blueprint: closed to everyone but clients, and the loaders. Everything a client
reaches is their own: each loader filters by the signed-in client in its query."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort

from .. import audit, plans
from .. import db as database
from ..models import Administration, Assignment, Plan, Role, SubmissionRevision
from ..timeutil import local_today
from ..web.gates import require_role, signed_in_user

bp = Blueprint("client", __name__, url_prefix="/me")
require_role(bp, Role.CLIENT)


def get_assignment_or_404(assignment_id: int) -> Assignment:
    """Homework in one of the signed-in client's own plans; anything else is 404."""
    assignment = plans.find_assignment(database.session(), signed_in_user().id, assignment_id)
    if assignment is None:
        audit.denied("assignment", assignment_id)
        abort(404)
    return assignment


def current_plan() -> Plan | None:
    db = database.session()
    client = signed_in_user()
    plan = plans.open_plan(db, client)
    if plan is None:  # show the most recent finished plan, if any
        plan = db.scalar(
            sa.select(Plan).where(Plan.client_id == client.id).order_by(Plan.id.desc()).limit(1)
        )
    return plan


def plan_week_or_404(week: int) -> Plan:
    """The client's open plan, for a week that has already begun."""
    db = database.session()
    client = signed_in_user()
    plan = plans.open_plan(db, client)
    if plan is None or not 1 <= week <= plans.position(plan, local_today(client)).week:
        abort(404)
    return plan


def get_request_or_404(administration_id: int) -> Administration:
    """A questionnaire sent to the signed-in client; anything else is 404."""
    row = database.session().scalar(
        sa.select(Administration).where(
            Administration.id == administration_id,
            Administration.client_id == signed_in_user().id,
        )
    )
    if row is None:
        audit.denied("administration", administration_id)
        abort(404)
    return row


def get_revision_or_404(assignment: Assignment, revision_id: int) -> SubmissionRevision:
    """Answers of this homework that were set aside in a conflict (the homework passed its
    loader, so they are the client's own)."""
    sub = assignment.submission
    revision = database.session().scalar(
        sa.select(SubmissionRevision).where(
            SubmissionRevision.id == revision_id,
            SubmissionRevision.submission_id == (sub.id if sub else None),
            SubmissionRevision.reason == "conflict",
        )
    )
    if sub is None or revision is None:
        abort(404)
    return revision
