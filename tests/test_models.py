"""Invariants that the database itself keeps, whatever code writes to it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from clinic import accounts
from clinic.models import Care, Role, User


def test_email_is_unique_whatever_its_case(db, make_user, practice):
    make_user(Role.THERAPIST, email="Same@Example.org")
    with pytest.raises(accounts.DuplicateEmail):
        accounts.create_user(db, practice, Role.CLIENT, "Twin", "SAME@example.ORG")
    db.rollback()
    # Even code that bypasses the domain module cannot store a second, differently cased copy.
    db.add(User(practice_id=practice.id, role="client", display_name="x", email="SAME@example.org"))
    with pytest.raises(IntegrityError):
        db.flush()


def test_role_must_be_one_of_three(db, practice):
    db.add(User(practice_id=practice.id, role="superuser", display_name="x", email="x@example.org"))
    with pytest.raises(IntegrityError):
        db.flush()


def test_staff_need_an_email_clients_do_not(db, practice, make_user):
    assert make_user(Role.CLIENT, email=None).email is None
    with pytest.raises(accounts.AccountError):
        accounts.create_user(db, practice, Role.THERAPIST, "No Email", None)
    db.add(User(practice_id=practice.id, role="therapist", display_name="x", email=None))
    with pytest.raises(IntegrityError):
        db.flush()


def test_a_client_has_at_most_one_open_care(db, make_user):
    client = make_user(Role.CLIENT)
    second_therapist = make_user(Role.THERAPIST)
    db.add(Care(therapist_id=second_therapist.id, client_id=client.id))
    with pytest.raises(IntegrityError):
        db.flush()
    db.rollback()
    # Ending the first care lets a new one open: handover between therapists.
    first = db.scalars(sa.select(Care).where(Care.client_id == client.id)).one()
    first.ended_at = accounts.utcnow()
    db.add(Care(therapist_id=second_therapist.id, client_id=client.id))
    db.commit()
    assert accounts.therapist_of(db, client).id == second_therapist.id


def test_foreign_keys_are_enforced(db):
    db.add(Care(therapist_id=9999, client_id=9998))
    with pytest.raises(IntegrityError):
        db.flush()


def test_timestamps_come_back_timezone_aware_utc(db, make_user):
    user = make_user(Role.THERAPIST)
    db.expire_all()
    fresh = db.get(User, user.id)
    assert fresh.created_at.tzinfo is not None and fresh.created_at.utcoffset().total_seconds() == 0
