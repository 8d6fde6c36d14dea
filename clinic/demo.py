"""The demo practice: a small, believable practice to explore Bedrock with. Fictional people."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import accounts
from .models import Practice, Role

DEMO_PRACTICE = "Harbour Street Therapy (demo)"
DEMO_DOMAIN = "demo.bedrock.test"  # .test is reserved (RFC 2606): no mail can ever go there

THERAPISTS = [
    ("Dr Maya Okafor", "maya.okafor"),
    ("Sam Lindqvist", "sam.lindqvist"),
]

# (therapist index, name or pseudonym, email local part or None, plan week, accepted)
# The plan week spreads clients over the 12-week program once plans exist.
CLIENTS = [
    (0, "Jordan P.", "jordan", 1, True),
    (0, "Alex Moreno", "alex", 4, True),
    (0, "Priya", "priya", 7, True),
    (0, "Client K", None, 2, False),
    (1, "Tomasz W.", "tomasz", 10, True),
    (1, "Rosa", "rosa", 12, True),
    (1, "Ellis Grant", "ellis", 5, True),
]


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
    practice = Practice(name=DEMO_PRACTICE, is_demo=True)
    db.add(practice)
    details = DemoDetails(practice=DEMO_PRACTICE, password=password)

    def email(local: str) -> str:
        return f"{local}@{DEMO_DOMAIN}"

    admin = accounts.create_user(
        db, practice, Role.ADMIN, "Practice admin", email("admin"), password
    )
    details.accounts.append(("admin", admin.display_name, email("admin")))
    therapists = []
    for name, local in THERAPISTS:
        therapist = accounts.create_user(db, practice, Role.THERAPIST, name, email(local), password)
        therapists.append(therapist)
        details.accounts.append(("therapist", name, email(local)))
    for index, name, local, _week, accepted in CLIENTS:
        client = accounts.add_client(db, therapists[index], name, email(local) if local else None)
        if accepted:
            client.password_hash = accounts.hash_password(password)
            details.accounts.append(
                ("client", f"{name} ({therapists[index].display_name})", email(local or ""))
            )
        else:
            issued = accounts.issue_invitation(db, client, therapists[index])
            details.pending_invitations.append((name, issued.token))
    db.flush()
    return details
