"""Malformed input answers with a page that says what was wrong, never a server error: ids out
of range in URLs, stale or impossible versions, far dates, worksheet buttons that do not
exist, and control characters in text (PostgreSQL refuses NUL in text)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup
from werkzeug.routing.converters import NumberConverter

from clinic import notes, text
from clinic.models import Assignment, Plan, Role, SessionNote, Submission, User
from clinic.web import IdConverter

from .conftest import PASSWORD, record_screen
from .test_access import _rules

HUGE_IDS = [str(2**63), str(2**63 - 1), str(2**31), str(10**30), "9" * 5000, "0"]
BAD_VERSIONS = [str(10**30), str(2**63), "abc", "-1", "", "1e3", "٣"]
STALE = "was changed somewhere else"


def soup(response):  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.data, "html.parser")


def field_error(response, field_id: str) -> str:  # type: ignore[no-untyped-def]
    """The message shown next to a field (the _macros.html error paragraph), or ''."""
    found = soup(response).find(id=f"{field_id}-error")
    return found.get_text(" ", strip=True) if found else ""


def version_on(response) -> str:  # type: ignore[no-untyped-def]
    return soup(response).find("input", attrs={"name": "version"})["value"]


@pytest.fixture
def world(app, db, make_user, make_plan):  # type: ignore[no-untyped-def]
    """A therapist and their client with a running plan and a draft note, both signed in."""
    therapist = make_user(Role.THERAPIST)
    client = make_user(Role.CLIENT, therapist=therapist)
    today = dt.date.today()
    plan = make_plan(client, therapist, start=today, weekday=today.weekday())
    thought = next(a.id for a in plan.assignments if a.worksheet_key == "thought_record")
    with app.app_context():
        note = notes.start_note(db, client, therapist, today)
        db.commit()
    t, c = app.test_client(), app.test_client()
    for browser, user in ((t, therapist), (c, client)):
        assert browser.post("/sign-in", data={"email": user.email, "password": PASSWORD})
    return {
        "t": t,
        "c": c,
        "client": client,
        "therapist": therapist,
        "plan": plan.id,
        "thought": thought,
        "note": note.id,
        "base": f"/therapist/clients/{client.id}",
    }


# --- ids in URLs -----------------------------------------------------------------------------


@pytest.mark.parametrize("number", HUGE_IDS)
def test_an_id_beyond_any_record_is_not_found(world, number):
    t, c, base = world["t"], world["c"], world["base"]
    for browser, url in (
        (t, f"/therapist/clients/{number}"),
        (t, f"{base}/notes/{number}"),
        (t, f"{base}/assignments/{number}"),
        (c, f"/me/homework/{number}"),
        (c, f"/me/check-in/{number}"),
    ):
        response = browser.get(url)
        assert response.status_code == 404, url
        assert "Page not found" in response.get_data(as_text=True)
    post = t.post(f"{base}/assignments/{number}/remove", data={"version": "1"})
    assert post.status_code == 404


@pytest.mark.parametrize("number", [str(2**31), str(2**63), str(10**30), "-1", "x"])
def test_the_audit_log_filters_by_any_number_without_a_server_error(app, make_user, number):
    admin = make_user(Role.ADMIN)
    browser = app.test_client()
    assert browser.post("/sign-in", data={"email": admin.email, "password": PASSWORD})
    for query in (f"user={number}", f"before={number}"):
        response = browser.get(f"/admin/audit?{query}")
        assert response.status_code == 200, query
        assert "Audit log" in response.get_data(as_text=True)


def test_every_whole_number_in_a_route_is_bounded():
    """Every number in every route (each <int:...>) goes through IdConverter: 1 to
    text.MAX_ID."""
    numeric = [
        (rule.rule, name, converter)
        for _, _, rule in _rules()
        for name, converter in rule._converters.items()
        if isinstance(converter, NumberConverter)
    ]
    assert len(numeric) > 30
    for rule, name, converter in numeric:
        assert isinstance(converter, IdConverter), (rule, name)
        assert (converter.min, converter.max) == (1, text.MAX_ID), (rule, name)


# --- versions --------------------------------------------------------------------------------


def test_a_plan_change_with_an_impossible_version_is_refused_and_says_why(world, db):
    t, base = world["t"], world["base"]
    for version in BAD_VERSIONS:
        discharge = {"reason": "completed", "risk": "None known."}
        for change, more in (("pause", {}), ("finish", discharge)):
            response = t.post(f"{base}/plan/{change}", data={"version": version, **more})
            assert response.status_code == 409, (change, version)
            assert STALE in response.get_data(as_text=True)
    db.expire_all()
    assert db.get(Plan, world["plan"]).status == "active"


def test_homework_changes_with_an_impossible_version_are_refused(world, db):
    t, base, thought = world["t"], world["base"], world["thought"]
    count = db.scalar(sa.select(sa.func.count(Assignment.id)))
    week = db.get(Assignment, thought).week
    for version in BAD_VERSIONS:
        added = t.post(
            f"{base}/assignments/new",
            data={"worksheet": "thought_record", "week": "2", "version": version},
        )
        assert added.status_code == 409 and "nothing was added" in added.get_data(as_text=True)
        edited = t.post(
            f"{base}/assignments/{thought}",
            data={"week": "5", "instruction": "Typed here", "version": version},
        )
        assert edited.status_code == 409
        assert STALE in soup(edited).find(id="stale").get_text()
        assert soup(edited).find(id="instruction").get_text().strip() == "Typed here"
        removed = t.post(f"{base}/assignments/{thought}/remove", data={"version": version})
        assert removed.status_code == 409 and STALE in removed.get_data(as_text=True)
    db.expire_all()
    assert db.scalar(sa.select(sa.func.count(Assignment.id))) == count
    kept = db.get(Assignment, thought)
    assert (kept.week, kept.removed_at) == (week, None)


@pytest.mark.parametrize("version", BAD_VERSIONS)
def test_a_note_saved_with_an_impossible_version_keeps_the_typing_for_a_choice(world, db, version):
    t, base, note_id = world["t"], world["base"], world["note"]
    response = t.post(
        f"{base}/notes/{note_id}",
        data={
            "session_date": dt.date.today().isoformat(),
            "duration_minutes": "50",
            "attendance": "attended",
            "format": "video",
            "assessment": "What I typed",
            "version": version,
        },
    )
    assert response.status_code == 409
    assert "What I typed" in response.get_data(as_text=True)  # kept on the conflict page
    db.expire_all()
    assert db.get(SessionNote, note_id).assessment is None


def test_homework_saved_with_an_impossible_version_is_not_saved(world, db):
    c, thought = world["c"], world["thought"]
    for version in BAD_VERSIONS:
        row = {"entries-0-situation": "A talk", "version": version}
        saved = c.post(f"/me/homework/{thought}", data=row | {"action": "save"})
        assert saved.status_code == 409, version
        assert c.post(f"/me/homework/{thought}/autosave", data=row).status_code == 409
    assert db.scalar(sa.select(Submission)) is None


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize("day", ["9999-12-31", "1899-12-31"])
def test_a_far_date_gets_a_message_next_to_the_field(app, db, make_user, world, day):
    therapist, base, thought = world["therapist"], world["base"], world["thought"]
    t = world["t"]
    other = make_user(Role.CLIENT, therapist=db.get(User, therapist.id))
    with app.app_context():
        record_screen(db, other, db.get(User, therapist.id))
        db.commit()
    start = t.post(
        f"/therapist/clients/{other.id}/plan/start", data={"start": day, "session_weekday": "0"}
    )
    assert start.status_code == 422
    assert field_error(start, "start") == "Error: " + text.DATE_RANGE_MESSAGE
    assert db.scalar(sa.select(Plan).where(Plan.client_id == other.id)) is None
    version = version_on(t.get(f"{base}/assignments/{thought}"))
    moved = t.post(
        f"{base}/assignments/{thought}", data={"week": "1", "due_on": day, "version": version}
    )
    assert moved.status_code == 422
    assert text.DATE_RANGE_MESSAGE in field_error(moved, "due_on")
    note = t.post(
        f"{base}/notes/{world['note']}",
        data={
            "session_date": day,
            "duration_minutes": "50",
            "attendance": "attended",
            "format": "video",
            "version": version_on(t.get(f"{base}/notes/{world['note']}")),
        },
    )
    assert note.status_code == 422
    assert text.DATE_RANGE_MESSAGE in field_error(note, "session_date")
    c = world["c"]
    sent = c.post(
        f"/me/homework/{thought}",
        data={"entries-0-date": day, "version": "0", "action": "submit"},
    )
    assert sent.status_code == 422
    assert text.DATE_RANGE_MESSAGE in field_error(sent, "entries-0-date")


# --- worksheet buttons -----------------------------------------------------------------------


UNKNOWN_ACTIONS = [
    "add:nope",
    "remove:nope:0",
    "add:situation",  # not a repeating section of the thought record
    "remove:entries:abc",
    "remove:entries:" + "9" * 5000,
    "add:entries:1",
    "bogus",
    "",
]


def test_a_worksheet_button_that_does_not_exist_is_a_bad_request(world, db):
    c, thought = world["c"], world["thought"]
    for action in UNKNOWN_ACTIONS:
        response = c.post(
            f"/me/homework/{thought}",
            data={"entries-0-situation": "Typed", "version": "0", "action": action},
        )
        assert response.status_code == 400, action
        page = response.get_data(as_text=True)
        assert "That button is not part of this worksheet, so nothing was saved" in page
        assert soup(response).find(id="entries-0-situation").get_text().strip() == "Typed"
    assert db.scalar(sa.select(Submission)) is None


def test_the_worksheet_buttons_on_the_page_still_work(world):
    c, thought = world["c"], world["thought"]
    row = {"entries-0-situation": "Typed"}
    added = c.post(f"/me/homework/{thought}", data=row | {"version": "0", "action": "add:entries"})
    assert added.status_code == 200 and soup(added).find(id="entries-1-situation") is not None
    removed = c.post(
        f"/me/homework/{thought}",
        data=row | {"version": version_on(added), "action": "remove:entries:1"},
    )
    assert removed.status_code == 200 and soup(removed).find(id="entries-1-situation") is None


# --- control characters ----------------------------------------------------------------------

CONTROLS = ["\x00", "\x1b", "\x85"]


@pytest.mark.parametrize("char", CONTROLS)
def test_control_characters_get_a_message_next_to_the_field(world, db, char):
    t, c, base, thought = world["t"], world["c"], world["base"], world["thought"]
    named = t.post("/therapist/clients/new", data={"display_name": f"Sam{char}"})
    assert named.status_code == 422
    assert field_error(named, "display_name") == "Error: " + text.CONTROL_MESSAGE
    assert db.scalar(sa.select(User).where(User.display_name.like("Sam%"))) is None
    version = version_on(t.get(f"{base}/assignments/{thought}"))
    instruction = t.post(
        f"{base}/assignments/{thought}",
        data={"week": "1", "instruction": f"Line one\nline{char}two", "version": version},
    )
    assert instruction.status_code == 422
    assert text.CONTROL_MESSAGE in field_error(instruction, "instruction")
    check_in = c.post("/me/check-in/1", data={"trust": "5", "distress": "5", "note": f"a{char}"})
    assert check_in.status_code == 422
    assert text.CONTROL_MESSAGE in field_error(check_in, "note")
    # A worksheet keeps the draft as typed (drafts keep everything) but will not send it.
    sent = c.post(
        f"/me/homework/{thought}",
        data={"entries-0-situation": f"A talk{char}", "version": "0", "action": "submit"},
    )
    assert sent.status_code == 422
    assert text.CONTROL_MESSAGE in field_error(sent, "entries-0-situation")
    assert db.scalar(sa.select(Submission)).status == "draft"


def test_tabs_and_line_breaks_are_fine_in_long_text_but_not_in_a_name(world, db):
    t, base, thought = world["t"], world["base"], world["thought"]
    version = version_on(t.get(f"{base}/assignments/{thought}"))
    saved = t.post(
        f"{base}/assignments/{thought}",
        data={"week": "1", "instruction": "One\r\n\ttwo", "version": version},
    )
    assert saved.status_code == 302
    db.expire_all()
    assert db.get(Assignment, thought).instruction == "One\r\n\ttwo"
    named = t.post("/therapist/clients/new", data={"display_name": "Sam\tLee"})
    assert text.CONTROL_MESSAGE in field_error(named, "display_name")


@pytest.mark.parametrize("email", ["a\x00b@example.org", "therapist1@example.org\x00"])
def test_a_control_character_in_the_sign_in_email_is_a_failed_sign_in(app, make_user, email):
    make_user(Role.THERAPIST)  # therapist1@example.org exists
    response = app.test_client().post("/sign-in", data={"email": email, "password": PASSWORD})
    assert response.status_code == 422
    page = soup(response)
    assert "Email or password is incorrect." in page.get_text()
    assert page.find(id="email-error") is None  # the same answer as any wrong address


def test_every_form_of_the_app_checks_text_and_dates():
    """Every form class derives from clinic.web.forms.Form, where the checks live."""
    from flask_wtf import FlaskForm

    from clinic import admin, auth, client, therapist  # noqa: F401 (their forms, defined)
    from clinic.web.forms import Form

    seen, todo = set(), [FlaskForm]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    outside = sorted(
        f"{cls.__module__}.{cls.__name__}"
        for cls in seen
        if cls.__module__.startswith("clinic") and not issubclass(cls, Form)
    )
    assert not outside
    assert len([cls for cls in seen if cls.__module__.startswith("clinic.")]) > 20
