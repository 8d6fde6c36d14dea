"""Escalation ("know when to seek help", program.md): which answers raise an alert for the
treating therapist, and acknowledging them. An alert is a fact in the database; the
notifications planner turns new alerts into emails (no email is sent from here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import measures
from .db import utcnow
from .errors import DomainError
from .library import Worksheet
from .models import Administration, Alert, Care, CheckIn, Practice, Submission, User

# Weekly check-in distress at or above this raises an alert (program.md, measures.md).
DISTRESS_ALERT_AT = 9

# How urgent each kind is, most first: a self-harm answer leads, then a distress rating the
# client gave themselves, then a severe total, then a reliable deterioration (which comes late
# by nature). Emails and escalations name the most urgent alert of one set of answers.
SEVERITY = {"item9": 4, "red_flag": 3, "distress": 2, "severe": 1, "deterioration": 0}
# Words for an email, which never says who or gives the answers.
CATEGORY_WORDS = {
    "item9": "a self-harm answer",
    "distress": "a high distress rating",
    "severe": "a severe score",
    "deterioration": "a reliable deterioration",
    "red_flag": "a red flag on a worksheet",
}

KIND_WORDS = {
    "item9": "Self-harm item answered",
    "severe": "Severe score",
    "deterioration": "Reliable deterioration",
    "distress": "High distress",
    "red_flag": "Red flag on a worksheet",
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
            (flag, f"{inst.short_name} item {item.key} answered {value} (of {item.high})", value)
        )
    if result.severe:
        raised.append(("severe", f"{inst.short_name} total {result.total}: {result.band}", 0))
    if baseline is not None and baseline.total is not None:
        rc = inst.reliable_change(baseline.total, result.total)
        if rc is not None and rc.category == measures.DETERIORATION:
            raised.append(
                (
                    "deterioration",
                    f"{inst.short_name} {baseline.total} → {result.total} since baseline "
                    f"(RCI {rc.rci:.2f}, Jacobson & Truax)",
                    0,
                )
            )
    alerts = [
        Alert(
            client_id=administration.client_id,
            kind=kind,
            detail=detail[:200],
            administration_id=administration.id,
            grade=grade,
        )
        for kind, detail, grade in raised
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
        grade=check_in.distress,
    )
    db.add(alert)
    db.flush()
    return [alert]


def urgency(alert: Alert) -> tuple[int, int, float, int]:
    """Sort key: the most urgent kind first; within a kind the higher grade (item 9 "nearly
    every day" before "more than half the days" before "several days"); then the newest."""
    return (
        -SEVERITY.get(alert.kind, 0),
        -(alert.grade or 0),
        -alert.opened_at.timestamp(),
        -alert.id,
    )


def client_alerts(db: Session, client: User) -> list[Alert]:
    """All of a client's alerts: open ones first, the most urgent and newest first."""
    found = db.scalars(sa.select(Alert).where(Alert.client_id == client.id)).all()
    return sorted(found, key=lambda a: (a.acknowledged_at is not None, *urgency(a)))


# What a therapist records when acknowledging an alert, besides the note: the questions a
# careful service asks after a risk answer (risk assessed? safety plan? contact made, how and
# when? next step?). The words are the ones the form and the reports show.
ACK_CHOICES: dict[str, dict[str, str]] = {
    "risk_review": {
        "assessed": "Risk assessed",
        "not_needed": "No risk assessment needed",
        "planned": "Risk assessment planned",
    },
    "safety_plan": {
        "reviewed": "Safety plan reviewed",
        "assigned": "Safety plan assigned",
        "not_needed": "No safety plan needed",
    },
    "contact": {
        "phone": "Phoned",
        "video": "Video call",
        "in_person": "Seen in person",
        "message": "Messaged",
        "not_reached": "Tried, not reached",
        "not_yet": "Not contacted yet",
    },
}


@dataclass(frozen=True)
class Acknowledgement:
    note: str
    risk_review: str
    safety_plan: str
    contact: str
    contacted_on: date | None = None
    next_step: str | None = None


def acknowledge(db: Session, alert: Alert, therapist: User, ack: Acknowledgement) -> None:
    """Close an alert with what the therapist did: the structured answers and a note; who
    and when are kept. A contact (or an attempt) needs its date."""
    if alert.acknowledged_at is not None:
        raise DomainError("This alert has already been acknowledged.")
    for name, choices in ACK_CHOICES.items():
        if getattr(ack, name) not in choices:
            raise DomainError("Choose one of the answers.", name)
    if ack.contact != "not_yet" and ack.contacted_on is None:
        raise DomainError("Give the date of the contact (or the attempt).", "contacted_on")
    if not ack.note.strip():
        raise DomainError("Write what you did or decided.", "note")
    alert.acknowledged_at = utcnow()
    alert.acknowledged_by_id = therapist.id
    alert.note = ack.note.strip()
    alert.risk_review, alert.safety_plan = ack.risk_review, ack.safety_plan
    alert.contact, alert.contacted_on = ack.contact, ack.contacted_on
    alert.next_step = (ack.next_step or "").strip() or None
    db.flush()


def acknowledgement_words(alert: Alert) -> str:
    """The structured part of an acknowledgement in words, for the page and the reports."""
    parts = [ACK_CHOICES[name].get(getattr(alert, name) or "", "") for name in ACK_CHOICES]
    if alert.contacted_on is not None and alert.contact != "not_yet":
        parts[-1] += f" on {alert.contacted_on:%d %b %Y}"
    if alert.next_step:
        parts.append(f"Next step: {alert.next_step}")
    return "; ".join(p for p in parts if p)


def raised_by(
    db: Session,
    *,
    administration_id: int | None = None,
    check_in_id: int | None = None,
    submission_id: int | None = None,
) -> list[Alert]:
    """The alerts one questionnaire, check-in or piece of homework raised."""
    if administration_id is not None:
        source = Alert.administration_id == administration_id
    elif check_in_id is not None:
        source = Alert.check_in_id == check_in_id
    else:
        source = Alert.submission_id == submission_id
    return list(db.scalars(sa.select(Alert).where(source).order_by(Alert.id)))


def same_answers(db: Session, alert: Alert) -> list[Alert]:
    """Every alert raised by the same questionnaire or check-in as this one, most urgent first
    (one set of answers can raise several: item 9 and a severe total, say)."""
    kind, source_id = source_key(alert)
    found = raised_by(db, **{f"{kind}_id": source_id})
    return sorted(found, key=lambda a: (-SEVERITY.get(a.kind, 0), a.id))


def source_key(alert: Alert) -> tuple[str, int]:
    """Which set of answers raised an alert."""
    if alert.administration_id is not None:
        return ("administration", alert.administration_id)
    if alert.submission_id is not None:
        return ("submission", alert.submission_id)
    return ("check_in", alert.check_in_id or 0)


def open_counts(db: Session, practice: Practice, now: datetime) -> dict[int, tuple[int, int]]:
    """For the admin, who reads no clinical content: per treating therapist, how many of
    their clients' alerts are open, and how many of those are past the practice's response
    time. Counts only."""
    overdue_before = now - timedelta(hours=practice.alert_response_hours)
    rows = db.execute(
        sa.select(
            Care.therapist_id,
            sa.func.count(),
            sa.func.count().filter(Alert.opened_at <= overdue_before),
        )
        .join(Care, sa.and_(Care.client_id == Alert.client_id, Care.ended_at.is_(None)))
        .join(User, User.id == Care.therapist_id)
        .where(User.practice_id == practice.id, Alert.acknowledged_at.is_(None))
        .group_by(Care.therapist_id)
    )
    return {therapist_id: (open_, overdue) for therapist_id, open_, overdue in rows}


def for_submission(db: Session, submission: Submission, ws: Worksheet) -> list[Alert]:
    """A worksheet sent with an answer its definition flags (`alert_on`, e.g. "Red flag" on
    the red-flags worksheet: threats, control or violence seen today) raises one alert for the
    treating therapist. The detail names the worksheet, the answer and the rows, never the
    client's own words. A correction of the same homework raises no second alert."""
    if raised_by(db, submission_id=submission.id):
        return []
    flagged: list[str] = []
    for section in ws.sections:
        rows = submission.answers.get(section.key) if submission.answers else None
        rows = rows if isinstance(rows, list) else [rows] if isinstance(rows, dict) else []
        for i, row in enumerate(rows, start=1):
            for f in section.fields:
                if f.alert_on and row.get(f.key) in f.alert_on:
                    where = f"{section.row_label} {i}" if section.repeat else section.title
                    flagged.append(f"“{f.choice_label(row.get(f.key))}” for {where}")
    if not flagged:
        return []
    alert = Alert(
        client_id=submission.client_id,
        kind="red_flag",
        detail=f"{ws.title}: {'; '.join(flagged)}"[:200],
        submission_id=submission.id,
    )
    db.add(alert)
    db.flush()
    return [alert]


@dataclass(frozen=True)
class AlertView:
    """What a therapist needs to act on an alert: the answers that raised it, the other
    alerts of the same answers, every PHQ-9 item 9 answer of the client so far, and who
    acknowledged it."""

    raised_by: str  # "PHQ-9, answered Tue 03 Mar 2026" (the template formats dates)
    answers: list[tuple[str, str]]  # (question, answer) in the order asked
    flagged: frozenset[str]  # questions whose answer raised an alert
    together: list[Alert]  # alerts of the same answers, most urgent first
    item9_history: list[tuple[datetime, int, str]]  # (when, value, its words), newest first
    acknowledged_by: User | None
    acknowledgement: str  # what was done, in words (acknowledgement_words)
    submission: Submission | None


def alert_view(db: Session, alert: Alert) -> AlertView:
    """Everything the alert page shows besides the alert itself."""
    answers: list[tuple[str, str]] = []
    flagged: set[str] = set()
    raised_by = ""
    if alert.administration_id is not None:
        row = db.get(Administration, alert.administration_id)
        if row is not None and row.answers is not None:
            inst = measures.instrument(row.instrument_code)
            raised_by = inst.short_name
            flag_items = {f.item for f in inst.flags}
            for item in inst.items:
                value = row.answers.get(item.key)
                words = next((o.label for o in item.options if o.value == value), str(value))
                answers.append((f"{item.key}. {item.text}", f"{value}: {words}"))
                if item.key in flag_items and value:
                    flagged.add(f"{item.key}. {item.text}")
    elif alert.check_in_id is not None:
        check_in = db.get(CheckIn, alert.check_in_id)
        if check_in is not None:
            raised_by = f"Weekly check-in, week {check_in.week}"
            answers = [
                ("Able to trust the people close to me (0–10)", str(check_in.trust)),
                ("Distress this week (0–10)", str(check_in.distress)),
                ("Anything your therapist should know", check_in.note or "(nothing written)"),
            ]
            flagged = {"Distress this week (0–10)"}
    submission = db.get(Submission, alert.submission_id) if alert.submission_id else None
    by = db.get(User, alert.acknowledged_by_id) if alert.acknowledged_by_id else None
    return AlertView(
        raised_by=raised_by or ("A worksheet" if submission else ""),
        answers=answers,
        flagged=frozenset(flagged),
        together=[a for a in same_answers(db, alert) if a.id != alert.id],
        item9_history=item9_history(db, alert.client_id),
        acknowledged_by=by,
        acknowledgement=acknowledgement_words(alert),
        submission=submission,
    )


def item9_history(db: Session, client_id: int) -> list[tuple[datetime, int, str]]:
    """Every answer the client gave to PHQ-9 item 9 (thoughts of being better off dead or of
    hurting oneself), newest first: the pattern matters more than one answer."""
    inst = measures.instrument("phq9")
    item = next(i for i in inst.items if i.key == "9")
    rows = db.scalars(
        sa.select(Administration)
        .where(
            Administration.client_id == client_id,
            Administration.instrument_code == "phq9",
            Administration.completed_at.is_not(None),
        )
        .order_by(Administration.completed_at.desc())
    )
    history = []
    for row in rows:
        value = (row.answers or {}).get("9")
        if isinstance(value, int) and row.completed_at is not None:
            words = next((o.label for o in item.options if o.value == value), str(value))
            history.append((row.completed_at, value, words))
    return history
