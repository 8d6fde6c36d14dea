"""Questionnaire schedules per client (issue #20, item 3): the therapist changes the weeks an
instrument is given, gives one before every session, adds a practice-supplied instrument and
drops one; the client's week, the answers' slots and the reminder emails follow."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from clinic import measures, plans, questionnaires
from clinic.library import CONTENT_DIR
from clinic.models import Administration, AuditEvent, Role

from .conftest import record_screen
from .test_auth import page_text
from .test_notifications import at, body, inbox, received, run  # noqa: F401 (inbox: fixture)
from .test_questionnaires import answers, browser, care  # noqa: F401 (care: fixture)

EXAMPLE = Path(__file__).parent / "data" / "instruments" / "example_trust.toml"


@pytest.fixture
def feedback(app, tmp_path):  # type: ignore[no-untyped-def]
    """A practice-supplied instrument outside the batteries (as a licensed session-feedback
    scale would be), in the instance folder the app reads."""
    folder = Path(app.instance_path) / "instruments"
    folder.mkdir(parents=True, exist_ok=True)
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('code = "example_trust"', 'code = "example_feedback"')
    text = text.replace('short_name = "ETS"', 'short_name = "EFS"')
    text = text.replace("battery = true", "battery = false")
    (folder / "example_feedback.toml").write_text(text, encoding="utf-8")
    app.extensions["clinic.instruments"] = measures.load_instruments(
        CONTENT_DIR / "instruments", folder
    )
    assert app.extensions["clinic.instruments"]["example_feedback"].battery is False
    return "example_feedback"


def given_in(db, plan, week):  # type: ignore[no-untyped-def]
    return questionnaires.slots_in_week(db, plan, week)


def weeks_of(db, plan, code):  # type: ignore[no-untyped-def]
    return [w for w in range(1, 13) if code in given_in(db, plan, w)]


# --- the rules ----------------------------------------------------------------------------------


def test_without_changes_the_program_schedule_stands(app, db, care):  # noqa: F811
    _, _, at_week = care
    plan = at_week(1)
    with app.app_context():
        assert weeks_of(db, plan, "phq9") == [1, 3, 5, 6, 7, 9, 11, 12]
        assert weeks_of(db, plan, "csi4") == [1, 6, 12]
        assert given_in(db, plan, 1)["phq9"] == "baseline"
        assert given_in(db, plan, 3)["phq9"] == "fortnightly"


def test_phq9_before_every_session_keeps_the_program_slots(app, db, care):  # noqa: F811
    _, _, at_week = care
    plan = at_week(1)
    with app.app_context():
        plans.set_schedule(db, plan, "phq9", "sessions")
        assert weeks_of(db, plan, "phq9") == list(range(1, 13))
        # week 1 stays the baseline (the episode's baseline rule reads the slot)
        assert [given_in(db, plan, w)["phq9"] for w in (1, 2, 3, 6, 12)] == [
            "baseline", "scheduled", "fortnightly", "midpoint", "end",
        ]  # fmt: skip
        assert weeks_of(db, plan, "gad7") == [1, 3, 5, 6, 7, 9, 11, 12]  # untouched


def test_chosen_weeks_and_every_few_weeks(app, db, care):  # noqa: F811
    _, _, at_week = care
    plan = at_week(1)
    with app.app_context():
        plans.set_schedule(db, plan, "wsas", "weeks", weeks="1 4; 8,12")
        assert weeks_of(db, plan, "wsas") == [1, 4, 8, 12]
        plans.set_schedule(db, plan, "gad7", "every", every=4)
        assert weeks_of(db, plan, "gad7") == [1, 5, 9]
        plans.set_schedule(db, plan, "gad7", "program")
        assert weeks_of(db, plan, "gad7") == [1, 3, 5, 6, 7, 9, 11, 12]
        assert plan.measure_schedules == {"wsas": {"rule": "weeks", "weeks": [1, 4, 8, 12]}}


@pytest.mark.parametrize(
    ("code", "rule", "kwargs", "field", "message"),
    [
        ("phq9", "none", {}, "rule", "PHQ-9 is always given"),
        ("gad7", "weeks", {"weeks": "4, 8"}, "weeks", "GAD-7 is given in week 1"),
        ("wsas", "weeks", {"weeks": "1, 13"}, "weeks", "from 1 to 12"),
        ("wsas", "weeks", {"weeks": ""}, "weeks", "at least one week"),
        ("wsas", "every", {"every": 0}, "every", "from 1 to 11"),
        ("wsas", "every", {"every": None}, "every", "from 1 to 11"),
    ],
)
def test_schedules_that_cannot_be_are_refused_before_anything_changes(
    app,
    db,
    care,  # noqa: F811
    code,
    rule,
    kwargs,
    field,
    message,
):
    _, _, at_week = care
    plan = at_week(1)
    with app.app_context():
        with pytest.raises(plans.PlanError) as raised:
            plans.set_schedule(db, plan, code, rule, **kwargs)
        assert raised.value.field == field and message in raised.value.message
        assert plan.measure_schedules == {} and plan.left_out_measures == []


def test_dropping_a_battery_measure_is_the_same_as_leaving_it_out(app, db, care):  # noqa: F811
    _, _, at_week = care
    plan = at_week(1)
    with app.app_context():
        plans.set_schedule(db, plan, "csi4", "weeks", weeks="1, 12")
        plans.set_schedule(db, plan, "csi4", "none")
        assert plan.left_out_measures == ["csi4"] and plan.measure_schedules == {}
        assert weeks_of(db, plan, "csi4") == []
        plans.set_schedule(db, plan, "csi4", "program")  # back as the program gives it
        assert plan.left_out_measures == [] and weeks_of(db, plan, "csi4") == [1, 6, 12]


def test_a_finished_plan_keeps_its_schedule(app, db, care):  # noqa: F811
    _, _, at_week = care
    plan = at_week(1)
    with app.app_context():
        plan.status = "finished"
        with pytest.raises(plans.PlanError, match="finished"):
            plans.set_schedule(db, plan, "wsas", "sessions")


# --- practice-supplied instruments -------------------------------------------------------------


def test_a_practice_instrument_is_added_answered_in_the_week_and_dropped(
    app,
    db,
    care,  # noqa: F811
    feedback,
):
    therapist, client, at_week = care
    plan = at_week(2)
    with app.app_context():
        assert weeks_of(db, plan, feedback) == []  # not in the program
    t = browser(app, therapist)
    page = t.get(f"/therapist/clients/{client.id}/plan/schedule")
    assert page.status_code == 200
    soup = BeautifulSoup(page.data, "html.parser")
    offered = {i["value"] for i in soup.find_all("input", {"name": f"{feedback}-rule"})}
    assert offered == {"weeks", "every", "sessions", "none"}  # no program schedule to follow
    offered = {i["value"] for i in soup.find_all("input", {"name": "phq9-rule"})}
    assert "none" not in offered

    url = f"/therapist/clients/{client.id}/plan/schedule/{feedback}"
    response = t.post(url, data={f"{feedback}-rule": "sessions"})
    assert response.status_code == 302
    assert "EFS's schedule for Jordan is saved" in page_text(t.get(response.headers["Location"]))

    c = browser(app, client)
    home = page_text(c.get("/me/"))
    assert "EFS" in home
    done = c.post(f"/me/questionnaires/week/2/{feedback}", data=answers([4, 1, 3, 2]))
    assert done.status_code == 302
    row = db.scalar(sa.select(Administration).where(Administration.instrument_code == feedback))
    assert row is not None and (row.week, row.slot, row.total) == (2, "scheduled", 14)

    assert t.post(url, data={f"{feedback}-rule": "none"}).status_code == 302
    assert "EFS" not in page_text(c.get("/me/"))
    assert c.get(f"/me/questionnaires/week/2/{feedback}").status_code == 404
    assert db.get(Administration, row.id) is not None  # what was answered stays
    changes = db.scalars(
        sa.select(AuditEvent.user_id).where(
            AuditEvent.action == "change", AuditEvent.object_type == "plan"
        )
    ).all()
    assert changes == [therapist.id, therapist.id]


def test_a_wrong_schedule_keeps_what_was_typed_next_to_the_field(app, db, care):  # noqa: F811
    therapist, client, at_week = care
    plan = at_week(1)
    t = browser(app, therapist)
    url = f"/therapist/clients/{client.id}/plan/schedule/wsas"
    response = t.post(url, data={"wsas-rule": "weeks", "wsas-weeks": "1, 6, twelve"})
    assert response.status_code == 422
    soup = BeautifulSoup(response.data, "html.parser")
    box = soup.find("input", {"name": "wsas-weeks"})
    assert box["value"] == "1, 6, twelve" and box["aria-invalid"] == "true"
    error = soup.find(id=f"{box['id']}-error")
    assert error is not None and "for example 1, 4, 8, 12" in error.get_text()
    assert soup.find("input", {"name": "wsas-rule", "value": "weeks"}).has_attr("checked")
    db.refresh(plan)
    assert plan.measure_schedules == {}


def test_the_record_links_to_the_schedule_and_the_page_says_what_is_given(app, db, care):  # noqa: F811
    therapist, client, at_week = care
    plan = at_week(1)
    with app.app_context():
        plans.set_schedule(db, plan, "phq9", "sessions")
        plans.set_schedule(db, plan, "csi4", "none")
        db.commit()
    t = browser(app, therapist)
    record = BeautifulSoup(t.get(f"/therapist/clients/{client.id}").data, "html.parser")
    assert record.find("a", href=f"/therapist/clients/{client.id}/plan/schedule")
    text = page_text(t.get(f"/therapist/clients/{client.id}/plan/schedule"))
    assert "PHQ-9Before every session (every week)" in text
    assert "CSI-4Not given" in text
    assert "GAD-7As the program schedules it (weeks 1, 3, 5, 6, 7, 9, 11, 12)" in text


# --- reminders follow the schedule (a real SMTP server) ----------------------------------------


def test_a_schedule_change_changes_the_reminder_emails(app, db, inbox, make_user):  # noqa: F811
    therapist = make_user(Role.THERAPIST)
    every = make_user(Role.CLIENT, therapist=therapist, name="Casey Weekly")
    program = make_user(Role.CLIENT, therapist=therapist, name="Robin Program")
    with app.app_context():
        for person in (every, program):
            # first session Monday 2 March 2026; week 2's questionnaires are due Sunday 15th
            record_screen(db, person, therapist, on=dt.date(2000, 1, 1))
            plans.start_plan(db, person, therapist, dt.date(2026, 3, 2), 0)
        db.commit()
        plan = plans.open_plan(db, every)
        assert plan is not None
        plans.set_schedule(db, plan, "phq9", "sessions")
        plans.set_schedule(db, plan, "csi4", "none")
        db.commit()
    # Week 1: the baseline battery, less the CSI-4 dropped for one client.
    run(app, at(7, 12))
    texts = {to[0]: body(m) for to, m in received(inbox, "reminder")}
    assert "3 questionnaires due tomorrow" in texts[every.email]
    assert "4 questionnaires due tomorrow" in texts[program.email]
    # Week 2: the program gives no questionnaire; PHQ-9 before every session does.
    run(app, at(14, 12))
    texts = {to[0]: body(m) for to, m in received(inbox, "reminder")}
    assert "A questionnaire due tomorrow" in texts[every.email]
    assert "questionnaire" not in texts[program.email]
