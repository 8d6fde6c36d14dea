"""Adding people and inviting them: the therapist's and the client's side."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from clinic.db import utcnow
from clinic.models import Care, Invitation, Role, User

from .conftest import PASSWORD
from .test_auth import page_text


def invitation_link(response) -> str:  # type: ignore[no-untyped-def]
    soup = BeautifulSoup(response.data, "html.parser")
    link = soup.find("input", id="invitation-link")["value"]
    assert link.startswith("http://localhost/invitation/")
    return link.removeprefix("http://localhost")


def field_error(response, field_id: str) -> str:  # type: ignore[no-untyped-def]
    soup = BeautifulSoup(response.data, "html.parser")
    node = soup.find(id=f"{field_id}-error")
    return " ".join(node.get_text().split()) if node else ""


def field_value(response, field_id: str) -> str | None:  # type: ignore[no-untyped-def]
    node = BeautifulSoup(response.data, "html.parser").find(id=field_id)
    return node.get("value") if node else None


@pytest.fixture
def therapist(make_user, sign_in):  # type: ignore[no-untyped-def]
    user = make_user(Role.THERAPIST, name="Dr Maya Okafor")
    sign_in(user)
    return user


def add_client(client, name="Jordan", email=""):  # type: ignore[no-untyped-def]
    response = client.post("/therapist/clients/new", data={"display_name": name, "email": email})
    assert response.status_code == 200, page_text(response)
    return invitation_link(response)


def test_therapist_adds_client_and_client_accepts_the_invitation(app, client, therapist, db):
    link = add_client(client, "Jordan P.")
    stored = db.scalars(sa.select(Invitation)).one()
    token = link.rsplit("/", 1)[1]
    assert token not in stored.token_hash  # only a hash is kept
    assert stored.expires_at - stored.created_at == timedelta(days=7)
    caseload = page_text(client.get("/therapist/"))
    assert "Jordan P." in caseload and "invitation not accepted" in caseload

    invited = app.test_client()  # the client's own phone
    page = invited.get(link)
    assert page.status_code == 200
    assert "Welcome, Jordan P." in page_text(page)
    response = invited.post(
        link,
        data={
            "email": "Jordan@Example.org",
            "password": "my own quiet place",
            "confirm": "my own quiet place",
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == "/me/"
    home = page_text(invited.get("/me/"))
    assert "Hello, Jordan P." in home and "Dr Maya Okafor" in home

    again = app.test_client().get(link)  # single use
    assert again.status_code == 410
    assert "already been used" in page_text(again)

    invited.post("/sign-out")
    signed = invited.post(
        "/sign-in", data={"email": "jordan@example.org", "password": "my own quiet place"}
    )
    assert signed.headers["Location"] == "/me/"
    assert "invitation not accepted" not in page_text(client.get("/therapist/"))


def test_unknown_invitation_shows_a_clear_page_and_creates_nothing(client, db):
    before = db.scalar(sa.select(sa.func.count()).select_from(User))
    response = client.get("/invitation/not-a-real-token")
    assert response.status_code == 404
    assert "This invitation link is not valid" in page_text(response)
    response = client.post(
        "/invitation/not-a-real-token",
        data={
            "email": "x@example.org",
            "password": "my own quiet place",
            "confirm": "my own quiet place",
        },
    )
    assert response.status_code == 404
    assert db.scalar(sa.select(sa.func.count()).select_from(User)) == before


def test_expired_invitation_shows_a_clear_page_and_sets_nothing(app, client, therapist, db):
    link = add_client(client)
    invitation = db.scalars(sa.select(Invitation)).one()
    invitation.created_at = utcnow() - timedelta(days=8)
    invitation.expires_at = utcnow() - timedelta(seconds=1)
    db.commit()
    invited = app.test_client()
    response = invited.post(
        link,
        data={
            "email": "j@example.org",
            "password": "my own quiet place",
            "confirm": "my own quiet place",
        },
    )
    assert response.status_code == 410
    assert "expired" in page_text(response)
    db.expire_all()
    assert db.scalars(sa.select(User).where(User.role == "client")).one().password_hash is None
    assert "Invitation expired" in page_text(client.get(f"/therapist/clients/{invitation.user_id}"))


def test_revoked_and_replaced_invitations_stop_working(app, client, therapist, db):
    first = add_client(client)
    client_id = db.scalars(sa.select(Invitation)).one().user_id
    response = client.post(f"/therapist/clients/{client_id}/invitation/revoke")
    assert response.status_code == 302
    revoked = app.test_client().get(first)
    assert revoked.status_code == 410 and "withdrawn" in page_text(revoked)
    assert "Invitation withdrawn" in page_text(client.get(f"/therapist/clients/{client_id}"))

    second = invitation_link(client.post(f"/therapist/clients/{client_id}/invitation"))
    third = invitation_link(client.post(f"/therapist/clients/{client_id}/invitation"))
    assert app.test_client().get(second).status_code == 410  # replaced by the newer link
    assert app.test_client().get(third).status_code == 200


def test_duplicate_email_is_a_field_error_and_keeps_the_typing(client, therapist, make_user):
    make_user(Role.CLIENT, email="taken@example.org")
    response = client.post(
        "/therapist/clients/new", data={"display_name": "Rosa B.", "email": "TAKEN@example.org"}
    )
    assert response.status_code == 422
    assert "already exists" in field_error(response, "email")
    assert field_value(response, "display_name") == "Rosa B."
    assert field_value(response, "email") == "TAKEN@example.org"
    assert "There is a problem" in page_text(response)


def test_client_choosing_a_taken_email_gets_a_field_error(app, client, therapist, make_user, db):
    make_user(Role.THERAPIST, email="taken@example.org")
    link = add_client(client)
    response = app.test_client().post(
        link,
        data={
            "email": "taken@example.org",
            "password": "my own quiet place",
            "confirm": "my own quiet place",
        },
    )
    assert response.status_code == 422
    assert "already exists" in field_error(response, "email")
    assert field_value(response, "email") == "taken@example.org"
    assert db.scalars(sa.select(Invitation)).one().used_at is None


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short one", "at least 12 characters"),
        ("1q2w3e4r5t6y", "most commonly used"),
        ("QazWsxEdcRfv", "most commonly used"),
        ("x" * 129, "at most 128 characters"),
    ],
)
def test_weak_password_is_a_field_error_and_the_email_is_kept(
    app, client, therapist, db, password, message
):
    link = add_client(client)
    invited = app.test_client()
    response = invited.post(
        link, data={"email": "jordan@example.org", "password": password, "confirm": password}
    )
    assert response.status_code == 422
    assert message in field_error(response, "password")
    assert field_value(response, "email") == "jordan@example.org"
    assert field_value(response, "password") in (None, "")  # passwords are never echoed
    db.expire_all()
    assert db.scalars(sa.select(Invitation)).one().used_at is None
    assert invited.get(link).status_code == 200  # still usable


def test_over_long_new_password_is_refused_before_hashing(app, client, therapist, monkeypatch):
    from clinic import accounts

    link = add_client(client)

    class NoHashing:
        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            raise AssertionError("an over-long password reached the hasher")

    monkeypatch.setattr(accounts, "_hasher", NoHashing())
    long = "ü" * 5000
    response = app.test_client().post(
        link, data={"email": "a@example.org", "password": long, "confirm": long}
    )
    assert response.status_code == 422
    assert "at most 128 characters" in field_error(response, "password")


def test_mismatched_confirmation_and_missing_email_are_field_errors(app, client, therapist):
    link = add_client(client)
    response = app.test_client().post(
        link, data={"email": "", "password": "my own quiet place", "confirm": "my own quiet placE"}
    )
    assert response.status_code == 422
    assert "not the same" in field_error(response, "confirm")
    assert "Enter the email address" in field_error(response, "email")


def test_client_with_an_email_given_by_the_therapist_only_chooses_a_password(
    app, client, therapist
):
    link = add_client(client, "Priya", "Priya@Example.org")
    invited = app.test_client()
    assert "You will sign in with priya@example.org" in page_text(invited.get(link))
    response = invited.post(
        link, data={"password": "a long walk by the river", "confirm": "a long walk by the river"}
    )
    assert response.headers["Location"] == "/me/"


def test_a_new_client_is_in_the_therapists_care(client, therapist, db):
    add_client(client, "Ellis")
    care = db.scalars(sa.select(Care)).one()
    assert care.therapist_id == therapist.id and care.ended_at is None


def test_unicode_password_works_end_to_end(app, client, therapist):
    link = add_client(client, "Tomasz", "tomasz@example.org")
    password = "zażółć gęślą jaźń 🌊"
    invited = app.test_client()
    invited.post(link, data={"password": password, "confirm": password})
    invited.post("/sign-out")
    assert (
        invited.post(
            "/sign-in", data={"email": "tomasz@example.org", "password": password}
        ).headers["Location"]
        == "/me/"
    )


def test_admin_adds_a_therapist_who_accepts_and_signs_in(app, client, make_user, sign_in, db):
    admin = make_user(Role.ADMIN, name="Office")
    sign_in(admin)
    response = client.post(
        "/admin/therapists/new", data={"display_name": "Sam Lindqvist", "email": "Sam@Example.org"}
    )
    assert response.status_code == 200
    link = invitation_link(response)
    people = page_text(client.get("/admin/"))
    assert "Sam Lindqvist" in people and "Waiting for the invitation to be accepted" in people
    newcomer = app.test_client()
    newcomer.post(
        link, data={"password": "a long walk by the river", "confirm": "a long walk by the river"}
    )
    assert "Your caseload" in page_text(newcomer.get("/therapist/"))


def test_admin_duplicate_therapist_email_is_a_field_error(client, make_user, sign_in):
    admin = make_user(Role.ADMIN)
    sign_in(admin)
    response = client.post(
        "/admin/therapists/new", data={"display_name": "Copy", "email": admin.email.upper()}
    )
    assert response.status_code == 422
    assert "already exists" in field_error(response, "email")
    assert field_value(response, "display_name") == "Copy"


def test_admin_deactivates_a_therapist_who_is_signed_out_everywhere(
    app, client, make_user, sign_in
):
    admin = make_user(Role.ADMIN)
    therapist = make_user(Role.THERAPIST, name="Leaving Soon")
    their_browser = app.test_client()
    their_browser.post("/sign-in", data={"email": therapist.email, "password": PASSWORD})
    assert their_browser.get("/therapist/").status_code == 200
    sign_in(admin)
    response = client.post(f"/admin/people/{therapist.id}/deactivate", follow_redirects=True)
    assert "Leaving Soon can no longer sign in." in page_text(response)
    assert "Deactivated" in page_text(response)
    assert their_browser.get("/therapist/").status_code == 302  # the open session ended
    refused = app.test_client().post(
        "/sign-in", data={"email": therapist.email, "password": PASSWORD}
    )
    assert refused.status_code == 422
    client.post(f"/admin/people/{therapist.id}/reactivate")
    back = app.test_client().post("/sign-in", data={"email": therapist.email, "password": PASSWORD})
    assert back.headers["Location"] == "/therapist/"


def test_admin_cannot_deactivate_themselves(client, make_user, sign_in):
    admin = make_user(Role.ADMIN)
    sign_in(admin)
    response = client.post(f"/admin/people/{admin.id}/deactivate", follow_redirects=True)
    assert "You cannot deactivate your own account." in page_text(response)
    assert client.get("/admin/").status_code == 200


def test_times_are_shown_in_the_practice_time_zone(app, client, db, practice, make_user, sign_in):
    practice.time_zone = "Asia/Tokyo"
    db.commit()
    therapist = make_user(Role.THERAPIST)
    sign_in(therapist)
    client.post("/therapist/clients/new", data={"display_name": "Kenji", "email": ""})
    invitation = db.scalars(sa.select(Invitation)).one()
    page = page_text(client.get(f"/therapist/clients/{invitation.user_id}"))
    local = invitation.expires_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    assert f"expires {local:%a %d %b %Y, %H:%M} JST" in page


def test_admin_hands_a_client_over_to_a_colleague(
    app, db, make_user, make_practice, sign_in, client
):
    from clinic.models import AuditEvent

    old = make_user(Role.THERAPIST, name="Leaving")
    new = make_user(Role.THERAPIST, name="Taking over")
    elsewhere = make_user(Role.THERAPIST, in_practice=make_practice("Other"))
    person = make_user(Role.CLIENT, therapist=old, name="Jordan")
    sign_in(make_user(Role.ADMIN))
    missing = client.post(
        f"/admin/people/{old.id}/transfer",
        data={"client": str(person.id), "therapist": str(new.id), "reason": ""},
    )
    assert missing.status_code == 422 and "Give a reason" in page_text(missing)
    foreign = client.post(
        f"/admin/people/{old.id}/transfer",
        data={"client": str(person.id), "therapist": str(elsewhere.id), "reason": "x"},
    )
    assert foreign.status_code == 422  # not a choice: only this practice's therapists
    ok = client.post(
        f"/admin/people/{old.id}/transfer",
        data={"client": str(person.id), "therapist": str(new.id), "reason": "on leave"},
    )
    assert ok.status_code == 302
    assert browser_for(app, old).get(f"/therapist/clients/{person.id}").status_code == 404
    assert browser_for(app, new).get(f"/therapist/clients/{person.id}").status_code == 200
    cares = db.scalars(sa.select(Care).where(Care.client_id == person.id).order_by(Care.id)).all()
    assert cares[0].ended_reason == "on leave" and cares[1].therapist_id == new.id
    assert (
        db.scalar(sa.select(AuditEvent).where(AuditEvent.object_type == "care")).subject_id
        == person.id
    )


def browser_for(app, user):  # type: ignore[no-untyped-def]
    c = app.test_client()
    c.post("/sign-in", data={"email": user.email, "password": PASSWORD})
    return c


def test_a_forgotten_password_is_reset_with_a_one_time_link(app, client, therapist, make_user, db):
    person = make_user(Role.CLIENT, therapist=therapist, name="Forgetful")
    old_browser = app.test_client()
    old_browser.post("/sign-in", data={"email": person.email, "password": PASSWORD})
    assert old_browser.get("/me/").status_code == 200
    response = client.post(f"/therapist/clients/{person.id}/invitation")
    assert "Password reset link for Forgetful" in page_text(response)
    link = invitation_link(response)
    fresh = app.test_client()
    assert "Choose a new password" in page_text(fresh.get(link))
    fresh.post(link, data={"password": "a fresh start today", "confirm": "a fresh start today"})
    assert fresh.get("/me/").status_code == 200
    assert old_browser.get("/me/").status_code == 302  # the old session ended
    assert (
        app.test_client()
        .post("/sign-in", data={"email": person.email, "password": PASSWORD})
        .status_code
        == 422
    )
    assert app.test_client().get(link).status_code == 410  # single use
