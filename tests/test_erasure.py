"""A client's record exported and then erased by the practice admin: every row of the record
goes, the audit trail stays, and the erasure is accounted for."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile

import pytest
import sqlalchemy as sa

from clinic import notes, plans, questionnaires
from clinic.models import (
    Administration,
    Assignment,
    AuditEvent,
    Care,
    CheckIn,
    Erasure,
    Plan,
    Role,
    SessionNote,
    Submission,
    User,
)

from .conftest import PASSWORD, record_screen
from .test_reports import _thought_record


def browser(app, user):  # type: ignore[no-untyped-def]
    c = app.test_client()
    assert c.post("/sign-in", data={"email": user.email, "password": PASSWORD}).status_code == 302
    return c


@pytest.fixture
def case(app, db, make_user):  # type: ignore[no-untyped-def]
    therapist = make_user(Role.THERAPIST)
    client = make_user(Role.CLIENT, therapist=therapist, name="Sam Erasmus")
    admin = make_user(Role.ADMIN)
    first = dt.date.today() - dt.timedelta(days=21)
    with app.app_context():
        record_screen(db, client, therapist, on=dt.date(2000, 1, 1))
        plan = plans.start_plan(db, client, therapist, first, first.weekday())
        ws = plans.worksheet(db, "thought_record")
        a = next(x for x in plan.assignments if x.worksheet_key == "thought_record")
        plans.submit(db, a, client, _thought_record(ws), 0)
        questionnaires.complete(
            db, client, "phq9", {str(i): 1 for i in range(1, 10)}, client, plan=plan, week=1
        )
        questionnaires.record_check_in(
            db, client, plan, 1, client, trust=5, distress=4, helpfulness=None, note="tired"
        )
        note = notes.start_note(db, client, therapist, dt.date.today())
        notes.sign(db, note, therapist)
        db.commit()
    browser(app, therapist).get(f"/therapist/clients/{client.id}")  # an audited view
    browser(app, client).get("/me/progress-report.pdf")  # an audited act of the client's own
    return therapist, client, admin


def asked_and_downloaded(app, admin_web, therapist, client_id: int):  # type: ignore[no-untyped-def]
    """The admin asks for the erasure; the therapist downloads the whole record."""
    asked = admin_web.post(f"/admin/clients/{client_id}/erase/request")
    assert asked.status_code == 302, asked.status_code
    download = browser(app, therapist).get(f"/therapist/clients/{client_id}/record.zip")
    assert download.status_code == 200
    return download


def _rows_of(db, client_id: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    count = lambda stmt: db.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))  # noqa: E731
    return {
        "user": count(sa.select(User.id).where(User.id == client_id)),
        "care": count(sa.select(Care.id).where(Care.client_id == client_id)),
        "plan": count(sa.select(Plan.id).where(Plan.client_id == client_id)),
        "assignment": count(sa.select(Assignment.id).join(Plan).where(Plan.client_id == client_id)),
        "submission": count(sa.select(Submission.id).where(Submission.client_id == client_id)),
        "administration": count(
            sa.select(Administration.id).where(Administration.client_id == client_id)
        ),
        "check_in": count(sa.select(CheckIn.id).where(CheckIn.client_id == client_id)),
        "note": count(sa.select(SessionNote.id).where(SessionNote.client_id == client_id)),
    }


def test_export_then_erase_removes_every_row_and_keeps_the_audit_trail(app, db, case):
    therapist, client, admin = case
    client_id = client.id
    assert all(_rows_of(db, client_id).values())
    web = browser(app, admin)
    assert "Sam Erasmus" in web.get("/admin/clients").get_data(as_text=True)
    download = asked_and_downloaded(app, web, therapist, client_id)
    archive = zipfile.ZipFile(io.BytesIO(download.data))
    assert "progress-report.pdf" in archive.namelist()
    assert any(n.startswith("session-summaries/") for n in archive.namelist())
    page = web.get(f"/admin/clients/{client_id}/erase").get_data(as_text=True)
    assert hashlib.sha256(download.data).hexdigest()[:16] in page
    erased = web.post(
        f"/admin/clients/{client_id}/erase",
        data={"reason": "Client asked for erasure.", "confirm_name": "Sam Erasmus"},
    )
    assert erased.status_code == 302
    db.expire_all()
    assert not any(_rows_of(db, client_id).values()), _rows_of(db, client_id)
    row = db.scalar(sa.select(Erasure).where(Erasure.client_number == client_id))
    assert row.reason == "Client asked for erasure." and row.erased_by_id == admin.id
    assert row.export_sha256 == hashlib.sha256(download.data).hexdigest()
    events = db.scalars(sa.select(AuditEvent).where(AuditEvent.subject_id == client_id)).all()
    assert {e.action for e in events} >= {"view", "export", "erase"}
    assert any(e.user_id == client_id for e in events)  # the client's own acts stay, unnamed
    named = db.scalars(sa.select(AuditEvent).where(AuditEvent.user_name == "Sam Erasmus")).all()
    assert named == []
    first = web.get("/admin/clients").get_data(as_text=True)
    assert "The record of Sam Erasmus has been erased." in first  # said once, to the admin
    listing = web.get("/admin/clients").get_data(as_text=True)
    assert f"Record no. {client_id} erased" in listing and "Client asked for erasure." in listing
    assert "Sam Erasmus" not in listing
    # The therapist's caseload no longer has them; their record is gone.
    t = browser(app, therapist)
    assert t.get(f"/therapist/clients/{client_id}").status_code == 404


def test_erasure_needs_the_export_first_a_reason_and_the_name(app, db, case):
    therapist, client, admin = case
    web = browser(app, admin)
    url = f"/admin/clients/{client.id}/erase"
    no_export = web.post(
        url, data={"reason": "Retention period over.", "confirm_name": "Sam Erasmus"}
    )
    assert no_export.status_code == 422
    assert "downloaded by the client" in no_export.get_data(as_text=True)
    asked_and_downloaded(app, web, therapist, client.id)
    short = web.post(url, data={"reason": "gone", "confirm_name": "Sam Erasmus"})
    assert short.status_code == 422 and "10 to 500 characters" in short.get_data(as_text=True)
    wrong = web.post(url, data={"reason": "Retention period over.", "confirm_name": "Sam"})
    page = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "name exactly as shown to confirm" in page
    assert "Retention period over." in page  # the typing is kept
    db.expire_all()
    assert db.get(User, client.id) is not None


def test_an_old_export_does_not_count(app, db, case):
    therapist, client, admin = case
    web = browser(app, admin)
    asked_and_downloaded(app, web, therapist, client.id)
    row = db.scalar(sa.select(Erasure))
    row.exported_at = row.exported_at - dt.timedelta(hours=25)
    db.commit()
    response = web.post(
        f"/admin/clients/{client.id}/erase",
        data={"reason": "Retention period over.", "confirm_name": "Sam Erasmus"},
    )
    assert response.status_code == 422 and db.get(User, client.id) is not None


def test_erasure_needs_a_recent_sign_in(app, case):
    _, client, admin = case
    web = browser(app, admin)
    with web.session_transaction() as s:
        s["fresh_at"] -= 11 * 60
    for response in (
        web.get(f"/admin/clients/{client.id}/erase"),
        web.post(f"/admin/clients/{client.id}/erase/request"),
    ):
        assert response.status_code == 302 and "/account/confirm" in response.headers["Location"]


def test_an_admin_of_another_practice_cannot_reach_the_record(
    app, db, case, make_practice, make_user
):
    _, client, _ = case
    stranger = make_user(Role.ADMIN, in_practice=make_practice("Elsewhere"))
    web = browser(app, stranger)
    assert web.post(f"/admin/clients/{client.id}/erase/request").status_code == 404
    assert "Sam Erasmus" not in web.get("/admin/clients").get_data(as_text=True)


def test_a_change_after_the_export_needs_a_new_export(app, db, case):
    therapist, client, admin = case
    web = browser(app, admin)
    asked_and_downloaded(app, web, therapist, client.id)
    listing = web.get("/admin/clients").get_data(as_text=True)
    assert "downloaded for erasure" in listing and "not erased" in listing
    with app.app_context():  # the therapist adds to the record after the download
        note = db.scalar(sa.select(SessionNote).where(SessionNote.client_id == client.id))
        notes.add_addendum(db, note, therapist, "Phoned after the session.")
        db.commit()
    form = {"reason": "Client asked for erasure.", "confirm_name": "Sam Erasmus"}
    refused = web.post(f"/admin/clients/{client.id}/erase", data=form)
    assert refused.status_code == 422 and "changed since you downloaded it" in refused.get_data(
        as_text=True
    )
    db.expire_all()
    assert db.get(User, client.id) is not None
    asked_and_downloaded(app, web, therapist, client.id)  # downloaded again
    assert web.post(f"/admin/clients/{client.id}/erase", data=form).status_code == 302


def test_the_admin_never_receives_the_record_and_the_therapist_is_asked(app, db, case):
    therapist, client, admin = case
    web = browser(app, admin)
    assert web.post(f"/admin/clients/{client.id}/erase/record.zip").status_code in (404, 405)
    web.post(f"/admin/clients/{client.id}/erase/request")
    record = browser(app, therapist).get(f"/therapist/clients/{client.id}").get_data(as_text=True)
    assert "The practice has asked for this record to be erased" in record
    page = web.get(f"/admin/clients/{client.id}/erase").get_data(as_text=True)
    assert "Waiting for the download" in page
    # a therapist's download without any erasure asked for records nothing
    other = browser(app, therapist)
    db.execute(sa.delete(Erasure))
    db.commit()
    other.get(f"/therapist/clients/{client.id}/record.zip")
    db.expire_all()
    assert db.scalar(sa.select(sa.func.count()).select_from(Erasure)) == 0
