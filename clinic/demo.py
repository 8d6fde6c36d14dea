"""The demo practice: a small, believable practice to explore Bedrock with. Fictional people."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import accounts, alerts, goals, measures, notes, plans, questionnaires, tracking
from . import answers as engine
from .library import Worksheet
from .models import (
    Administration,
    Alert,
    CheckIn,
    Notification,
    Plan,
    Practice,
    ProgressSignal,
    Role,
    User,
)

DEMO_PRACTICE = "Harbour Street Therapy (demo)"
DEMO_DOMAIN = "demo.bedrock.test"  # .test is reserved (RFC 2606): no mail can ever go there

THERAPISTS = [
    ("Dr Maya Okafor", "maya.okafor"),
    ("Sam Lindqvist", "sam.lindqvist"),
]

# (therapist index, name or pseudonym, email local part or None, plan week or None, accepted,
#  how the homework stands). Spread over the program so every state can be seen.
CLIENTS = [
    (0, "Jordan P.", "jordan", 1, True, "fresh"),
    (0, "Alex Moreno", "alex", 4, True, "behind"),
    (0, "Priya", "priya", 7, True, "keen"),
    (0, "Client K", None, None, False, ""),
    (1, "Tomasz W.", "tomasz", 10, True, "to_review"),
    (1, "Rosa", "rosa", 12, True, "keen"),
    (1, "Ellis Grant", "ellis", 5, True, "paused"),
]
# The demo answers were written for a plan whose first session was this day; their dates
# are moved to each demo client's own plan.
ANSWERS_FIRST_SESSION = dt.date(2026, 2, 16)


@dataclass
class DemoDetails:
    practice: str
    password: str
    accounts: list[tuple[str, str, str]] = field(default_factory=list)
    pending_invitations: list[tuple[str, str]] = field(default_factory=list)


def build_demo(db: Session, password: str) -> DemoDetails:
    """Delete any earlier demo practice and build a fresh one; nothing else is touched."""
    db.execute(sa.delete(Practice).where(Practice.is_demo.is_(True)))
    db.expunge_all()
    practice = Practice(
        name=DEMO_PRACTICE,
        is_demo=True,
        crisis_contacts=(
            "Harbour Street Therapy out-of-hours line: 0100 000 0000 (a demo number).\n"
            "In an emergency, call your local emergency number or go to the nearest "
            "emergency department."
        ),
        abuse_helplines=(
            "Domestic abuse helpline: 0100 000 0001, free, day and night (a demo number)."
        ),
    )
    db.add(practice)
    details = DemoDetails(practice=DEMO_PRACTICE, password=password)

    def email(local: str) -> str:
        return f"{local}@{DEMO_DOMAIN}"

    admin = accounts.create_user(
        db, practice, Role.ADMIN, "Practice admin", email("admin"), password
    )
    details.accounts.append(("admin", admin.display_name, email("admin")))
    therapists = []
    for name, mailbox in THERAPISTS:
        therapist = accounts.create_user(
            db, practice, Role.THERAPIST, name, email(mailbox), password
        )
        therapists.append(therapist)
        details.accounts.append(("therapist", name, email(mailbox)))
    password_hash = accounts.hash_password(password)
    today = dt.date.today()
    for index, name, local, week, accepted, story in CLIENTS:
        therapist = therapists[index]
        client = accounts.add_client(db, therapist, name, email(local) if local else None)
        if accepted:
            client.password_hash = password_hash
            details.accounts.append(
                ("client", f"{name} ({therapist.display_name})", email(local or ""))
            )
        else:
            issued = accounts.issue_invitation(db, client, therapist)
            details.pending_invitations.append((name, issued.token))
        if week is not None:
            _plan_with_history(db, client, therapist, today, week, story)
    db.flush()
    # The demo's answers are history: the alerts they raised are no news to email about.
    db.execute(
        sa.delete(Notification).where(
            Notification.practice_id == practice.id, Notification.kind == "alert"
        )
    )
    return details


def _plan_with_history(
    db: Session, client: User, therapist: User, today: dt.date, week: int, story: str
) -> None:
    """Start a plan `week` weeks ago and fill in the homework a client at that point has."""
    first = today - dt.timedelta(days=7 * (week - 1) + 2)
    _screen(db, client, therapist, first - dt.timedelta(days=7), story)
    plan = plans.start_plan(db, client, therapist, first, first.weekday())
    answers = _demo_answers()
    shift = plan.first_session - ANSWERS_FIRST_SESSION
    for a in plan.assignments:
        if a.week > week or (story == "behind" and a.week == week - 1):
            continue
        ws = plans.worksheet(db, a.worksheet_key)
        raw = _shift_dates(ws, engine.normalise_raw(ws, answers[a.worksheet_key]), shift)
        if a.week == week:
            if story in ("keen", "paused"):
                plans.save_draft(db, a, client, raw, 0)
            continue
        sub = plans.submit(db, a, client, raw, 0)
        sub.submitted_at = sub.saved_at = _moment(a.due_on - dt.timedelta(days=1))
        if not (story == "to_review" and a.week == week - 1):
            plans.review(
                db,
                sub,
                therapist,
                completion="all" if a.week % 3 else "most",
                quality=3 if a.week % 2 else 4,
                feedback=FEEDBACK[a.week % len(FEEDBACK)],
            )
            sub.reviewed_at = _moment(a.due_on + dt.timedelta(days=1))
    _measures_history(db, client, therapist, plan, week, story)
    _not_on_track(db, client, therapist, plan, story)
    _goals(db, client, therapist, plan, week, story)
    if week > 1:
        _session_notes(db, client, therapist, plan, week)
    if story == "paused":
        plans.pause_plan(db, plan, today - dt.timedelta(days=3), plan.version)


# Starting totals and the change per week of each demo story: most clients improve (on track:
# PHQ-9 and GAD-7 fall at least as fast as the expected path, tracking), one ("behind") stays
# where they were and so is not on track from week 3.
TRAJECTORY = {"phq9": (16, -1.3), "gad7": (13, -1.0), "wsas": (25, -1.3), "csi4": (9, 0.7)}
FLAT = {"behind", "fresh"}


def _screen(db: Session, client: User, therapist: User, on: dt.date, story: str) -> None:
    """The suitability screen before the plan: one demo client checks their partner's phone
    when anxious, so two partner-facing weeks are adapted; the others are suitable."""
    ws = plans.screening.definition(db)
    if story == "behind":
        areas = {
            "own_behaviour": {
                "status": "now",
                "notes": "Checks partner's phone and location when anxious, most evenings. "
                "Partner has said it feels controlling; no violence or threats by either. "
                "Agreed that cutting down checking is a target of the work.",
            },
            "partner_harm": {"status": "no"},
        }
        outcome = {
            "outcome": "with_changes",
            "week_7": "adapted",
            "week_8": "adapted",
            "changes": "Weeks 7 and 8 practised with a sibling first, not the partner, so the "
            "conversations do not turn into requests for reassurance.",
        }
    else:
        areas = {"trauma": {"status": "past", "notes": "A frightening break-up years ago."}}
        outcome = {"outcome": "suitable"}
    raw = plans.screening.answers_for(ws, outcome, areas)
    plans.screening.record(db, client, therapist, raw, on)


def _measures_history(
    db: Session, client: User, therapist: User, plan: Plan, week: int, story: str
) -> None:
    """Questionnaires and check-ins a client at this week would have answered."""
    for w in range(1, week + 1):
        when = _moment(plans.session_date(plan, w))
        if w == 1 and story == "behind":  # the baseline, answered before the first session
            when -= dt.timedelta(days=2)
        dues, check_in_due = questionnaires.scheduled(db, plan, w)
        for due in dues:
            if w == week and story not in ("keen", "to_review"):
                continue  # this week's are still to do
            start, slope = TRAJECTORY.get(due.code, (10, -0.5))
            inst = measures.instrument(due.code)
            target = round(start + (0 if story in FLAT else slope * (w - 1)))
            target = max(inst.min_total, min(inst.max_total, target))
            answers = _answers_for(inst, target)
            if story == "keen" and due.code == "phq9" and w == 5:
                answers["9"] = 1  # a passing thought of self-harm, followed up (see the alert)
            row, raised = questionnaires.complete(
                db, client, due.code, answers, client, plan=plan, week=w, slot=due.slot
            )
            row.completed_at = when
            for alert in raised:
                alert.opened_at = when
                if w < week:
                    alerts.acknowledge(db, alert, therapist, _demo_ack(alert, when))
                    alert.acknowledged_at = when + dt.timedelta(hours=20)
        if check_in_due and (w < week or story == "keen"):
            trust = min(10, 3 + (0 if story in FLAT else (w - 1) // 2))
            distress = 9 if story == "paused" and w == week - 1 else max(1, 7 - (w - 1) // 2)
            check_in, raised = questionnaires.record_check_in(
                db,
                client,
                plan,
                w,
                client,
                trust=trust,
                distress=distress,
                helpfulness=None if w == 1 else 2 + w % 3 // 2,
                note=None,
            )
            check_in.created_at = when
            for alert in raised:
                alert.opened_at = when


def _not_on_track(db: Session, client: User, therapist: User, plan: Plan, story: str) -> None:
    """Date the "not on track" signals the demo's answers raised by the scores that raised
    them (the answers are backdated after they are given); the therapist of the client who is
    behind has worked through the checklist for PHQ-9 the day after it was raised."""
    signals = db.scalars(sa.select(ProgressSignal).where(ProgressSignal.plan_id == plan.id))
    for signal in signals:
        row = db.get(Administration, signal.administration_id)
        if row is None or row.completed_at is None:
            continue
        signal.raised_on = signal.updated_on = row.completed_at.date()
        if signal.resolved_on is not None:
            signal.resolved_on = signal.raised_on
        if story == "behind" and signal.instrument_code == "phq9" and signal.state == "open":
            tracking.review(db, signal, CHECKLIST, therapist)
            signal.reviewed_at = row.completed_at + dt.timedelta(days=1)


CHECKLIST = {
    "alliance": {"answer": "sound", "note": "Says sessions feel useful; no strain named."},
    "motivation": {
        "answer": "homework",
        "note": "Skipped last week's worksheet: evenings taken up by checking.",
    },
    "support": {"answer": "event", "note": "Partner working away on weekdays since January."},
    "risk": {"answer": "no_change", "note": ""},
    "fit": {"answer": "adapt", "note": "Bring the checking log forward a week."},
    "next_step": "Talk openly about the scores next session; take to supervision on Thursday.",
}

# The client's own goals (Goal Based Outcomes) in three demo stories: words, the first rating
# and the change per week of the rating at each weekly check-in.
GOALS = {
    "keen": [("Reply to my sister within a day", 2, 1.0), ("Say yes to one plan a week", 3, 0.7)],
    "to_review": [("Tell a friend how I actually feel", 1, 0.8)],
    "behind": [("Get through an evening without checking where my partner is", 2, 0.0)],
}


def _goals(db: Session, client: User, therapist: User, plan: Plan, week: int, story: str) -> None:
    """Goals set in the first session, rated at every weekly check-in and in the latest
    session (the check-in ratings carry the check-in's week and day)."""
    if story not in GOALS:
        return
    start = _moment(plan.first_session)
    check_ins = db.scalars(
        sa.select(CheckIn).where(CheckIn.plan_id == plan.id).order_by(CheckIn.week)
    ).all()
    # Set no later than the first rating (the week-1 check-in can come before the session).
    start = min([start, *(c.created_at for c in check_ins[:1])])
    for words, first, slope in GOALS[story]:
        goal = goals.add_goal(db, client, plan, words, client)
        goal.created_at = goal.wordings[0].from_at = start
        for check_in in check_ins:
            value = round(min(10, first + slope * (check_in.week - 1)))
            goals.rate_at_check_in(db, check_in, {goal.id: value}, client)
        if week > 1:
            last = plans.session_date(plan, week - 1)
            value = round(min(10, first + slope * (week - 1)))
            goals.rate_in_session(db, goal, value, last, week - 1, therapist)


def _session_notes(db: Session, client: User, therapist: User, plan: Plan, week: int) -> None:
    """Signed notes for the last two sessions and an event note, as a therapist would have."""
    for back in (2, 1):
        if week - back < 1:
            continue
        note = notes.start_note(db, client, therapist, plans.session_date(plan, week - back))
        note.assessment = (
            "Engaged well. Mistrust still strongest around late replies; less checking."
        )
        note.plan = "Continue the program; review the next ladder step next session."
        note.homework_set = "This week's worksheet as planned."
        notes.sign(db, note, therapist)
    notes.add_event(
        db, client, therapist, plans.session_date(plan, max(1, week - 2)), "Started a new job"
    )


ACK_NOTES = {
    "item9": "Phoned the same evening. Passing thought, no plan or intent; safety plan reviewed.",
    "severe": "Discussed in session; no immediate risk. Keeping a close eye on it.",
    "deterioration": "Talked through a difficult fortnight at work; plan adjusted.",
    "distress": "Called to check in; agreed to bring this to the next session.",
}


def _demo_ack(alert: Alert, when: dt.datetime) -> alerts.Acknowledgement:
    """How the demo therapist followed an alert up: by phone the same day."""
    return alerts.Acknowledgement(
        note=ACK_NOTES[alert.kind],
        risk_review="assessed" if alert.kind == "item9" else "not_needed",
        safety_plan="reviewed" if alert.kind == "item9" else "not_needed",
        contact="phone",
        contacted_on=when.date(),
        next_step="Review at the next session.",
    )


def _answers_for(inst: measures.Instrument, total: int) -> dict[str, int]:
    """Item answers that add up to `total`, spread evenly over the items."""
    values = {item.key: item.low for item in inst.items}
    remaining = total - sum(values.values())
    while remaining > 0:
        for item in inst.items:
            if remaining and values[item.key] < item.high:
                values[item.key] += 1
                remaining -= 1
    if "9" in values and inst.code == "phq9":  # keep the self-harm item at 0 unless a story says
        spare = values["9"]
        values["9"] = 0
        for item in inst.items[:-1]:
            while spare and values[item.key] < item.high:
                values[item.key] += 1
                spare -= 1
    return values


FEEDBACK = [
    "Thank you for this. I can see how honestly you looked at it; let's talk it through.",
    "Really careful work. The part where you questioned the first thought stood out to me.",
    "You did this even though it was uncomfortable, and that matters. We'll build on it.",
]


@cache
def _demo_answers() -> dict[str, Any]:
    raw = resources.files("clinic").joinpath("demo_answers.toml").read_text(encoding="utf-8")
    return tomllib.loads(raw)


def _shift_dates(ws: Worksheet, raw: dict[str, Any], shift: dt.timedelta) -> dict[str, Any]:
    for section in ws.sections:
        rows = raw[section.key] if section.repeat else [raw[section.key]]
        for row in rows:
            for f in section.fields:
                if f.type == "date" and row.get(f.key):
                    row[f.key] = (dt.date.fromisoformat(row[f.key]) + shift).isoformat()
    return raw


def _moment(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(19, 30), tzinfo=dt.UTC)
