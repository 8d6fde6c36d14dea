"""Reminders and notifications by email: facts (due homework, open alerts, issued links) turn
into planned messages, which are written and delivered by `flask --app clinic
send-notifications`. Only the web, the CLI and the demo import this package.

settings   the practice's reminder settings and the unsubscribe links
planning   what to send: one row per intended message, planned once
writing    the emails, written from what is true when they go
delivery   claiming, sending, retrying and recording each message"""

from .delivery import MAX_ATTEMPTS, Outcome, claim_row, deliver, outbox, retry, run
from .planning import alert_emails, plan, queue_invitation, reminder_items
from .settings import (
    KIND_WORDS,
    STATUS_WORDS,
    client_for_token,
    format_offsets,
    parse_offsets,
    unsubscribe_token,
)
from .writing import WRITERS, digest_for

__all__ = [
    "KIND_WORDS",
    "MAX_ATTEMPTS",
    "STATUS_WORDS",
    "WRITERS",
    "Outcome",
    "alert_emails",
    "claim_row",
    "client_for_token",
    "deliver",
    "digest_for",
    "format_offsets",
    "outbox",
    "parse_offsets",
    "plan",
    "queue_invitation",
    "reminder_items",
    "retry",
    "run",
    "unsubscribe_token",
]
