"""The audit trail: one append-only event for every view, creation, change, signature,
export and refused access of clinical data. Events name records by type and id and never
hold clinical content."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy.orm import Session

from . import db as database
from .models import AuditEvent, User

ACTIONS = ("view", "create", "change", "sign", "export", "erase", "denied")
# Security events (ASVS 4.0.3 7.1/7.2, HIPAA 164.312(b)): who signed in, failed or was locked
# out, signed out, was given or used a sign-in link, was deactivated or changed two-step.
SECURITY_ACTIONS = (
    "sign_in",
    "sign_in_failed",
    "sign_in_code_failed",
    "sign_in_locked",
    "sign_out",
    "issue_link",
    "accept_link",
    "revoke_link",
    "deactivate",
    "reactivate",
)
ALL_ACTIONS = ACTIONS + SECURITY_ACTIONS

# How events read in a client's own access log.
ACTION_WORDS = {
    "view": "looked at",
    "export": "downloaded a copy of",
    "issue_link": "issued a new sign-in link for",
}
OBJECT_WORDS = {
    "client": "your record",
    "submission": "your homework",
    "worksheet": "your homework (as a printable worksheet)",
    "session_note": "a session note",
    "alert": "an alert about your answers",
    "record_bundle": "your record",
    "account": "your account",
}


def _client_ip() -> str | None:
    # Behind CLINIC_TRUSTED_PROXIES proxies, ProxyFix (create_app) puts the client's address here.
    return request.remote_addr if has_request_context() else None


def record(
    action: str,
    object_type: str,
    object_id: int | None = None,
    *,
    subject_id: int | None = None,
    outcome: str = "allowed",
    user: User | None = None,
    practice_id: int | None = None,
    anonymous: bool = False,
) -> None:
    """Write one audit event; it is stored even if the request then fails or is refused.
    Outside a request (the email sender) nobody is signed in: name the practice instead.
    `anonymous`: the actor is not known (a refused sign-in), whoever is signed in."""
    if user is None and not anonymous and current_user and current_user.is_authenticated:
        user = current_user._get_current_object()
    event = AuditEvent(
        at=database.utcnow(),
        practice_id=user.practice_id if user else practice_id,
        user_id=user.id if user else None,
        # Staff are named; a client is only a number, so that erasing their record leaves no
        # name behind in this append-only log.
        user_name=user.display_name if user and user.role != "client" else None,
        role=user.role if user else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        subject_id=subject_id,
        outcome=outcome,
        ip=_client_ip(),
    )
    database.persist_always(event)


def denied(object_type: str, object_id: int | None = None) -> None:
    """A refused attempt to reach a record (it answered 404)."""
    record("denied", object_type, object_id, outcome="denied")


@dataclass(frozen=True)
class AccessLine:
    at: dt.datetime
    who: str
    role: str
    words: str


def access_log(db: Session, client: User, limit: int = 200) -> list[AccessLine]:
    """Who else has looked at or exported this client's record, newest first."""
    rows = db.scalars(
        sa.select(AuditEvent)
        .where(
            AuditEvent.subject_id == client.id,
            AuditEvent.action.in_(tuple(ACTION_WORDS)),
            sa.or_(AuditEvent.user_id.is_(None), AuditEvent.user_id != client.id),
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return [
        AccessLine(
            e.at,
            e.user_name or "Someone",
            e.role or "",
            f"{ACTION_WORDS.get(e.action, e.action)} {OBJECT_WORDS.get(e.object_type, 'your record')}",
        )
        for e in rows
    ]


def search(
    db: Session,
    practice_id: int,
    *,
    user_id: int | None = None,
    action: str | None = None,
    outcome: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    before_id: int | None = None,
    limit: int = 200,
) -> list[AuditEvent]:
    """The practice's audit events, newest first, filtered."""
    stmt = sa.select(AuditEvent).where(AuditEvent.practice_id == practice_id)
    if user_id is not None:
        stmt = stmt.where(AuditEvent.user_id == user_id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if outcome:
        stmt = stmt.where(AuditEvent.outcome == outcome)
    if since:
        stmt = stmt.where(AuditEvent.at >= dt.datetime.combine(since, dt.time(), dt.UTC))
    if until:
        stmt = stmt.where(
            AuditEvent.at < dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC)
        )
    if before_id:
        stmt = stmt.where(AuditEvent.id < before_id)
    return list(db.scalars(stmt.order_by(AuditEvent.id.desc()).limit(limit)))


def csv_row(event: AuditEvent, staff: dict[int, str] | None = None) -> list[object]:
    """One audit event as a row of the CSV export (in the order of its header); `staff` names
    the staff accounts an event is about (clients stay numbers)."""
    target = (staff or {}).get(event.object_id or 0, "") if event.object_type == "account" else ""
    return [
        event.id,
        event.at.isoformat(),
        event.user_id,
        event.user_name,
        event.role,
        event.action,
        event.object_type,
        event.object_id,
        target,
        event.subject_id,
        event.outcome,
        event.ip,
    ]
