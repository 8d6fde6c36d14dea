"""Accounts: people, care relationships, invitations and passwords (the domain rules)."""

from __future__ import annotations

import gzip
import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import TypedDict

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from .db import utcnow
from .errors import DomainError
from .models import AuditEvent, Care, Invitation, Practice, Role, User

# Argon2id with OWASP's Password Storage Cheat Sheet profile m=19 MiB, t=2, p=1 (one of its
# configurations of equal strength). The library's default (RFC 9106's 64 MiB, t=3) made every
# sign-in add 64 MiB to a worker's peak memory. Hashes made with other parameters still verify
# and are re-hashed with these at the next sign-in.


class HashParameters(TypedDict):
    time_cost: int
    memory_cost: int  # KiB
    parallelism: int


HASH_PARAMETERS: HashParameters = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}
_hasher = PasswordHasher(**HASH_PARAMETERS)
# Verified when an email is unknown, so that a miss costs as much time as a wrong password:
# the hash of a random password nobody kept, made once with HASH_PARAMETERS (a test checks
# they still match) rather than at every import, where it cost each process 50 ms and 19 MiB.
_DUMMY_HASH = "$argon2id$v=19$m=19456,t=2,p=1$0gSszciPx1sKhib84JDKdQ$Ie+9ww7ucc8do3hdfmVZDJkMKmPOj6t+Wcd+1R/Kb+E"

PASSWORD_MIN = 12
PASSWORD_MAX = 128


class AccountError(DomainError):
    """A rule about accounts was broken."""


class DuplicateEmail(AccountError):
    def __init__(self) -> None:
        super().__init__("An account with this email address already exists.", "email")


class InvitationUnusable(AccountError):
    """The invitation link is unknown, expired, revoked or already used."""

    def __init__(self, state: str) -> None:
        super().__init__(f"invitation {state}")
        self.state = state


# --- passwords -----------------------------------------------------------------------------


@cache
def common_passwords() -> frozenset[str]:
    """The 10,000 most common passwords (see clinic/data/README.md for the source)."""
    raw = resources.files("clinic").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(line.strip().lower() for line in gzip.decompress(raw).decode().splitlines())


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None. NIST SP 800-63B 5.1.1.2 rules:
    a length range, any Unicode, no composition rules, and no commonly used passwords."""
    length = len(unicodedata.normalize("NFKC", password))
    if length > PASSWORD_MAX:
        return f"Use at most {PASSWORD_MAX} characters."
    if length < PASSWORD_MIN:
        return f"Use at least {PASSWORD_MIN} characters (you have {length})."
    if password.strip().lower() in common_passwords():
        return "This password is one of the most commonly used ones. Choose another."
    return None


def hash_password(password: str) -> str:
    """Argon2id hash of a password that has already passed password_problem()."""
    if len(password) > PASSWORD_MAX * 4:  # never spend hashing time on absurd input
        raise AccountError("Password too long.", "password")
    return _hasher.hash(unicodedata.normalize("NFKC", password))


def check_password(user: User | None, password: str) -> bool:
    """Verify a password in constant-ish time whether or not the account exists."""
    if len(password) > PASSWORD_MAX * 4:
        return False
    candidate = unicodedata.normalize("NFKC", password)
    stored = user.password_hash if user is not None and user.password_hash else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, candidate)
    except (VerificationError, InvalidHashError):
        return False
    if stored is None or user is None:
        return False
    if _hasher.check_needs_rehash(stored):
        user.password_hash = _hasher.hash(candidate)
    return True


def generate_password() -> str:
    """A random password that passes the policy, for CLI-created accounts."""
    return secrets.token_urlsafe(15)


# --- people ----------------------------------------------------------------------------------


def normalise_email(email: str | None) -> str | None:
    """Trim and case-fold an email address; empty means none."""
    email = (email or "").strip().lower()
    return email or None


def find_by_email(db: Session, email: str | None) -> User | None:
    """The account with this email address, if any."""
    email = normalise_email(email)
    if email is None:
        return None
    return db.scalar(sa.select(User).where(User.email == email))


def _ensure_email_free(db: Session, email: str | None) -> None:
    if email is not None and find_by_email(db, email) is not None:
        raise DuplicateEmail()


def create_user(
    db: Session,
    practice: Practice,
    role: Role,
    display_name: str,
    email: str | None,
    password: str | None = None,
) -> User:
    """Create an account; with no password it waits for an invitation to be accepted."""
    email = normalise_email(email)
    if role is not Role.CLIENT and email is None:
        raise AccountError("An email address is required.", "email")
    _ensure_email_free(db, email)
    user = User(
        practice=practice,
        role=role.value,
        display_name=display_name.strip(),
        email=email,
        password_hash=hash_password(password) if password is not None else None,
    )
    db.add(user)
    db.flush()
    return user


def change_email(db: Session, user: User, email: str) -> None:
    """Give a person a new sign-in address (case-folded; no other account may have it)."""
    new = normalise_email(email)
    if new is None:
        raise AccountError("Enter the new email address.", "email")
    if new == user.email:
        raise AccountError("That is already your email address.", "email")
    _ensure_email_free(db, new)
    user.email = new
    db.flush()


def set_active(db: Session, user: User, *, active: bool) -> None:
    """Deactivate (ending every session and pending invitation) or reactivate an account."""
    user.active = active
    if not active:
        user.end_all_sessions()
        revoke_pending(db, user)
    db.flush()


def add_client(db: Session, therapist: User, display_name: str, email: str | None) -> User:
    """Create a client in the therapist's practice and open the therapist's care of them."""
    client = create_user(db, therapist.practice, Role.CLIENT, display_name, email)
    db.add(Care(therapist_id=therapist.id, client_id=client.id))
    db.flush()
    return client


def transfer_care(db: Session, client: User, to: User, reason: str) -> Care:
    """Hand a client over to another therapist of the same practice: the open care ends
    (with the reason) and a new one starts. Their plan, homework and notes go with them."""
    if to.role != Role.THERAPIST.value or to.practice_id != client.practice_id or not to.active:
        raise AccountError("Choose an active therapist of this practice.", "therapist")
    current = db.scalar(sa.select(Care).where(Care.client_id == client.id, Care.ended_at.is_(None)))
    if current is not None and current.therapist_id == to.id:
        raise AccountError("This client is already in that therapist's care.", "therapist")
    reason = reason.strip()
    if not reason:
        raise AccountError("Give a reason for the handover.", "reason")
    if current is not None:
        current.ended_at = utcnow()
        current.ended_reason = reason[:200]
        db.flush()
    care = Care(therapist_id=to.id, client_id=client.id)
    db.add(care)
    db.flush()
    return care


def clients_in_care(db: Session, therapist: User) -> list[User]:
    """The therapist's current clients, by name."""
    stmt = (
        sa.select(User)
        .join(Care, Care.client_id == User.id)
        .where(Care.therapist_id == therapist.id, Care.ended_at.is_(None))
        .order_by(sa.func.lower(User.display_name), User.id)
    )
    return list(db.scalars(stmt))


def therapist_of(db: Session, client: User) -> User | None:
    """The therapist currently caring for a client."""
    stmt = (
        sa.select(User)
        .join(Care, Care.therapist_id == User.id)
        .where(Care.client_id == client.id, Care.ended_at.is_(None))
    )
    return db.scalar(stmt)


# --- invitations -----------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    token: str  # shown once to the person who issued it; only the hash is stored


def issue_invitation(
    db: Session, user: User, created_by: User | None, valid_for: timedelta = timedelta(days=7)
) -> IssuedInvitation:
    """Create a fresh one-time link with which a person chooses a password: an invitation, or
    for someone who already has an account, a password reset. Any earlier pending link for
    them is revoked: only the newest one works."""
    now = utcnow()
    revoke_pending(db, user, now)
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        user_id=user.id,
        created_by_id=created_by.id if created_by else None,
        token_hash=_token_hash(token),
        created_at=now,
        expires_at=now + valid_for,
    )
    db.add(invitation)
    db.flush()
    return IssuedInvitation(invitation, token)


# How a sign-in link for someone else's account may reach its owner (ASVS 4.0.3 2.5.x; issue
# #21 item 1). Nobody may, alone, obtain a working sign-in for another active person:
# - an invitation (the person has never set a password) may be shown to the issuer, to pass
#   on: there is no sign-in to take over yet;
# - for an active account, with email set up, the link goes only to the owner's address and
#   is never shown on screen;
# - without email, a therapist may be shown a client's link to hand over in session (the
#   client is told at their next sign-ins and in their access log); an active colleague's
#   link is made only on the server (`flask --app clinic reset-link EMAIL`), by whoever runs
#   it, who can read the database anyway.
LINK_SHOW, LINK_EMAIL, LINK_SERVER = "show", "email", "server"
RESET_NOTICE_DAYS = 14


def link_route(person: User, email_on: bool) -> str:
    """How a new sign-in link for `person`, asked for by someone else, may reach them."""
    if not person.has_accepted:
        return LINK_SHOW
    if email_on and person.email:
        return LINK_EMAIL
    return LINK_SHOW if person.role == Role.CLIENT.value else LINK_SERVER


def reset_on_request(db: Session, email: str, valid_for: timedelta) -> IssuedInvitation | None:
    """A password reset link a client asked for themselves, to be emailed to their address
    only: for an active client who has set a password. Anyone else (staff, unknown addresses)
    gets None, and the page answers the same either way, so nothing tells accounts apart.
    Staff ask their practice's admin, so nobody can reset a therapist's sign-in by email
    alone."""
    person = find_by_email(db, email)
    if (
        person is None
        or person.role != Role.CLIENT.value
        or not person.active
        or not person.has_accepted
        or not person.email
    ):
        return None
    return issue_invitation(db, person, person, valid_for)


def reset_notice(db: Session, user: User, now: datetime | None = None) -> str | None:
    """What to tell a person at sign-in when, in the last two weeks, their password was set
    again with a link someone else issued (so that a reset they did not ask for is noticed).
    The audit trail says which acceptances were resets; the link says who issued it."""
    now = now or utcnow()
    reset_at = db.scalar(
        sa.select(AuditEvent.at)
        .where(
            AuditEvent.action == "accept_link",
            AuditEvent.object_type == "password_reset",
            AuditEvent.object_id == user.id,
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(1)
    )
    if reset_at is None or now - reset_at > timedelta(days=RESET_NOTICE_DAYS):
        return None
    link = db.scalar(
        sa.select(Invitation)
        .where(Invitation.user_id == user.id, Invitation.used_at.is_not(None))
        .order_by(Invitation.used_at.desc(), Invitation.id.desc())
        .limit(1)
    )
    if link is None or link.created_by_id == user.id:
        return None
    issuer = db.get(User, link.created_by_id) if link.created_by_id else None
    by = issuer.display_name if issuer else "the practice's server administrator"
    return (
        f"Your password was set again on {reset_at:%d %b %Y} with a link issued by {by}. "
        "If that was not you, tell your practice straight away."
    )


def revoke_pending(db: Session, user: User, now: datetime | None = None) -> int:
    """Revoke every pending invitation of a person; returns how many were revoked."""
    now = now or utcnow()
    result = db.execute(
        sa.update(Invitation)
        .where(
            Invitation.user_id == user.id,
            Invitation.used_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)


def latest_invitation(db: Session, user: User) -> Invitation | None:
    """The most recent invitation issued to a person."""
    stmt = (
        sa.select(Invitation)
        .where(Invitation.user_id == user.id)
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        .limit(1)
    )
    return db.scalar(stmt)


def usable_invitation(db: Session, token: str) -> Invitation:
    """The pending invitation behind a token, or InvitationUnusable with its state."""
    if not token or len(token) > 200:
        raise InvitationUnusable("unknown")
    invitation = db.scalar(sa.select(Invitation).where(Invitation.token_hash == _token_hash(token)))
    if invitation is None:
        raise InvitationUnusable("unknown")
    state = invitation.state(utcnow())
    if state != "pending" or not invitation.user.active:
        raise InvitationUnusable(state if state != "pending" else "used")
    return invitation


def accept_invitation(db: Session, token: str, password: str, email: str | None) -> User:
    """Set the invited person's password (and email, if they had none); single use."""
    invitation = usable_invitation(db, token)
    user = invitation.user
    problem = password_problem(password)
    if problem:
        raise AccountError(problem, "password")
    if user.email is None:
        email = normalise_email(email)
        if email is None:
            raise AccountError("Enter the email address you will sign in with.", "email")
        _ensure_email_free(db, email)
        user.email = email
    now = utcnow()
    # The conditional update makes acceptance single-use even if two requests race.
    claimed = db.execute(
        sa.update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session="fetch")
    )
    if getattr(claimed, "rowcount", 0) != 1:
        raise InvitationUnusable("used")
    if user.has_accepted:  # a password reset: every existing session of the person ends
        user.end_all_sessions()
    user.password_hash = hash_password(password)
    db.flush()
    return user


def staff_with_caseloads(db: Session, practice_id: int) -> list[sa.Row[tuple[User, int]]]:
    """The practice's therapists and admins, each with how many clients they have in care."""
    caseload = (
        sa.select(Care.therapist_id, sa.func.count().label("n"))
        .where(Care.ended_at.is_(None))
        .group_by(Care.therapist_id)
        .subquery()
    )
    return list(
        db.execute(
            sa.select(User, sa.func.coalesce(caseload.c.n, 0))
            .outerjoin(caseload, caseload.c.therapist_id == User.id)
            .where(
                User.practice_id == practice_id,
                User.role.in_([Role.THERAPIST.value, Role.ADMIN.value]),
            )
            .order_by(User.role.desc(), sa.func.lower(User.display_name))
        ).all()
    )


def colleagues(db: Session, therapist: User) -> list[User]:
    """The other active therapists of the therapist's practice, by name."""
    return list(
        db.scalars(
            sa.select(User)
            .where(
                User.practice_id == therapist.practice_id,
                User.role == Role.THERAPIST.value,
                User.active.is_(True),
                User.id != therapist.id,
            )
            .order_by(User.display_name)
        ).all()
    )


def clients_of_practice(db: Session, practice_id: int) -> list[sa.Row[User, str | None]]:
    """The practice's clients by name, each with their current therapist's name (or None)."""
    therapist = sa.orm.aliased(User)
    return list(
        db.execute(
            sa.select(User, therapist.display_name)
            .outerjoin(Care, sa.and_(Care.client_id == User.id, Care.ended_at.is_(None)))
            .outerjoin(therapist, therapist.id == Care.therapist_id)
            .where(User.practice_id == practice_id, User.role == Role.CLIENT.value)
            .order_by(sa.func.lower(User.display_name), User.id)
        ).all()
    )


def people_of(db: Session, practice_id: int) -> list[User]:
    """Everyone of the practice (clients, therapists and admins), by name."""
    return list(
        db.scalars(
            sa.select(User).where(User.practice_id == practice_id).order_by(User.display_name)
        ).all()
    )


def safety_contacts(db: Session, practice_id: int) -> list[User]:
    """Who is emailed when an alert is not acknowledged in time: the staff the admin named as
    safety contacts, or, when nobody is named, every active admin of the practice."""
    staff = (
        sa.select(User)
        .where(
            User.practice_id == practice_id,
            User.role.in_([Role.THERAPIST.value, Role.ADMIN.value]),
            User.active.is_(True),
            User.email.is_not(None),
            User.password_hash.is_not(None),
        )
        .order_by(User.id)
    )
    named = list(db.scalars(staff.where(User.safety_contact.is_(True))))
    return named or list(db.scalars(staff.where(User.role == Role.ADMIN.value)))


def is_treating(db: Session, therapist: User, client_id: int) -> bool:
    """Whether the client is in this therapist's care now."""
    return (
        db.scalar(
            sa.select(Care.id).where(
                Care.client_id == client_id,
                Care.therapist_id == therapist.id,
                Care.ended_at.is_(None),
            )
        )
        is not None
    )
