"""Escalation ("know when to seek help", program.md): which answers raise an alert for the
treating therapist, and acknowledging them. An alert is a fact in the database; the
notifications planner turns new alerts into emails (no email is sent from here)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import measures
from .db import utcnow
from .errors import DomainError
from .models import Administration, Alert, CheckIn, User

# Weekly check-in distress at or above this raises an alert (program.md, measures.md).
DISTRESS_ALERT_AT = 9

KIND_WORDS = {
    "item9": "Self-harm item answered",
    "severe": "Severe score",
    "deterioration": "Reliable deterioration",
    "distress": "High distress",
}


def for_administration(
    db: Session, administration: Administration, baseline: Administration | None
) -> list[Alert]:
    """Alerts a completed questionnaire raises: PHQ-9 item 9 >= 1 whatever the total, a
    severe band, or reliable deterioration since the baseline (Jacobson & Truax 1991)."""
    inst = measures.instrument(administration.instrument_code)
    assert administration.answers is not None and administration.total is not None
    result = measures.score(inst.code, administration.answers)
    raised = []
    for flag in sorted(result.flags):
        item = next(i for f in inst.flags if f.name == flag for i in inst.items if i.key == f.item)
        value = administration.answers[item.key]
        raised.append(
            (flag, f"{inst.short_name} item {item.key} answered {value} (of {item.high})")
        )
    if result.severe:
        raised.append(("severe", f"{inst.short_name} total {result.total}: {result.band}"))
    if baseline is not None and baseline.total is not None:
        rc = inst.reliable_change(baseline.total, result.total)
        if rc is not None and rc.category == measures.DETERIORATION:
            raised.append(
                (
                    "deterioration",
                    f"{inst.short_name} {baseline.total} → {result.total} since baseline "
                    f"(RCI {rc.rci:.2f}, Jacobson & Truax)",
                )
            )
    alerts = [
        Alert(
            client_id=administration.client_id,
            kind=kind,
            detail=detail[:200],
            administration_id=administration.id,
        )
        for kind, detail in raised
    ]
    db.add_all(alerts)
    db.flush()
    return alerts


def for_check_in(db: Session, check_in: CheckIn) -> list[Alert]:
    """A weekly distress rating of 9 or 10 raises an alert."""
    if check_in.distress < DISTRESS_ALERT_AT:
        return []
    alert = Alert(
        client_id=check_in.client_id,
        kind="distress",
        detail=f"Weekly check-in distress {check_in.distress} of 10",
        check_in_id=check_in.id,
    )
    db.add(alert)
    db.flush()
    return [alert]


def client_alerts(db: Session, client: User) -> list[Alert]:
    """All of a client's alerts, open ones first, newest first."""
    return list(
        db.scalars(
            sa.select(Alert)
            .where(Alert.client_id == client.id)
            .order_by(Alert.acknowledged_at.is_not(None), Alert.opened_at.desc(), Alert.id.desc())
        )
    )


def acknowledge(db: Session, alert: Alert, therapist: User, note: str) -> None:
    """Close an alert with the therapist's note; who and when are kept."""
    if alert.acknowledged_at is not None:
        raise DomainError("This alert has already been acknowledged.")
    if not note.strip():
        raise DomainError("Write what you did or decided.", "note")
    alert.acknowledged_at = utcnow()
    alert.acknowledged_by_id = therapist.id
    alert.note = note.strip()
    db.flush()


def raised_by(
    db: Session, *, administration_id: int | None = None, check_in_id: int | None = None
) -> list[Alert]:
    """The alerts one questionnaire or one check-in raised."""
    source = (
        Alert.administration_id == administration_id
        if administration_id is not None
        else Alert.check_in_id == check_in_id
    )
    return list(db.scalars(sa.select(Alert).where(source).order_by(Alert.id)))
