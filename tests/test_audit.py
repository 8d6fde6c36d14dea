"""The audit trail: written for every access, kept when access is refused, never changed."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from clinic import audit
from clinic.models import AuditEvent, Role

from .conftest import PASSWORD
from .test_auth import page_text


def browser(app, user):  # type: ignore[no-untyped-def]
    c = app.test_client()
    assert c.post("/sign-in", data={"email": user.email, "password": PASSWORD}).status_code == 302
    return c


def events(db) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    """The audit events about records (the sign-ins that every test makes are left out)."""
    db.expire_all()
    return list(
        db.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action.not_in(audit.SECURITY_ACTIONS))
            .order_by(AuditEvent.id)
        )
    )


def test_viewing_a_record_writes_who_what_when_and_from_where(app, db, make_user):
    therapist = make_user(Role.THERAPIST, name="Dr Rivers")
    client = make_user(Role.CLIENT, therapist=therapist)
    t = browser(app, therapist)
    t.get(f"/therapist/clients/{client.id}", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    [event] = events(db)
    assert (event.user_id, event.user_name, event.role) == (therapist.id, "Dr Rivers", "therapist")
    assert (event.action, event.object_type, event.object_id, event.subject_id) == (
        "view",
        "client",
        client.id,
        client.id,
    )
    assert (event.outcome, event.ip, event.practice_id) == (
        "allowed",
        "192.0.2.7",
        therapist.practice_id,
    )
    assert event.at.tzinfo is not None


def test_refused_access_is_recorded_even_though_it_answers_404(app, db, make_user):
    therapist = make_user(Role.THERAPIST)
    client = make_user(Role.CLIENT, therapist=therapist)
    intruder = make_user(Role.THERAPIST, name="Other")
    o = browser(app, intruder)
    assert o.get(f"/therapist/clients/{client.id}").status_code == 404
    c = browser(app, client)
    assert c.get("/therapist/").status_code == 404
    denied = [(e.user_name, e.action, e.object_type, e.object_id, e.outcome) for e in events(db)]
    assert ("Other", "denied", "client", client.id, "denied") in denied
    assert any(e[2] == "page" and e[4] == "denied" for e in denied)


def test_changes_signatures_and_creations_are_recorded(app, db, make_user):
    therapist = make_user(Role.THERAPIST)
    client = make_user(Role.CLIENT, therapist=therapist)
    t = browser(app, therapist)
    url = t.post(f"/therapist/clients/{client.id}/notes").headers["Location"]
    t.post(
        f"/therapist/clients/{client.id}/questionnaires/phq9/in-session",
        data={f"item-{i}": "0" for i in range(1, 10)},
    )
    actions = {(e.action, e.object_type) for e in events(db)}
    assert ("create", "session_note") in actions and ("create", "administration") in actions
    assert url


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_event SET action = 'view'", "DELETE FROM audit_event"]
)
def test_the_database_refuses_to_change_or_delete_audit_events(app, db, make_user, statement):
    therapist = make_user(Role.THERAPIST)
    client = make_user(Role.CLIENT, therapist=therapist)
    browser(app, therapist).get(f"/therapist/clients/{client.id}")
    assert len(events(db)) == 1
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(sa.text(statement))
        db.flush()
    db.rollback()
    assert len(events(db)) == 1


def test_audit_events_hold_no_clinical_content():
    columns = set(AuditEvent.__table__.columns.keys())
    assert columns == {
        "id",
        "at",
        "practice_id",
        "user_id",
        "user_name",
        "role",
        "action",
        "object_type",
        "object_id",
        "subject_id",
        "outcome",
        "ip",
    }


def test_admin_reads_filters_and_exports_the_log(app, db, make_user):
    therapist = make_user(Role.THERAPIST, name='=HYPERLINK("x")')
    client = make_user(Role.CLIENT, therapist=therapist)
    browser(app, therapist).get(f"/therapist/clients/{client.id}")
    browser(app, make_user(Role.THERAPIST, name="Nosy")).get(f"/therapist/clients/{client.id}")
    admin = browser(app, make_user(Role.ADMIN))
    page = page_text(admin.get("/admin/audit"))
    assert "view" in page and "denied" in page and "Nosy" in page
    from bs4 import BeautifulSoup

    table = BeautifulSoup(admin.get("/admin/audit?outcome=denied").data, "html.parser").find(
        "table"
    )
    only_denied = table.get_text()
    assert "Nosy" in only_denied and "HYPERLINK" not in only_denied
    response = admin.get("/admin/audit.csv?action=view")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    names = {r["user"] for r in rows}
    assert '\'=HYPERLINK("x")' in names  # neutralised: a spreadsheet will not run it
    assert all(r["action"] == "view" for r in rows)
    assert {(e.action, e.object_type) for e in events(db)} >= {
        ("export", "audit_log"),
        ("view", "audit_log"),
    }


def test_the_client_sees_who_has_looked_at_their_record(app, db, make_user):
    therapist = make_user(Role.THERAPIST, name="Dr Rivers")
    client = make_user(Role.CLIENT, therapist=therapist)
    c = browser(app, client)
    assert "Nobody else has looked at your record yet." in page_text(c.get("/me/access"))
    browser(app, therapist).get(f"/therapist/clients/{client.id}")
    text = page_text(c.get("/me/access"))
    assert "Dr Rivers (therapist) looked at your record on" in text
    c.get("/me/progress")
    assert page_text(c.get("/me/access")).count("looked at") == 1  # their own visits are not listed
