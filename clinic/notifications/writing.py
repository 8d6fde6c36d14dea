"""Writing the emails from what is true when they are sent. They say only that there is something
to look at and link to the app: no clinical content and no client's name (a mailbox is often
seen by others, on a lock screen or a shared computer), and no name at all in the salutation,
because display names are often full names."""

from __future__ import annotations

import datetime as dt
import email.policy
from collections import Counter
from dataclasses import dataclass
from email.message import EmailMessage

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .. import accounts, alerts, mail
from ..models import (
    Administration,
    Alert,
    Assignment,
    Care,
    Invitation,
    Notification,
    Plan,
    PlanStatus,
    Submission,
    SubmissionStatus,
    User,
)
from ..timeutil import zone_of
from .planning import reminder_items, wants_reminders
from .settings import schedule_of, unsubscribe_token


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


def _open_set(db: Session, row: Notification) -> list[Alert]:
    """The open alerts of the set of answers a message is about, most urgent first."""
    alert = db.get(Alert, row.object_id) if row.object_id else None
    found = (
        [a for a in alerts.same_answers(db, alert) if a.acknowledged_at is None] if alert else []
    )
    if not found:
        raise NotNeeded("the alert has been acknowledged")
    return found


def _subject(alert: Alert) -> str:
    """What an alert email says in its subject: the kind of alert, never who."""
    words = alerts.CATEGORY_WORDS.get(alert.kind, "an alert")
    if alert.kind in ("item9", "red_flag"):
        return f"Urgent: {words}; sign in to see who"
    return f"{words[0].upper()}{words[1:]} needs your attention; sign in to see who"


def _alert(db: Session, row: Notification, now: dt.datetime) -> EmailMessage:
    therapist = row.recipient
    if not therapist.is_active:
        raise NotNeeded("the account is no longer active")
    found = _open_set(db, row)
    if not accounts.is_treating(db, therapist, found[0].client_id):
        raise NotNeeded("the client is no longer in this therapist's care")
    first = found[0]
    opened = first.opened_at.astimezone(zone_of(therapist))
    lines = [
        "Hello,",
        "",
        f"One of your clients' answers raised an alert ({alerts.CATEGORY_WORDS[first.kind]}) "
        f"at {opened:%H:%M} on {_long_date(opened.date())} ({opened.tzname()}).",
        "For privacy this email does not say who. Please sign in to look at it:",
        mail.link("therapist.alert", client_id=first.client_id, alert_id=first.id),
    ]
    return _message(_subject(first), therapist.email or "", lines)


def _escalation(db: Session, row: Notification, now: dt.datetime) -> EmailMessage:
    contact = row.recipient
    if not contact.is_active:
        raise NotNeeded("the account is no longer active")
    first = _open_set(db, row)[0]
    client = db.get(User, first.client_id)
    treating = accounts.therapist_of(db, client) if client else None
    who = f"a client of {treating.display_name}" if treating else "a client"
    opened = first.opened_at.astimezone(zone_of(contact))
    hours = contact.practice.alert_response_hours
    if treating is not None and treating.id == contact.id:
        link = mail.link("therapist.alert", client_id=first.client_id, alert_id=first.id)
    else:
        link = mail.link("admin.people" if contact.role == "admin" else "auth.index")
    lines = [
        "Hello,",
        "",
        f"An alert ({alerts.CATEGORY_WORDS[first.kind]}) raised at {opened:%H:%M} on "
        f"{_long_date(opened.date())} ({opened.tzname()}) for {who} has not been acknowledged "
        f"within {hours} hours.",
        "You are one of your practice's safety contacts. For privacy this email does not say "
        "who the client is. Please make sure it is followed up today: speak to the treating "
        "therapist, or follow your practice's safety procedure.",
        link,
    ]
    return _message("Overdue: an alert nobody has acknowledged", contact.email or "", lines)


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


WRITERS = {
    "reminder": _reminder,
    "digest": _digest,
    "alert": _alert,
    "escalation": _escalation,
    "invitation": _invitation,
}
