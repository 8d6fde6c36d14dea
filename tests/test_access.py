"""The access matrix: every route in the app, walked as every kind of person.

A new route fails `test_every_route_is_classified` until it is added to ROUTES below, so no page
can ship without someone deciding who may see it.

The world the matrix walks is built once for the module and saved (DatabaseSnapshot); every
case starts from that saved database, restored just before it, with a new browser that signs
in through the real form. So no case sees what an earlier one did (signing out, pausing the
plan, erasing the client, deactivating someone, saving homework, audit rows, throttle counts).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup
from flask import url_for

from clinic import accounts, create_app, goals, notes, notifications, plans, questionnaires
from clinic.db import Base
from clinic.models import Notification, ProgressSignal, Role

from .conftest import (
    make_current,
    plan_factory,
    practice_factory,
    signed_in_client,
    submission_factory,
    user_factory,
)
from .test_reports import pdf_text

CLINICAL_TEXT = "Clinical words only the treating therapist reads"

PERSONAS = [
    "anonymous",
    "client",
    "other_client",
    "therapist",
    "other_therapist",
    "admin",
    "other_admin",
]


@dataclass(frozen=True)
class Access:
    """Who may use a route: `role` (None = public, "any" = anyone signed in, "staff" =
    therapists and admins); `scoped` routes name a record that only
    the persona of that role who owns it (not the 'other_' one) may reach."""

    role: str | None
    scoped: bool = False


PUBLIC = Access(None)
# The one PDF an admin may download: the practice outcome report (counts only, no names).
COUNTS_ONLY_PDFS = {"admin.outcomes_pdf"}
ROUTES: dict[str, Access] = {
    "static": PUBLIC,
    "auth.index": PUBLIC,
    "auth.sign_in": PUBLIC,
    "auth.forgotten_password": PUBLIC,
    "auth.sign_out": PUBLIC,
    "auth.accept_invitation": PUBLIC,
    "auth.sign_in_code": PUBLIC,
    "auth.reminders_off": PUBLIC,
    "health.healthz": PUBLIC,
    "health.readyz": PUBLIC,
    "auth.change_password": Access("any"),
    "auth.confirm_identity": Access("any"),
    "auth.account": Access("any"),
    "auth.change_email": Access("any"),
    "auth.two_step": Access("staff"),
    "auth.two_step_start": Access("staff"),
    "auth.two_step_confirm": Access("staff"),
    "auth.two_step_recovery_codes": Access("staff"),
    "auth.two_step_off": Access("staff"),
    "admin.reset_two_step": Access("admin", scoped=True),
    "admin.people": Access("admin"),
    "admin.retention": Access("admin"),
    "admin.outcomes": Access("admin"),
    "admin.outcomes_pdf": Access("admin"),
    "admin.outcomes_csv": Access("admin"),
    "admin.new_therapist": Access("admin"),
    "admin.new_invitation": Access("admin", scoped=True),
    "admin.revoke_invitation": Access("admin", scoped=True),
    "admin.email_invitation": Access("admin", scoped=True),
    "admin.deactivate": Access("admin", scoped=True),
    "admin.reactivate": Access("admin", scoped=True),
    "admin.safety_contact": Access("admin", scoped=True),
    "admin.settings": Access("admin"),
    "admin.audit_log": Access("admin"),
    "admin.transfer": Access("admin", scoped=True),
    "admin.clients": Access("admin"),
    "admin.erase_client": Access("admin", scoped=True),
    "admin.request_erasure": Access("admin", scoped=True),
    "admin.audit_export": Access("admin"),
    "admin.outbox": Access("admin"),
    "admin.retry_email": Access("admin", scoped=True),
    "therapist.notes_list": Access("therapist", scoped=True),
    "therapist.start_note": Access("therapist", scoped=True),
    "therapist.note": Access("therapist", scoped=True),
    "therapist.add_addendum": Access("therapist", scoped=True),
    "therapist.resolve_note_conflict": Access("therapist", scoped=True),
    "therapist.add_event": Access("therapist", scoped=True),
    "therapist.caseload": Access("therapist"),
    "therapist.send_questionnaire": Access("therapist", scoped=True),
    "therapist.in_session": Access("therapist", scoped=True),
    "therapist.alert": Access("therapist", scoped=True),
    "therapist.assign_safety_plan": Access("therapist", scoped=True),
    "therapist.new_client": Access("therapist"),
    "therapist.client_record": Access("therapist", scoped=True),
    "therapist.new_invitation": Access("therapist", scoped=True),
    "therapist.revoke_invitation": Access("therapist", scoped=True),
    "therapist.email_invitation": Access("therapist", scoped=True),
    "therapist.client_reminders": Access("therapist", scoped=True),
    "therapist.start_plan": Access("therapist", scoped=True),
    "therapist.new_screen": Access("therapist", scoped=True),
    "therapist.client_goals": Access("therapist", scoped=True),
    "therapist.progress_signal": Access("therapist", scoped=True),
    "therapist.review_progress_signal": Access("therapist", scoped=True),
    "therapist.add_goal": Access("therapist", scoped=True),
    "therapist.reword_goal": Access("therapist", scoped=True),
    "therapist.retire_goal": Access("therapist", scoped=True),
    "therapist.rate_goals": Access("therapist", scoped=True),
    "therapist.record_screen": Access("therapist", scoped=True),
    "therapist.screen": Access("therapist", scoped=True),
    "therapist.change_plan": Access("therapist", scoped=True),
    "therapist.finish_plan": Access("therapist", scoped=True),
    "therapist.plan_measures": Access("therapist", scoped=True),
    "therapist.measure_schedule": Access("therapist", scoped=True),
    "therapist.caseload_outcomes": Access("therapist"),
    "therapist.caseload_outcomes_pdf": Access("therapist"),
    "therapist.caseload_outcomes_csv": Access("therapist"),
    "therapist.change_schedule": Access("therapist", scoped=True),
    "therapist.new_assignment": Access("therapist", scoped=True),
    "therapist.edit_assignment": Access("therapist", scoped=True),
    "therapist.change_assignment": Access("therapist", scoped=True),
    "therapist.review": Access("therapist", scoped=True),
    "client.home": Access("client"),
    "client.history": Access("client"),
    "client.homework": Access("client", scoped=True),
    "client.save_homework": Access("client", scoped=True),
    "client.autosave": Access("client", scoped=True),
    "client.resolve_conflict": Access("client", scoped=True),
    "client.scheduled_questionnaire": Access("client", scoped=True),
    "client.requested_questionnaire": Access("client", scoped=True),
    "client.answered": Access("client", scoped=True),
    "client.check_in": Access("client", scoped=True),
    "client.progress": Access("client"),
    "client.goals_page": Access("client"),
    "client.add_goal": Access("client", scoped=True),
    "client.reword_goal": Access("client", scoped=True),
    "client.access_log": Access("client"),
    "client.progress_report_pdf": Access("client"),
    "client.record_bundle": Access("client"),
    "therapist.note_summary_pdf": Access("therapist", scoped=True),
    "therapist.worksheet_print": Access("therapist", scoped=True),
    "therapist.blank_worksheet": Access("therapist"),
    "client.homework_print": Access("client", scoped=True),
    "therapist.session_summary_pdf": Access("therapist", scoped=True),
    "therapist.progress_report_pdf": Access("therapist", scoped=True),
    "therapist.client_questionnaires_csv": Access("therapist", scoped=True),
    "therapist.client_homework_csv": Access("therapist", scoped=True),
    "therapist.client_check_ins_csv": Access("therapist", scoped=True),
    "therapist.client_fhir": Access("therapist", scoped=True),
    "therapist.client_bundle": Access("therapist", scoped=True),
    "therapist.caseload_questionnaires_csv": Access("therapist"),
    "therapist.caseload_homework_csv": Access("therapist"),
    "client.settings": Access("client"),
    "client.help_now": Access("client"),
}


@cache
def _rules():  # type: ignore[no-untyped-def]
    app = create_app({"TESTING": True, "SECRET_KEY": "x" * 32, "DATABASE_URL": "sqlite://"})
    return [
        (rule.endpoint, method, rule)
        for rule in app.url_map.iter_rules()
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    ]


def test_every_route_is_classified():
    endpoints = {endpoint for endpoint, _, _ in _rules()}
    missing = endpoints - ROUTES.keys()
    assert not missing, f"classify these routes in tests/test_access.py ROUTES: {sorted(missing)}"
    assert not ROUTES.keys() - endpoints, "ROUTES names routes that no longer exist"


# Route arguments that differ by endpoint (the defaults are in `world`).
OVERRIDES: dict[str, dict[str, object]] = {
    "admin.erase_client": {"user_id": "client_id"},
    "admin.request_erasure": {"user_id": "client_id"},
    "therapist.new_invitation": {"client_id": "pending_client"},
    "therapist.revoke_invitation": {"client_id": "pending_client"},
    "therapist.change_plan": {"change": "pause"},
    "therapist.change_assignment": {"change": "remove"},
    "therapist.client_reminders": {"change": "off"},
    "admin.safety_contact": {"change": "on"},
    "auth.reminders_off": {"token": "reminders_token"},
    "client.answered": {"administration_id": "completed_administration"},
    "therapist.resolve_note_conflict": {"revision_id": "note_revision_id"},
    "therapist.blank_worksheet": {"key": "thought_record"},
}


@pytest.fixture(scope="module")
def world(module_app, module_db, module_snapshot, module_fast_hashing):  # type: ignore[no-untyped-def]
    """Two therapists of one practice with a client each, a pending client and a pending
    therapist as URL targets, the practice admin, and an admin of another practice. Built once;
    module_snapshot keeps it for `fresh_world`."""
    app, db = module_app, module_db
    make_practice = practice_factory(db)
    make_user = user_factory(db, make_practice())
    make_plan = plan_factory(app, db)
    make_submission = submission_factory(app, db)
    therapist = make_user(Role.THERAPIST)
    other_therapist = make_user(Role.THERAPIST)
    people = {
        "therapist": therapist,
        "other_therapist": other_therapist,
        "client": make_user(Role.CLIENT, therapist=therapist),
        "other_client": make_user(Role.CLIENT, therapist=other_therapist),
        "admin": make_user(Role.ADMIN),
        "other_admin": make_user(Role.ADMIN, in_practice=make_practice("Elsewhere")),
    }
    pending_client = make_user(Role.CLIENT, therapist=therapist, password=None)
    pending_therapist = make_user(Role.THERAPIST, password=None)
    invitation = accounts.issue_invitation(db, pending_client, therapist)
    db.commit()
    plan = make_plan(people["client"], therapist, start=dt.date.today(), weekday=0)
    draft = make_submission(plan.assignments[0], {}, client=people["client"])
    with app.app_context():
        assignment_id = plan.assignments[0].id
        requested = questionnaires.request(db, people["client"], therapist, "gad7")
        note = notes.start_note(db, people["client"], therapist, dt.date.today())
        note.assessment = CLINICAL_TEXT  # no admin page or download may ever show it
        goal = goals.add_goal(db, people["client"], plan, CLINICAL_TEXT, people["client"])
        notes.add_event(db, people["client"], therapist, dt.date.today(), CLINICAL_TEXT)
        revision = plans.set_aside(db, draft, {}, people["client"])
        note_revision = notes.set_aside(db, note, therapist, notes.fields_of(note), "conflict")
        completed, raised = questionnaires.complete(
            db,
            people["client"],
            "phq9",
            {str(i): 1 for i in range(1, 10)},
            people["client"],
            plan=plan,
        )
        signal = ProgressSignal(
            client_id=people["client"].id,
            plan_id=plan.id,
            instrument_code="phq9",
            raised_on=dt.date.today(),
            updated_on=dt.date.today(),
            detail="PHQ-9 16 in week 3, above the expected 13.6 or lower (baseline 16).",
        )
        db.add(signal)
        db.commit()
        reminders_token = notifications.unsubscribe_token(people["client"])
        screen_id = plans.screening.latest(db, people["client"]).id
    email = Notification(
        practice_id=people["admin"].practice_id,
        recipient_id=therapist.id,
        kind="digest",
        key="digest:test",
        status="failed",
    )
    db.add(email)
    db.commit()
    values = {
        "client_id": people["client"].id,
        "pending_client": pending_client.id,
        "assignment_id": assignment_id,
        "administration_id": requested.id,
        "completed_administration": completed.id,
        "alert_id": raised[0].id,
        "note_id": note.id,
        "screen_id": screen_id,
        "goal_id": goal.id,
        "signal_id": signal.id,
        "revision_id": revision.id,
        "note_revision_id": note_revision.id,
        "week": 1,
        "code": "phq9",
        "user_id": pending_therapist.id,
        "token": invitation.token,
        "reminders_token": reminders_token,
        "notification_id": email.id,
        "filename": "app.css",
    }
    db.close()  # the people stay readable (loaded, not expired); no transaction stays open
    module_snapshot.take()
    return people, values


@pytest.fixture
def fresh_world(module_app, world, module_snapshot):  # type: ignore[no-untyped-def]
    """The world exactly as built (same rows, same ids), whatever earlier cases did to it."""
    module_snapshot.restore()
    make_current(module_app)
    return world


def _expected(access: Access, persona: str) -> str:
    if access.role is None:
        return "allowed"
    if persona == "anonymous":
        return "sign-in"
    if access.role == "any":
        return "allowed"
    role = persona.removeprefix("other_")
    if access.role == "staff":
        return "allowed" if role in ("therapist", "admin") else "not found"
    if role != access.role:
        return "not found"
    if access.scoped and persona.startswith("other_"):
        return "not found"
    return "allowed"


CASES = [(endpoint, method, persona) for endpoint, method, _ in _rules() for persona in PERSONAS]


def _url(app, values, endpoint: str, method: str) -> str:  # type: ignore[no-untyped-def]
    rule = next(r for e, m, r in _rules() if e == endpoint and m == method)
    with app.test_request_context():
        args = {arg: values.get(arg) for arg in rule.arguments}
        for arg, value in OVERRIDES.get(endpoint, {}).items():
            args[arg] = values[value] if isinstance(value, str) and value in values else value
        return url_for(endpoint, **args)


@pytest.mark.parametrize(("endpoint", "method", "persona"), CASES)
def test_access_matrix(module_app, fresh_world, endpoint, method, persona):  # type: ignore[no-untyped-def]
    people, values = fresh_world
    if persona == "anonymous":
        client = module_app.test_client()
    else:
        client = signed_in_client(module_app, people[persona])
    url = _url(module_app, values, endpoint, method)
    response = client.open(url, method=method)
    body = response.get_data()
    response.close()
    expected = _expected(ROUTES[endpoint], persona)
    if persona.endswith("admin"):  # admins read no clinical content, in any form
        assert CLINICAL_TEXT.encode() not in body, f"{persona} read clinical text at {url}"
        kind = response.headers.get("Content-Type", "")
        if endpoint in COUNTS_ONLY_PDFS and kind.startswith("application/pdf"):
            # the practice outcome report: counts only, read as text to be sure
            assert CLINICAL_TEXT not in pdf_text(body), f"{persona} read clinical text at {url}"
        else:
            assert not kind.startswith(("application/zip", "application/pdf")), (persona, url)
    location = response.headers.get("Location", "")
    if expected == "sign-in":
        assert response.status_code == 302 and location.startswith("/sign-in"), response.status_code
    elif expected == "not found":
        assert response.status_code == 404, (
            f"{persona} reached {method} {url}: {response.status_code}"
        )
    else:
        assert response.status_code < 500
        assert response.status_code not in (401, 403, 404) or endpoint == "auth.accept_invitation"
        assert not location.startswith("/sign-in") or endpoint in (
            "auth.sign_out",
            "auth.index",
            "auth.sign_in_code",  # with no password step pending it starts over
        )


def _dump(database_url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, as stored (clinical text still encrypted)."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {
                t.name: sorted(
                    (tuple(row) for row in conn.execute(sa.text(f'SELECT * FROM "{t.name}"'))),
                    key=repr,
                )
                for t in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def test_each_case_starts_from_the_world_as_built(
    module_app, fresh_world, module_snapshot, module_database_url
):  # type: ignore[no-untyped-def]
    """What the matrix's independence rests on: whatever requests change (here the plan
    paused, a person deactivated, sign-ins and a sign-out) is all undone before the next case."""
    people, values = fresh_world
    built = _dump(module_database_url)
    therapist = signed_in_client(module_app, people["therapist"])
    plan_page = therapist.get(_url(module_app, values, "therapist.client_record", "GET"))
    version = BeautifulSoup(plan_page.data, "html.parser").select_one(
        "form[action$='/plan/pause'] input[name=version]"
    )["value"]
    pause = _url(module_app, values, "therapist.change_plan", "POST")
    assert therapist.post(pause, data={"version": version}).status_code == 302
    assert therapist.post(_url(module_app, values, "auth.sign_out", "POST")).status_code == 302
    admin = signed_in_client(module_app, people["admin"])
    assert admin.post(_url(module_app, values, "admin.deactivate", "POST")).status_code == 302
    changed = _dump(module_database_url)
    for table in ("plan", "user_account", "audit_event"):
        assert changed[table] != built[table], table
    module_snapshot.restore()
    assert _dump(module_database_url) == built
