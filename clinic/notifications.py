"""Reminders and notifications by email: what to send (planning) and sending it (delivery).

Planning writes one `Notification` row per intended message, keyed so that it can exist only
once (a client's reminder for a day, a therapist's digest for a day, an alert, an invitation).
Delivery claims rows one at a time with a conditional UPDATE, so two senders running at once
never take the same row, writes the email from what is true at that moment, and records the
outcome. Emails say only that there is something to look at and link to the app: no clinical
content and no client's name (a mailbox is often seen by others, on a lock screen or a shared
computer), and no name at all in the salutation, because display names are often full names."""

from __future__ import annotations

import datetime as dt
import email.policy
import hashlib
import secrets
import smtplib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import accounts, mail, plans, questionnaires
from .db import utcnow
from .models import (
    Administration,
    Alert,
    Assignment,
    Care,
    Invitation,
    Notification,
    Plan,
    PlanStatus,
    Practice,
    Role,
    Submission,
    SubmissionStatus,
    User,
)
from .timeutil import zone_of

# A claimed row whose sender has not finished after this long is taken by the next run.
LEASE = dt.timedelta(minutes=10)
# Temporary failures are retried after 2, 6, 18, 54 and 162 minutes, then reported as failed.
MAX_ATTEMPTS = 6
FIRST_RETRY = dt.timedelta(minutes=2)
# New alerts are emailed to the treating therapist on the next run; an alert older than this
# (email was off, or the sender was not running) is left to the daily summary instead.
ALERT_EMAIL_WITHIN = dt.timedelta(days=2)
# A questionnaire the therapist sends outside the plan counts as due this many days later.
AD_HOC_DUE_DAYS = 2
UNSUBSCRIBE_SALT = "clinic.reminders-off"

KIND_WORDS = {
    "invitation": "Invitation",
    "reminder": "Reminder to a client",
    "digest": "Daily summary",
    "alert": "Alert",
}
STATUS_WORDS = {
    "pending": "Waiting",
    "sending": "Being sent",
    "sent": "Sent",
    "failed": "Failed",
    "cancelled": "Not needed any more",
    "expired": "Too late to send",
}


# --- practice settings ----------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    offsets: tuple[int, ...]
    window_days: int
    quiet_from: int
    quiet_until: int
    digest_hour: int


def parse_offsets(text: str) -> tuple[int, ...]:
    """Reminder days as typed by an admin ("-1, 0, +2"): whole days from -7 to 30, at most
    six. Raises ValueError with a message for the person."""
    values: set[int] = set()
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            value = int(part)
        except ValueError:
            raise ValueError(
                f"“{part[:20]}” is not a whole number of days. Use numbers like -1, 0, 2."
            ) from None
        if not -7 <= value <= 30:
            raise ValueError("Use days from -7 (a week before) to 30 (a month after).")
        values.add(value)
    if len(values) > 6:
        raise ValueError("Use at most six reminder days.")
    return tuple(sorted(values))


def format_offsets(offsets: Iterable[int]) -> str:
    """The stored form of reminder days: "-1,0,2"."""
    return ",".join(str(v) for v in offsets)


def schedule_of(practice: Practice) -> Schedule:
    """The practice's reminder settings (a stored value that no longer parses means none)."""
    try:
        offsets = parse_offsets(practice.reminder_days or "")
    except ValueError:
        offsets = ()
    return Schedule(
        offsets,
        practice.reminder_window_days,
        practice.quiet_from_hour,
        practice.quiet_until_hour,
        practice.digest_hour,
    )


def is_quiet(local: dt.datetime, schedule: Schedule) -> bool:
    """Whether a local time falls in the practice's quiet hours (which may span midnight)."""
    start, end, hour = schedule.quiet_from, schedule.quiet_until, local.hour
    if start == end:
        return False
    return start <= hour < end if start < end else hour >= start or hour < end


def first_moment_allowed(now: dt.datetime, zone: ZoneInfo, schedule: Schedule) -> dt.datetime:
    """Now, or the end of the quiet hours the person is in (their own time zone)."""
    local = now.astimezone(zone)
    if not is_quiet(local, schedule):
        return now
    end = dt.datetime.combine(local.date(), dt.time(schedule.quiet_until), zone)
    if end <= local:
        end = dt.datetime.combine(local.date() + dt.timedelta(days=1), end.time(), zone)
    return end.astimezone(dt.UTC)


def end_of_day(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """Midnight at the end of a local day, in UTC."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone).astimezone(dt.UTC)


# --- unsubscribe links ----------------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(client: User) -> str:
    """A signed token that turns one client's reminders off without signing in. It carries a
    fingerprint of the account (id and creation time) besides the id, so that it can never
    act on a different account that later gets the same id (e.g. a rebuilt demo)."""
    return _serializer().dumps([client.id, _fingerprint(client)])


def _fingerprint(client: User) -> str:
    return hashlib.sha256(f"{client.id}:{client.created_at.isoformat()}".encode()).hexdigest()[:16]


def client_for_token(db: Session, token: str) -> User | None:
    """The client an unsubscribe token was made for, or None if it is not genuine."""
    try:
        client_id, fingerprint = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(client_id, int):
        return None
    client = db.get(User, client_id)
    if client is None or client.role != Role.CLIENT.value or _fingerprint(client) != fingerprint:
        return None
    return client


# --- what a client is reminded of -----------------------------------------------------------


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


# --- planning -------------------------------------------------------------------------------


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
    return _add(db, rows)


def alert_emails(db: Session, now: dt.datetime) -> list[Notification]:
    """One email to the treating therapist for each alert raised in the last ALERT_EMAIL_WITHIN
    (the alert itself is a fact the rules left; older open alerts are counted in the daily
    summary). A row that exists already is not planned again (its key is the alert's id)."""
    rows = db.execute(
        sa.select(Alert.id, Care.therapist_id, User.practice_id)
        .join(Care, sa.and_(Care.client_id == Alert.client_id, Care.ended_at.is_(None)))
        .join(User, User.id == Care.therapist_id)
        .where(Alert.opened_at > now - ALERT_EMAIL_WITHIN, Alert.opened_at <= now)
        .order_by(Alert.id)
    )
    return [
        Notification(
            practice_id=practice_id,
            recipient_id=therapist_id,
            kind="alert",
            key=f"alert:{alert_id}",
            object_id=alert_id,
            next_attempt_at=now,
        )
        for alert_id, therapist_id, practice_id in rows
    ]


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


# --- writing the emails ---------------------------------------------------------------------


class NotNeeded(Exception):
    """The message has nothing left to say (done, acknowledged, switched off)."""


# Lines may run to SMTP's own limit, so that a long link stays one line in the text and the
# List-Unsubscribe header stays a plain <URL> (RFC 2369) instead of being encoded.
MAIL_POLICY = email.policy.SMTP.clone(max_line_length=998)


def _message(subject: str, to: str, lines: list[str]) -> EmailMessage:
    message = EmailMessage(policy=MAIL_POLICY)
    message["Subject"] = subject
    message["To"] = to
    message.set_content("\n".join(lines) + "\n")
    return message


def _long_date(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def _when(due: dt.date, today: dt.date) -> str:
    days = (due - today).days
    if days == 0:
        return "due today"
    if days == 1:
        return "due tomorrow"
    if days > 1:
        return f"due on {_long_date(due)}"
    return f"that was due on {_long_date(due)}"


def _reminder(db: Session, row: Notification, now: dt.datetime) -> EmailMessage:
    client = row.recipient
    if not wants_reminders(client):
        raise NotNeeded("reminders are switched off")
    day = dt.date.fromisoformat(row.key.rsplit(":", 1)[1])
    items = reminder_items(db, client, day, schedule_of(client.practice))
    if not items:
        raise NotNeeded("everything has been done")
    groups = Counter((i.due_on, i.kind) for i in items)
    lines = ["Hello,", "", "This is a reminder from Bedrock, the app you use with your therapist."]
    lines += ["", "Waiting for you:"]
    for (due_on, kind), n in sorted(groups.items()):
        what = {
            "homework": ("Homework", f"{n} pieces of homework"),
            "questionnaire": ("A questionnaire", f"{n} questionnaires"),
            "check_in": ("Your weekly check-in", "Your weekly check-in"),
        }[kind][0 if n == 1 else 1]
        lines.append(f"- {what} {_when(due_on, day)}")
    lines += [
        "",
        f"Sign in to see {'it' if len(items) == 1 else 'them'}: {mail.link('client.home')}",
        "",
        "There is no need to reply to this email.",
        "",
        "If you would rather not get these reminders, you can turn them off here:",
        mail.link("auth.reminders_off", token=unsubscribe_token(client)),
    ]
    subject = "A reminder from Bedrock" if len(items) == 1 else "Reminders from Bedrock"
    message = _message(subject, client.email or "", lines)
    off = mail.link("auth.reminders_off", token=unsubscribe_token(client))
    # RFC 2369 and RFC 8058: mail programs offer their own one-click "unsubscribe".
    message["List-Unsubscribe"] = f"<{off}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message


@dataclass(frozen=True)
class Digest:
    new_homework: int
    new_questionnaires: int
    overdue_homework: int
    to_review: int
    open_alerts: int

    @property
    def empty(self) -> bool:
        return not any(
            (
                self.new_homework,
                self.new_questionnaires,
                self.overdue_homework,
                self.to_review,
                self.open_alerts,
            )
        )


def digest_for(db: Session, therapist: User, now: dt.datetime) -> Digest:
    """Counts for a therapist's daily summary, over their clients in care."""
    in_care = sa.select(Care.client_id).where(
        Care.therapist_id == therapist.id, Care.ended_at.is_(None)
    )
    since = now - dt.timedelta(days=1)
    new_homework = db.scalar(
        sa.select(sa.func.count())
        .select_from(Submission)
        .where(Submission.client_id.in_(in_care), Submission.submitted_at >= since)
    )
    to_review = db.scalar(
        sa.select(sa.func.count())
        .select_from(Submission)
        .where(
            Submission.client_id.in_(in_care),
            Submission.status == SubmissionStatus.SUBMITTED.value,
        )
    )
    new_questionnaires = db.scalar(
        sa.select(sa.func.count())
        .select_from(Administration)
        .where(Administration.client_id.in_(in_care), Administration.completed_at >= since)
    )
    open_alerts = db.scalar(
        sa.select(sa.func.count())
        .select_from(Alert)
        .where(Alert.client_id.in_(in_care), Alert.acknowledged_at.is_(None))
    )
    sent = sa.select(Submission.assignment_id).where(
        Submission.status != SubmissionStatus.DRAFT.value
    )
    overdue = 0
    for assignment, client in db.execute(
        sa.select(Assignment, User)
        .join(Plan, Plan.id == Assignment.plan_id)
        .join(User, User.id == Plan.client_id)
        .where(
            Plan.client_id.in_(in_care),
            Plan.status == PlanStatus.ACTIVE.value,
            Assignment.removed_at.is_(None),
            Assignment.id.not_in(sent),
        )
    ):
        if assignment.due_on < now.astimezone(zone_of(client)).date():
            overdue += 1
    return Digest(
        new_homework or 0, new_questionnaires or 0, overdue, to_review or 0, open_alerts or 0
    )


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _digest(db: Session, row: Notification, now: dt.datetime) -> EmailMessage:
    therapist = row.recipient
    if not therapist.is_active:
        raise NotNeeded("the account is no longer active")
    counts = digest_for(db, therapist, now)
    if counts.empty:
        raise NotNeeded("nothing to report")
    day = dt.date.fromisoformat(row.key.rsplit(":", 1)[1])
    lines = ["Hello,", "", "Here is your Bedrock summary. Names and details are in the app.", ""]
    if counts.open_alerts:
        lines.append(f"- {_plural(counts.open_alerts, 'open alert', 'open alerts')} to look at")
    if counts.new_homework:
        lines.append(
            f"- {_plural(counts.new_homework, 'piece', 'pieces')} of homework sent in the last day"
        )
    if counts.to_review:
        lines.append(f"- {_plural(counts.to_review, 'piece', 'pieces')} of homework to review")
    if counts.new_questionnaires:
        lines.append(
            f"- {_plural(counts.new_questionnaires, 'questionnaire', 'questionnaires')} "
            "answered in the last day"
        )
    if counts.overdue_homework:
        lines.append(
            f"- {_plural(counts.overdue_homework, 'piece', 'pieces')} of homework past the due date"
        )
    lines += ["", f"Your caseload: {mail.link('therapist.caseload')}"]
    return _message(f"Your Bedrock summary for {_long_date(day)}", therapist.email or "", lines)


def _alert(db: Session, row: Notification, now: dt.datetime) -> EmailMessage:
    therapist = row.recipient
    if not therapist.is_active:
        raise NotNeeded("the account is no longer active")
    alert = db.get(Alert, row.object_id) if row.object_id else None
    if alert is None or alert.acknowledged_at is not None:
        raise NotNeeded("the alert has been acknowledged")
    care = db.scalar(
        sa.select(Care).where(
            Care.client_id == alert.client_id,
            Care.therapist_id == therapist.id,
            Care.ended_at.is_(None),
        )
    )
    if care is None:
        raise NotNeeded("the client is no longer in this therapist's care")
    opened = alert.opened_at.astimezone(zone_of(therapist))
    lines = [
        "Hello,",
        "",
        f"One of your clients' answers raised an alert at {opened:%H:%M} on "
        f"{_long_date(opened.date())} ({opened.tzname()}).",
        "For privacy this email does not say who or why. Please sign in to look at it:",
        mail.link("therapist.alert", client_id=alert.client_id, alert_id=alert.id),
    ]
    return _message("An alert in Bedrock needs your attention", therapist.email or "", lines)


def _invitation(db: Session, row: Notification, now: dt.datetime) -> EmailMessage:
    person = row.recipient
    invitation = db.get(Invitation, row.object_id) if row.object_id else None
    if invitation is None or row.secret is None or invitation.state(now) != "pending":
        raise NotNeeded("the link has been used, withdrawn or has expired")
    if not person.email or not person.active:
        raise NotNeeded("there is no email address, or the account is deactivated")
    zone = zone_of(person)
    expires = invitation.expires_at.astimezone(zone)
    link = mail.link("auth.accept_invitation", token=row.secret)
    until = f"{expires:%H:%M} on {_long_date(expires.date())}"
    if person.has_accepted:
        subject = "Choose a new Bedrock password"
        lines = [
            "Hello,",
            "",
            f"{person.practice.name} has made you a link to choose a new Bedrock password.",
            f"It works once, until {until}:",
            link,
            "",
            "If you did not ask for this, you can ignore this email; your password stays the same.",
        ]
    else:
        subject = "Your invitation to Bedrock"
        lines = [
            "Hello,",
            "",
            f"{person.practice.name} has invited you to Bedrock.",
            "Choose your password with this link. It works once, until " + until + ":",
            link,
            "",
            "If you were not expecting this, you can ignore this email.",
        ]
    return _message(subject, person.email, lines)


WRITERS = {"reminder": _reminder, "digest": _digest, "alert": _alert, "invitation": _invitation}


# --- delivery -------------------------------------------------------------------------------


@dataclass
class Outcome:
    planned: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    expired: int = 0

    def summary(self) -> str:
        return (
            f"Planned {self.planned}, sent {self.sent}, will retry {self.retrying}, "
            f"failed {self.failed}, not needed {self.cancelled}, too late {self.expired}."
        )


def _claimable(now: dt.datetime) -> Any:
    return sa.or_(
        sa.and_(Notification.status == "pending", Notification.next_attempt_at <= now),
        sa.and_(Notification.status == "sending", Notification.claimed_until < now),
    )


def _claim(db: Session, row_id: int, now: dt.datetime) -> str | None:
    """Take one row for this sender (a conditional UPDATE: only one sender can win it)."""
    claim = secrets.token_hex(8)
    result = db.execute(
        sa.update(Notification)
        .where(Notification.id == row_id, _claimable(now))
        .values(
            status="sending",
            attempts=Notification.attempts + 1,
            claimed_until=now + LEASE,
            claim=claim,
        )
        .execution_options(synchronize_session=False)
    )
    db.commit()
    return claim if result.rowcount == 1 else None  # type: ignore[attr-defined]


def _finish(db: Session, row_id: int, claim: str, **values: Any) -> None:
    """Record the outcome, unless another sender has taken the row over meanwhile."""
    if values.get("status") in ("sent", "cancelled", "expired"):
        values["secret"] = None  # an invitation's token is not kept once the email is settled
    db.execute(
        sa.update(Notification)
        .where(Notification.id == row_id, Notification.claim == claim)
        .values(claimed_until=None, claim=None, **values)
        .execution_options(synchronize_session=False)
    )
    db.commit()


def _message_id(row: Notification) -> str:
    # The same row always gets the same Message-ID, so that in the rare case of a sender
    # stopping between handing over a message and recording it, the copy is recognisable.
    digest = hashlib.sha256(row.key.encode()).hexdigest()[:16]
    return f"<bedrock.{row.id}.{digest}@{mail.sender_domain(current_app.config)}>"


def _permanent(error: Exception) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return False


def retry_at(row_attempts: int, now: dt.datetime) -> dt.datetime:
    """When a failed attempt is tried again: 2, 6, 18, 54, 162 minutes later."""
    return now + FIRST_RETRY * 3 ** max(row_attempts - 1, 0)


def deliver(db: Session, mailer: mail.Mailer, now: dt.datetime, limit: int = 500) -> Outcome:
    """Send every message that is due, one claimed row at a time."""
    outcome = Outcome()
    ids = list(
        db.scalars(
            sa.select(Notification.id)
            .where(_claimable(now))
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(limit)
        )
    )
    db.rollback()  # end the read, so that each claim starts its own writing transaction
    for row_id in ids:
        claim = _claim(db, row_id, now)
        if claim is None:
            continue  # another sender has it
        row = db.scalars(
            sa.select(Notification)
            .where(Notification.id == row_id)
            .execution_options(populate_existing=True)
        ).one()
        if row.expires_at is not None and row.expires_at <= now:
            db.rollback()
            _finish(db, row_id, claim, status="expired")
            outcome.expired += 1
            continue
        try:
            message = WRITERS[row.kind](db, row, now)
        except NotNeeded as reason:
            db.rollback()
            _finish(db, row_id, claim, status="cancelled", last_error=str(reason)[:300])
            outcome.cancelled += 1
            continue
        except Exception as error:  # a fault of ours: report it, keep sending the others
            current_app.logger.exception("could not write notification %s", row_id)
            db.rollback()
            text = f"Bedrock could not write this email ({type(error).__name__}); see the log."
            _finish(db, row_id, claim, status="failed", last_error=text)
            outcome.failed += 1
            continue
        message["Message-ID"] = _message_id(row)
        attempts = row.attempts
        db.rollback()  # no transaction stays open while the mail server is talked to
        try:
            mailer.send(message)
        except (smtplib.SMTPException, OSError) as error:
            text = f"{type(error).__name__}: {error}"[:300]
            if _permanent(error) or attempts >= MAX_ATTEMPTS:
                _finish(db, row_id, claim, status="failed", last_error=text)
                outcome.failed += 1
            else:
                _finish(
                    db,
                    row_id,
                    claim,
                    status="pending",
                    last_error=text,
                    next_attempt_at=retry_at(attempts, now),
                )
                outcome.retrying += 1
            mailer.close()
            continue
        _finish(db, row_id, claim, status="sent", sent_at=utcnow(), last_error=None)
        outcome.sent += 1
    return outcome


def run(db: Session, now: dt.datetime | None = None) -> Outcome:
    """Plan and then send everything due: what `flask --app clinic send-notifications` does."""
    now = now or utcnow()
    if db.get_bind().dialect.name == "sqlite":
        # Planning reads and then writes: take the write lock first so that a second sender
        # running at the same moment waits its turn instead of failing.
        db.connection(execution_options={"clinic_write": True})
    planned = plan(db, now)
    db.commit()
    with mail.Mailer(current_app.config) as mailer:
        outcome = deliver(db, mailer, now)
    outcome.planned = planned
    return outcome


def retry(db: Session, row: Notification) -> None:
    """Put a failed message back in the queue (the admin fixed the address or the server)."""
    if row.status != "failed":
        return
    row.status = "pending"
    row.next_attempt_at = utcnow()
    row.attempts = 0
    db.flush()


def outbox(
    db: Session, practice_id: int
) -> tuple[list[sa.Row[tuple[Notification, User]]], list[sa.Row[tuple[Notification, User]]]]:
    """The practice's emails still open (waiting, sending, failed) and the latest 50 done."""
    base = (
        sa.select(Notification, User)
        .join(User, User.id == Notification.recipient_id)
        .where(Notification.practice_id == practice_id)
    )
    open_rows = db.execute(
        base.where(Notification.status.in_(["pending", "sending", "failed"])).order_by(
            Notification.status == "failed", Notification.next_attempt_at, Notification.id
        )
    ).all()
    done_rows = db.execute(
        base.where(Notification.status.not_in(["pending", "sending", "failed"]))
        .order_by(Notification.id.desc())
        .limit(50)
    ).all()
    return list(open_rows), list(done_rows)
