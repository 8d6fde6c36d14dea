"""Planning: one Notification row per intended message, keyed so that it can exist only once (a
client's reminder for a day, a therapist's digest for a day, an alert, an invitation). Facts
become emails here: unfinished work, new alerts, issued links."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import accounts, alerts, audit, plans, questionnaires
from ..db import utcnow
from ..models import (
    Alert,
    Assignment,
    Care,
    Notification,
    PlanStatus,
    Practice,
    Role,
    Submission,
    SubmissionStatus,
    User,
)
from ..timeutil import zone_of
from .settings import Schedule, end_of_day, first_moment_allowed, schedule_of

# A questionnaire the therapist sends outside the plan counts as due this many days later.
AD_HOC_DUE_DAYS = 2


# New alerts are emailed to the treating therapist on the next run; an alert older than this
# (email was off, or the sender was not running) is left to the daily summary instead.
ALERT_EMAIL_WITHIN = dt.timedelta(days=2)
# Unacknowledged alerts older than this are not escalated by email any more (see escalations).
ESCALATE_WITHIN = dt.timedelta(days=14)


@dataclass(frozen=True)
class Item:
    kind: str  # homework, questionnaire, check_in
    due_on: dt.date


def _steps_today(due_on: dt.date, day: dt.date, schedule: Schedule, last: dt.date) -> bool:
    """Whether `day` is one of the reminder days for something due on `due_on`."""
    offset = (day - due_on).days
    return offset in schedule.offsets and offset <= schedule.window_days and day <= last


def reminder_items(db: Session, client: User, day: dt.date, schedule: Schedule) -> list[Item]:
    """Unfinished work of the client's active plan (and questionnaires the therapist sent)
    whose reminder day is `day`, the client's local date."""
    items: list[Item] = []
    plan = plans.open_plan(db, client)
    if plan is not None and plan.status == PlanStatus.ACTIVE.value:
        done = {
            a
            for (a,) in db.execute(
                sa.select(Submission.assignment_id)
                .join(Assignment, Assignment.id == Submission.assignment_id)
                .where(
                    Assignment.plan_id == plan.id,
                    Submission.status != SubmissionStatus.DRAFT.value,
                )
            )
        }
        for a in plan.assignments:
            last = a.due_on + dt.timedelta(days=60)
            if (
                a.removed_at is None
                and a.id not in done
                and _steps_today(a.due_on, day, schedule, last)
            ):
                items.append(Item("homework", a.due_on))
        where = plans.position(plan, day)
        if where.started:
            dues, check_in_due = questionnaires.open_dues(db, plan, where.week)
            for d in dues:
                due = plans.default_due(plan, d.week)
                # Open until a week after it was due, as on the client's page.
                if d.done is None and _steps_today(due, day, schedule, due + dt.timedelta(7)):
                    items.append(Item("questionnaire", due))
            due = plans.default_due(plan, where.week)
            if (
                check_in_due
                and questionnaires.check_in_for(db, plan, where.week) is None
                and _steps_today(due, day, schedule, due)
            ):
                items.append(Item("check_in", due))
    zone = zone_of(client)
    for request in questionnaires.pending_requests(db, client):
        due = request.requested_at.astimezone(zone).date() + dt.timedelta(days=AD_HOC_DUE_DAYS)
        if _steps_today(due, day, schedule, due + dt.timedelta(days=60)):
            items.append(Item("questionnaire", due))
    return items


def wants_reminders(client: User) -> bool:
    """Whether reminders may go to this client at all."""
    return bool(
        client.role == Role.CLIENT.value
        and client.is_active
        and client.email
        and client.reminders_wanted
        and client.reminders_allowed
    )


def _add(db: Session, rows: list[Notification]) -> int:
    """Insert the rows whose key is new; a key another sender planned meanwhile is skipped."""
    if not rows:
        return 0
    existing = set(
        db.scalars(sa.select(Notification.key).where(Notification.key.in_([r.key for r in rows])))
    )
    added = 0
    for row in rows:
        if row.key in existing:
            continue
        try:
            with db.begin_nested():
                db.add(row)
        except IntegrityError:
            continue
        added += 1
    return added


def plan(db: Session, now: dt.datetime) -> int:
    """Plan today's reminders and digests for every practice, and emails about new alerts;
    returns how many are new."""
    rows: list[Notification] = []
    for practice in db.scalars(sa.select(Practice).order_by(Practice.id)):
        schedule = schedule_of(practice)
        clients = db.scalars(
            sa.select(User)
            .join(Care, Care.client_id == User.id)
            .where(
                User.practice_id == practice.id,
                User.role == Role.CLIENT.value,
                User.active.is_(True),
                User.password_hash.is_not(None),
                User.email.is_not(None),
                User.reminders_wanted.is_(True),
                User.reminders_allowed.is_(True),
                Care.ended_at.is_(None),
            )
            .order_by(User.id)
        )
        for client in clients if schedule.offsets else []:
            zone = zone_of(client)
            day = now.astimezone(zone).date()
            if reminder_items(db, client, day, schedule):
                rows.append(
                    Notification(
                        practice_id=practice.id,
                        recipient_id=client.id,
                        kind="reminder",
                        key=f"reminder:{client.id}:{day.isoformat()}",
                        next_attempt_at=first_moment_allowed(now, zone, schedule),
                        expires_at=end_of_day(day, zone),
                    )
                )
        therapists = db.scalars(
            sa.select(User)
            .where(
                User.practice_id == practice.id,
                User.role == Role.THERAPIST.value,
                User.active.is_(True),
                User.password_hash.is_not(None),
            )
            .order_by(User.id)
        )
        for therapist in therapists:
            zone = zone_of(therapist)
            local = now.astimezone(zone)
            if local.hour >= schedule.digest_hour:
                rows.append(
                    Notification(
                        practice_id=practice.id,
                        recipient_id=therapist.id,
                        kind="digest",
                        key=f"digest:{therapist.id}:{local.date().isoformat()}",
                        next_attempt_at=now,
                        expires_at=end_of_day(local.date(), zone),
                    )
                )
    rows += alert_emails(db, now)
    rows += escalations(db, now)
    return _add(db, rows)


def alert_emails(db: Session, now: dt.datetime) -> list[Notification]:
    """One email to the treating therapist for each set of answers (a questionnaire or a
    check-in) that raised alerts in the last ALERT_EMAIL_WITHIN, however many alerts it
    raised; the alert is a fact the rules left, planned here whatever the web process's email
    settings were. Older open alerts are counted in the daily summary. Its key is the first
    alert's id, so a set of answers is never emailed twice."""
    rows = db.execute(
        sa.select(Alert, Care.therapist_id, User.practice_id)
        .join(Care, sa.and_(Care.client_id == Alert.client_id, Care.ended_at.is_(None)))
        .join(User, User.id == Care.therapist_id)
        .where(Alert.opened_at > now - ALERT_EMAIL_WITHIN, Alert.opened_at <= now)
        .order_by(Alert.id)
    )
    planned: dict[tuple[str, int], Notification] = {}
    for alert, therapist_id, practice_id in rows:
        planned.setdefault(
            alerts.source_key(alert),
            Notification(
                practice_id=practice_id,
                recipient_id=therapist_id,
                kind="alert",
                key=f"alert:{alert.id}",
                object_id=alert.id,
                next_attempt_at=now,
            ),
        )
    return list(planned.values())


def escalations(db: Session, now: dt.datetime) -> list[Notification]:
    """Alerts nobody acknowledged within the practice's response time go to its safety
    contacts (accounts.safety_contacts), once per set of answers; the alert records when, and
    the audit log says so. Alerts older than ESCALATE_WITHIN are left to the admin's count of
    overdue alerts (so that switching email on does not send a flood about old ones)."""
    rows = db.execute(
        sa.select(Alert, Practice)
        .join(Care, sa.and_(Care.client_id == Alert.client_id, Care.ended_at.is_(None)))
        .join(User, User.id == Care.therapist_id)
        .join(Practice, Practice.id == User.practice_id)
        .where(
            Alert.acknowledged_at.is_(None),
            Alert.escalated_at.is_(None),
            Alert.opened_at > now - ESCALATE_WITHIN,
        )
        .order_by(Alert.id)
    )
    planned: list[Notification] = []
    done: set[tuple[str, int]] = set()
    contacts_of: dict[int, list[User]] = {}  # one query per practice, not per alert
    for alert, practice in rows:
        if alert.opened_at > now - dt.timedelta(hours=practice.alert_response_hours):
            continue
        if practice.id not in contacts_of:
            contacts_of[practice.id] = accounts.safety_contacts(db, practice.id)
        contacts = contacts_of[practice.id]
        if not contacts:
            continue  # nobody to tell yet; tried again on the next run
        alert.escalated_at = now
        if alerts.source_key(alert) in done:
            continue
        done.add(alerts.source_key(alert))
        for contact in contacts:
            planned.append(
                Notification(
                    practice_id=practice.id,
                    recipient_id=contact.id,
                    kind="escalation",
                    key=f"escalation:{alert.id}:{contact.id}",
                    object_id=alert.id,
                    next_attempt_at=now,
                )
            )
        audit.record(
            "create", "escalation", alert.id, subject_id=alert.client_id, practice_id=practice.id
        )
    db.flush()
    return planned


def queue_invitation(db: Session, issued: accounts.IssuedInvitation) -> Notification:
    """Queue the email that carries a just-issued invitation (or password reset) link."""
    invitation = issued.invitation
    row = Notification(
        practice_id=invitation.user.practice_id,
        recipient_id=invitation.user_id,
        kind="invitation",
        key=f"invitation:{invitation.id}",
        object_id=invitation.id,
        next_attempt_at=utcnow(),
        expires_at=invitation.expires_at,
        secret=issued.token,
    )
    db.add(row)
    db.flush()
    return row
