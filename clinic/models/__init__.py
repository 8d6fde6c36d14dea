"""The data model: typed SQLAlchemy 2.0 models, one module per part of the record. Invariants are
CHECK and UNIQUE constraints; clinical free text is encrypted at rest (db.ClinicalText).

people     practices, people and their sign-in, care, invitations
plans      the 12-week plan, its homework, answers and their revisions, content snapshots
measures   questionnaires, weekly check-ins and the alerts they raise
goals      the client's own goals, their wordings and their 0-10 ratings
notes      session notes, addenda, revisions and event notes
screens    the suitability and safety screen before (and during) a plan
tracking   the "not on track" signal and its clinical-support checklist
records    the audit trail, sign-in throttling, erasures and the email outbox"""

from .goals import GOAL_RATING_CONTEXTS, Goal, GoalRating, GoalWording
from .measures import ALERT_KINDS, SLOTS, Administration, Alert, CheckIn
from .notes import (
    ATTENDANCE,
    SESSION_FORMATS,
    Addendum,
    EventNote,
    SessionNote,
    SessionNoteRevision,
)
from .people import ROLE_VALUES, Care, Invitation, Practice, RecoveryCode, Role, User
from .plans import (
    COMPLETION_VALUES,
    Assignment,
    ContentSnapshot,
    Plan,
    PlanStatus,
    Submission,
    SubmissionRevision,
    SubmissionStatus,
)
from .records import (
    NOTIFICATION_KINDS,
    NOTIFICATION_STATUSES,
    POSTGRES_TRIGGERS,
    SQLITE_TRIGGERS,
    AuditEvent,
    Erasure,
    KeyCheck,
    Notification,
    SignInThrottle,
)
from .screens import SCREEN_OUTCOMES, Screen
from .tracking import SIGNAL_STATES, ProgressSignal

__all__ = [
    "ALERT_KINDS",
    "ATTENDANCE",
    "COMPLETION_VALUES",
    "GOAL_RATING_CONTEXTS",
    "NOTIFICATION_KINDS",
    "NOTIFICATION_STATUSES",
    "POSTGRES_TRIGGERS",
    "ROLE_VALUES",
    "SCREEN_OUTCOMES",
    "SESSION_FORMATS",
    "SIGNAL_STATES",
    "SLOTS",
    "SQLITE_TRIGGERS",
    "Addendum",
    "Administration",
    "Alert",
    "Assignment",
    "AuditEvent",
    "Care",
    "CheckIn",
    "ContentSnapshot",
    "Erasure",
    "EventNote",
    "Goal",
    "GoalRating",
    "GoalWording",
    "Invitation",
    "KeyCheck",
    "Notification",
    "Plan",
    "PlanStatus",
    "Practice",
    "ProgressSignal",
    "RecoveryCode",
    "Role",
    "Screen",
    "SessionNote",
    "SessionNoteRevision",
    "SignInThrottle",
    "Submission",
    "SubmissionRevision",
    "SubmissionStatus",
    "User",
]
