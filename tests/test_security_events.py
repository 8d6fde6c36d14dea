"""No silent takeover of an account, and every security event in the audit log (#21 items 1
and 3): who may obtain a sign-in link for whom, and how; sign-ins, failures, lockouts,
sign-outs, links issued and used, deactivation, settings changes."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from clinic import throttle
from clinic.models import AuditEvent, Invitation, Notification, Role

from .conftest import PASSWORD
from .test_auth import page_text


def events(db, *actions: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    db.expire_all()
    stmt = sa.select(AuditEvent).order_by(AuditEvent.id)
    if actions:
        stmt = stmt.where(AuditEvent.action.in_(actions))
    return list(db.scalars(stmt))


def signed_in_as(app, user):  # type: ignore[no-untyped-def]
    c = app.test_client()
    assert c.post("/sign-in", data={"email": user.email, "password": PASSWORD}).status_code == 302
    return c


def shown_link(response) -> str | None:  # type: ignore[no-untyped-def]
    box = BeautifulSoup(response.data, "html.parser").find("input", id="invitation-link")
    return box["value"] if box else None


def issued(db, person) -> int:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(
        sa.select(sa.func.count()).select_from(Invitation).where(Invitation.user_id == person.id)
    )


@pytest.fixture
def email_on(app):  # type: ignore[no-untyped-def]
    app.config.update(
        SMTP_HOST="127.0.0.1", SMTP_SENDER="bedrock@practice.example", BASE_URL="https://b.example"
    )
    yield
    app.config.update(SMTP_HOST=None, SMTP_SENDER=None)


# --- item 1: no silent takeover ---------------------------------------------------------------


def test_an_admin_is_never_shown_a_working_link_for_an_active_colleague(app, db, make_user):
    admin = make_user(Role.ADMIN)
    therapist = make_user(Role.THERAPIST, name="Dr Active")
    a = signed_in_as(app, admin)
    before = issued(db, therapist)
    response = a.post(f"/admin/people/{therapist.id}/invitation", follow_redirects=True)
    assert shown_link(response) is None
    assert "flask --app clinic reset-link" in page_text(response)
    assert issued(db, therapist) == before  # nothing was issued at all
    # ... while a colleague who never set up their account gets an invitation to pass on
    pending = make_user(Role.THERAPIST, name="Dr New", password=None)
    assert shown_link(a.post(f"/admin/people/{pending.id}/invitation")) is not None


def test_with_email_a_reset_link_goes_only_to_the_owner(app, db, make_user, email_on):
    admin = make_user(Role.ADMIN)
    therapist = make_user(Role.THERAPIST, name="Dr Active")
    a = signed_in_as(app, admin)
    for path in ("invitation", "invitation/email"):
        response = a.post(f"/admin/people/{therapist.id}/{path}")
        assert response.status_code == 200 and shown_link(response) is None
        assert "emailing a new password reset link" in page_text(response)
    queued = db.scalars(sa.select(Notification).where(Notification.kind == "invitation")).all()
    assert {n.recipient_id for n in queued} == {therapist.id}
    # a therapist with a client who has an account: emailed too, never shown
    client_person = make_user(Role.CLIENT, therapist=therapist, name="Sam")
    t = signed_in_as(app, therapist)
    response = t.post(f"/therapist/clients/{client_person.id}/invitation")
    assert shown_link(response) is None


def test_without_email_a_therapist_hands_over_a_clients_link_and_the_client_is_told(
    app, db, make_user
):
    therapist = make_user(Role.THERAPIST, name="Dr Rivers")
    person = make_user(Role.CLIENT, therapist=therapist, name="Sam")
    t = signed_in_as(app, therapist)
    link = shown_link(t.post(f"/therapist/clients/{person.id}/invitation"))
    assert link is not None
    someone = app.test_client()
    new = "a fresh start today"
    someone.post(link, data={"password": new, "confirm": new})
    [issue] = events(db, "issue_link")
    assert (issue.user_id, issue.object_id, issue.subject_id) == (
        therapist.id,
        person.id,
        person.id,
    )
    [accept] = events(db, "accept_link")
    assert (accept.user_id, accept.object_id) == (person.id, person.id)
    # at their next sign-in the client reads who issued the link, and when
    later = app.test_client()
    later.post("/sign-in", data={"email": person.email, "password": new})
    home = page_text(later.get("/me/"))
    assert "Your password was set again on" in home and "issued by Dr Rivers" in home
    log = page_text(later.get("/me/access"))
    assert "issued a new sign-in link for your account" in log


def test_the_server_command_makes_a_colleagues_link_and_it_is_audited(app, db, make_user):
    therapist = make_user(Role.THERAPIST, name="Dr Active")
    out = app.test_cli_runner().invoke(args=["reset-link", therapist.email]).output
    path = re.search(r"(/invitation/\S+)", out).group(1)
    assert app.test_client().get(path).status_code == 200
    [issue] = events(db, "issue_link")
    assert issue.user_id is None and issue.object_id == therapist.id
    assert issue.practice_id == therapist.practice_id
    bad = app.test_cli_runner().invoke(args=["reset-link", "nobody@example.org"])
    assert bad.exit_code != 0 and "No active account" in bad.output


# --- item 3: security events ------------------------------------------------------------------


def test_sign_ins_failures_lockouts_and_sign_outs_are_audited_without_the_address_typed(
    app, db, make_user
):
    therapist = make_user(Role.THERAPIST, name="Dr Rivers")
    c = app.test_client()
    c.post("/sign-in", data={"email": therapist.email, "password": "not the password"})
    c.post("/sign-in", data={"email": "stranger@example.org", "password": "whatever it is"})
    c.post("/sign-in", data={"email": therapist.email, "password": PASSWORD})
    c.post("/sign-out")
    found = [(e.action, e.object_id, e.outcome) for e in events(db)]
    assert ("sign_in_failed", therapist.id, "denied") in found
    assert ("sign_in_failed", None, "denied") in found  # an unknown address: no account
    assert ("sign_in", therapist.id, "allowed") in found
    assert ("sign_out", therapist.id, "allowed") in found
    for _ in range(throttle.FREE_FAILURES + 2):
        c.post("/sign-in", data={"email": therapist.email, "password": "wrong again"})
    assert ("sign_in_locked", therapist.id, "denied") in [
        (e.action, e.object_id, e.outcome) for e in events(db)
    ]
    everything = " ".join(
        str(v) for e in events(db) for v in (e.user_name, e.object_type, e.action, e.ip)
    )
    assert "stranger@example.org" not in everything and therapist.email not in everything


def test_admin_actions_on_accounts_and_settings_are_audited_and_filterable(
    app, db, make_user, practice
):
    admin = make_user(Role.ADMIN, name="Ada Admin")
    therapist = make_user(Role.THERAPIST, name="Dr Rivers")
    a = signed_in_as(app, admin)
    a.post(f"/admin/people/{therapist.id}/deactivate")
    a.post(f"/admin/people/{therapist.id}/reactivate")
    a.post("/admin/therapists/new", data={"display_name": "Dr New", "email": "new@example.org"})
    settings = BeautifulSoup(a.get("/admin/settings").data, "html.parser").find(
        "form", method="post"
    )
    data = {
        i["name"]: i.get("value", "")
        for i in settings.find_all("input")
        if i.get("name") and i.get("type") not in ("checkbox", "radio")
    }
    data |= {t["name"]: t.get_text() for t in settings.find_all("textarea")}
    data |= {
        s["name"]: (s.find("option", selected=True) or s.find("option"))["value"]
        for s in settings.find_all("select")
    }
    data["crisis_contacts"] = "Out of hours: 0100 000 0000."
    assert a.post("/admin/settings", data=data).status_code == 302
    kinds = [(e.action, e.object_type) for e in events(db)]
    for expected in (
        ("deactivate", "account"),
        ("reactivate", "account"),
        ("create", "account"),
        ("issue_link", "account"),
        ("change", "practice_settings"),
    ):
        assert expected in kinds, expected
    rows = BeautifulSoup(a.get("/admin/audit?action=deactivate").data, "html.parser")
    shown = [r.get_text(" ") for r in rows.find("table").find_all("tr")[1:]]
    assert len(shown) == 1 and "deactivate" in shown[0] and "Dr Rivers" in shown[0]
    csv_text = a.get("/admin/audit.csv?action=sign_in").get_data(as_text=True)
    assert "sign_in" in csv_text and "deactivate" not in csv_text
