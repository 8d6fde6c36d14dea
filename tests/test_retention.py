"""Retention (issue #20, item 5): the practice sets how many years after the end of care it keeps
a client's record; the admin sees the records past it and takes each through the same
export-then-erase flow; nothing is erased on its own; every step is audited."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from clinic import erasure, notes, plans
from clinic.models import AuditEvent, Erasure, Plan, Role, User

from .conftest import record_screen
from .test_auth import page_text
from .test_erasure import asked_and_downloaded, browser

TODAY = dt.date.today()
SETTINGS = {
    "crisis_contacts": "Call 999",
    "time_zone": "Europe/London",
    "reminder_days": "-1, 0, 2",
    "reminder_window_days": "7",
    "quiet_from_hour": "21",
    "quiet_until_hour": "8",
    "digest_hour": "7",
    "alert_response_hours": "24",
}


def finished_plan(db, client, therapist, ended: dt.date) -> Plan:  # type: ignore[no-untyped-def]
    record_screen(db, client, therapist, on=ended - dt.timedelta(days=100))
    plan = plans.start_plan(db, client, therapist, ended - dt.timedelta(days=90), 0)
    plan.status = "finished"
    plan.finished_at = dt.datetime.combine(ended, dt.time(12), dt.UTC)
    plan.discharge_reason = "completed"
    db.flush()
    return plan


@pytest.fixture
def records(app, db, make_user):  # type: ignore[no-untyped-def]
    """Three former clients (care ended 8 years, 6 years and 6 months ago) and one in care."""
    therapist = make_user(Role.THERAPIST, name="Dr Rhona Keeper")
    admin = make_user(Role.ADMIN, name="Ada Admin")
    old = make_user(Role.CLIENT, therapist=therapist, name="Olwen Oldrecord")
    recent = make_user(Role.CLIENT, therapist=therapist, name="Rory Recent")
    noted = make_user(Role.CLIENT, therapist=therapist, name="Nell Laternote")
    current = make_user(Role.CLIENT, therapist=therapist, name="Cora Current")
    with app.app_context():
        finished_plan(db, old, therapist, TODAY - dt.timedelta(days=365 * 8))
        finished_plan(db, recent, therapist, TODAY - dt.timedelta(days=180))
        # a plan that ended long ago, and a session note years later: care ended then
        finished_plan(db, noted, therapist, TODAY - dt.timedelta(days=365 * 9))
        late = notes.start_note(db, noted, therapist, TODAY - dt.timedelta(days=365 * 6))
        notes.sign(db, late, therapist)
        record_screen(db, current, therapist, on=TODAY - dt.timedelta(days=3650))
        plans.start_plan(db, current, therapist, TODAY - dt.timedelta(days=3650), 0)  # still open
        db.commit()
    return therapist, admin, old, recent, noted, current


def test_nothing_is_listed_until_the_practice_sets_a_period(app, db, practice, records):  # type: ignore[no-untyped-def]
    therapist, admin, *_ = records
    web = browser(app, admin)
    page = page_text(web.get("/admin/clients/retention"))
    assert "No retention period is set" in page
    assert erasure.past_retention(db, practice, TODAY) == []


def test_the_admin_sets_the_period_and_sees_the_records_past_it(app, db, practice, records):  # type: ignore[no-untyped-def]
    therapist, admin, old, recent, noted, current = records
    web = browser(app, admin)
    bad = web.post("/admin/settings", data={**SETTINGS, "retention_years": "0"})
    assert bad.status_code == 422
    soup = BeautifulSoup(bad.data, "html.parser")
    box = soup.find("input", {"name": "retention_years"})
    assert box["value"] == "0" and box["aria-invalid"] == "true"
    assert "from 1 to 100" in soup.find(id="retention_years-error").get_text()
    assert web.post("/admin/settings", data={**SETTINGS, "retention_years": "7"}).status_code == 302
    db.expire_all()
    assert db.get(User, admin.id).practice.retention_years == 7
    page = web.get("/admin/clients/retention")
    text = page_text(page)
    assert "Olwen Oldrecord" in text  # care ended 8 years ago
    assert "Nell Laternote" not in text  # her last session note was 6 years ago
    assert "Rory Recent" not in text and "Cora Current" not in text
    assert "1 record past the retention period" in text
    events = db.scalars(sa.select(AuditEvent.object_type).where(AuditEvent.user_id == admin.id))
    assert {"retention_period", "retention_review"} <= set(events)
    # a shorter period lists more; an open plan is never listed, however old
    web.post("/admin/settings", data={**SETTINGS, "retention_years": "5"})
    text = page_text(web.get("/admin/clients/retention"))
    assert "Olwen Oldrecord" in text and "Nell Laternote" in text and "Cora Current" not in text
    assert text.index("Nell Laternote") > text.index("Olwen Oldrecord")  # longest past first


def test_listing_erases_nothing_and_the_erasure_follows_the_usual_flow(app, db, practice, records):  # type: ignore[no-untyped-def]
    therapist, admin, old, *_ = records
    old_id = old.id
    practice.retention_years = 7
    db.commit()
    web = browser(app, admin)
    for _ in range(2):
        web.get("/admin/clients/retention")
    db.expire_all()
    assert db.get(User, old_id) is not None  # looking erases nothing
    soup = BeautifulSoup(web.get("/admin/clients/retention").data, "html.parser")
    form = soup.find("form", action=f"/admin/clients/{old_id}/erase/request")
    assert form is not None and "Ask for the erasure" in form.get_text()
    asked_and_downloaded(app, web, therapist, old_id)
    text = page_text(web.get("/admin/clients/retention"))
    assert "Downloaded" in text and "Erase page" in text
    db.expire_all()
    assert db.get(User, old_id) is not None  # still the admin's act to erase
    erased = web.post(
        f"/admin/clients/{old_id}/erase",
        data={"reason": "Past the 7-year retention period.", "confirm_name": "Olwen Oldrecord"},
    )
    assert erased.status_code == 302
    db.expire_all()
    assert db.get(User, old_id) is None
    row = db.scalar(sa.select(Erasure).where(Erasure.client_number == old_id))
    assert row is not None and row.reason == "Past the 7-year retention period."
    assert "No record is past the retention period" in page_text(
        web.get("/admin/clients/retention")
    )


@pytest.mark.parametrize(
    ("day", "years", "expected"),
    [
        (dt.date(2020, 2, 29), 7, dt.date(2027, 2, 28)),
        (dt.date(2019, 6, 1), 7, dt.date(2026, 6, 1)),
    ],
)
def test_years_are_counted_from_the_end_of_care(day, years, expected):
    assert erasure.add_years(day, years) == expected
