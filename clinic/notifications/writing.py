"""Writing the emails from what is true when they are sent. They say only that there is something
to look at and link to the app: no clinical content and no client's name (a mailbox is often
seen by others, on a lock screen or a shared computer), and no name at all in the salutation,
because display names are often full names."""

from __future__ import annotations

import datetime as dt
import email.policy
import unicodedata
from collections import Counter
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import jinja2
import sqlalchemy as sa
from flask import current_app
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
    Practice,
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


def _one_line(value: object) -> object:
    """Every value a template prints stays on one line: a name or a practice's name with a
    line break or a control character in it cannot start a line of its own in the text, nor
    a header in the subject."""
    if not isinstance(value, str):
        return value
    return " ".join(
        "".join(
            " " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in value
        ).split()
    )


def _long_date(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def _clock(moment: dt.datetime, zone: bool = True) -> str:
    """ "09:30 on Tuesday 3 March (GMT)", in the time zone the moment is given in."""
    text = f"{moment:%H:%M} on {_long_date(moment.date())}"
    return f"{text} ({moment.tzname()})" if zone else text


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _templates() -> jinja2.Environment:
    """The app's templates (templates/email/*.txt), for plain text: no HTML escaping, every
    printed value kept to one line, and a name the template does not get is an error."""
    environment = current_app.extensions.get("clinic.email_templates")
    if environment is None:
        environment = current_app.jinja_env.overlay(
            autoescape=False,
            finalize=_one_line,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        environment.filters.update(long_date=_long_date, clock=_clock, plural=_plural)
        current_app.extensions["clinic.email_templates"] = environment
    return environment


def _message(name: str, to: str, practice: Practice, **values: Any) -> EmailMessage:
    """The email written by templates/email/NAME.txt: its `subject` block (made one line) and
    its `body` block; `discreet` is the practice's choice of wording without clinical words."""
    template = _templates().get_template(f"email/{name}.txt")
    context = template.new_context({"discreet": practice.discreet_emails, **values})
    subject = " ".join("".join(template.blocks["subject"](context)).split())
    text = "".join(template.blocks["body"](context)).strip("\n") + "\n"
    message = EmailMessage(policy=MAIL_POLICY)
    message["Subject"] = subject
    message["To"] = to
    message.set_content(text)
    return message


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
    by_day = Counter(i.due_on for i in items)
    off = mail.link("auth.reminders_off", token=unsubscribe_token(client))
    message = _message(
        "reminder",
        client.email or "",
        client.practice,
        total=len(items),
        groups=[{"due": due, "kind": kind, "n": n} for (due, kind), n in sorted(groups.items())],
        by_day=[{"due": due, "n": n} for due, n in sorted(by_day.items())],
        when=lambda due: _when(due, day),
        home=mail.link("client.home"),
        off=off,
    )
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


def _digest(db: Session, row: Notification, now: dt.datetime) -> EmailMessage:
    therapist = row.recipient
    if not therapist.is_active:
        raise NotNeeded("the account is no longer active")
    counts = digest_for(db, therapist, now)
    if counts.empty:
        raise NotNeeded("nothing to report")
    day = dt.date.fromisoformat(row.key.rsplit(":", 1)[1])
    practice = therapist.practice
    return _message(
        "digest",
        therapist.email or "",
        practice,
        day=day,
        counts=counts,
        link=mail.link("auth.index" if practice.discreet_emails else "therapist.caseload"),
    )


def _open_set(db: Session, row: Notification) -> list[Alert]:
    """The open alerts of the set of answers a message is about, most urgent first."""
    alert = db.get(Alert, row.object_id) if row.object_id else None
    found = (
        [a for a in alerts.same_answers(db, alert) if a.acknowledged_at is None] if alert else []
    )
    if not found:
        raise NotNeeded("the alert has been acknowledged")
    return found


def _alert(db: Session, row: Notification, now: dt.datetime) -> EmailMessage:
    therapist = row.recipient
    if not therapist.is_active:
        raise NotNeeded("the account is no longer active")
    found = _open_set(db, row)
    if not accounts.is_treating(db, therapist, found[0].client_id):
        raise NotNeeded("the client is no longer in this therapist's care")
    first = found[0]
    practice = therapist.practice
    if practice.discreet_emails:
        link = mail.link("auth.index")
    else:
        link = mail.link("therapist.alert", client_id=first.client_id, alert_id=first.id)
    return _message(
        "alert",
        therapist.email or "",
        practice,
        urgent=first.kind in ("item9", "red_flag"),
        kind_words=alerts.CATEGORY_WORDS.get(first.kind, "an alert"),
        opened=first.opened_at.astimezone(zone_of(therapist)),
        link=link,
    )


def _escalation(db: Session, row: Notification, now: dt.datetime) -> EmailMessage:
    contact = row.recipient
    if not contact.is_active:
        raise NotNeeded("the account is no longer active")
    first = _open_set(db, row)[0]
    client = db.get(User, first.client_id)
    treating = accounts.therapist_of(db, client) if client else None
    practice = contact.practice
    if treating is not None and treating.id == contact.id and not practice.discreet_emails:
        link = mail.link("therapist.alert", client_id=first.client_id, alert_id=first.id)
    else:
        link = mail.link("admin.people" if contact.role == "admin" else "auth.index")
    return _message(
        "escalation",
        contact.email or "",
        practice,
        kind_words=alerts.CATEGORY_WORDS[first.kind],
        opened=first.opened_at.astimezone(zone_of(contact)),
        treating=treating.display_name if treating else None,
        hours=practice.alert_response_hours,
        link=link,
    )


def _invitation(db: Session, row: Notification, now: dt.datetime) -> EmailMessage:
    person = row.recipient
    invitation = db.get(Invitation, row.object_id) if row.object_id else None
    if invitation is None or row.secret is None or invitation.state(now) != "pending":
        raise NotNeeded("the link has been used, withdrawn or has expired")
    if not person.email or not person.active:
        raise NotNeeded("there is no email address, or the account is deactivated")
    return _message(
        "invitation",
        person.email,
        person.practice,
        reset=person.has_accepted,
        practice_name=person.practice.name,
        expires=invitation.expires_at.astimezone(zone_of(person)),
        link=mail.link("auth.accept_invitation", token=row.secret),
    )


WRITERS = {
    "reminder": _reminder,
    "digest": _digest,
    "alert": _alert,
    "escalation": _escalation,
    "invitation": _invitation,
}
