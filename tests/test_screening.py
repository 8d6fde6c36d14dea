"""The suitability and safety screen before a plan: its content, the therapist's form, the
refusal to start a plan without it, the weeks it changes, and where it is shown and printed."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from clinic import create_app, erasure, plans
from clinic.library import CONTENT_DIR, ContentError, load_library
from clinic.models import Assignment, AuditEvent, Plan, Role, Screen

from .conftest import record_screen
from .test_auth import page_text
from .test_plans import SCREEN_AREAS, browser, screen_form
from .test_reports import pdf_text

SCREEN_FILE = CONTENT_DIR / "screens" / "suitability.toml"
CONTROL_NOTE = "Checks partner's location most evenings; partner says it feels controlling."


@pytest.fixture
def people(make_user):  # type: ignore[no-untyped-def]
    therapist = make_user(Role.THERAPIST, name="Dr Rivers")
    client = make_user(Role.CLIENT, therapist=therapist, name="Jordan")
    return therapist, client


def soup(response):  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.data, "html.parser")


def start_form(day: dt.date | None = None) -> dict[str, str]:
    day = day or dt.date.today()
    return {"start": day.isoformat(), "session_weekday": str(day.weekday())}


def plan_count(db) -> int:  # type: ignore[no-untyped-def]
    return db.scalar(sa.select(sa.func.count()).select_from(Plan))


# --- content ----------------------------------------------------------------------------------


def test_the_shipped_screen_asks_about_every_area_the_program_names():
    screen = load_library(CONTENT_DIR).screen
    titles = " ".join(s.title + " " + s.intro for s in screen.sections).lower()
    for words in (
        "harmed or controlled by a partner",  # being harmed, coercive control
        "own checking, controlling or aggressive",  # the client's own behaviour
        "risk to others",
        "suicide and self-harm",
        "trauma",
        "infidelity",
        "jealousy",
        "delusional",
        "alcohol and drug",
        "children in the household",
    ):
        assert words in titles, words
    outcome = screen.section("outcome")
    assert [v for v, _ in outcome.field("outcome").choices] == [
        "suitable",
        "with_changes",
        "not_suitable",
    ]
    assert {f.key for f in outcome.fields} >= {f"week_{n}" for n in range(5, 10)} | {"referral"}
    # the sources are cited in the file
    source = SCREEN_FILE.read_text(encoding="utf-8")
    for cited in ("PH50", "Stark", "NG225", "NG116", "Kingham", "Working Together"):
        assert cited in source


def test_a_practice_can_replace_the_screen_but_not_break_its_outcome(tmp_path):
    extra = tmp_path / "extra"
    (extra / "screens").mkdir(parents=True)
    own = SCREEN_FILE.read_text(encoding="utf-8").replace(
        'title = "Suitability and safety screen"', 'title = "Harbour Street intake screen"'
    )
    (extra / "screens" / "suitability.toml").write_text(own, encoding="utf-8")
    assert load_library(CONTENT_DIR, extra).screen.title == "Harbour Street intake screen"
    broken = own.replace('["suitable", "Suitable"]', '["fine", "Fine"]')
    (extra / "screens" / "suitability.toml").write_text(broken, encoding="utf-8")
    with pytest.raises(ContentError, match=r"suitability\.toml: the outcome's choices must be"):
        load_library(CONTENT_DIR, extra)
    weeks = own.replace('key = "week_9"', 'key = "week_13"')
    (extra / "screens" / "suitability.toml").write_text(weeks, encoding="utf-8")
    with pytest.raises(ContentError, match="'week_13' names no week of the plan"):
        load_library(CONTENT_DIR, extra)


def test_a_broken_practice_screen_stops_the_app_at_start_up(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    (instance / "content" / "screens").mkdir(parents=True)
    text = SCREEN_FILE.read_text(encoding="utf-8").replace(
        'key = "partner_harm"', 'key = "partner_harm"\nrepeat = true', 1
    )
    (instance / "content" / "screens" / "suitability.toml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("CLINIC_INSTANCE_PATH", str(instance))
    with pytest.raises(
        ContentError, match="section 'partner_harm' must be a single section with a choice 'status'"
    ):
        create_app({"SECRET_KEY": "x" * 32, "DATABASE_URL": "sqlite://"})


# --- no plan without a screen ---------------------------------------------------------------


def test_a_plan_cannot_start_until_a_screen_is_recorded(app, db, people):
    therapist, client = people
    t = browser(app, therapist)
    page = t.get(f"/therapist/clients/{client.id}/plan/start")
    refusal = soup(page).find(id="screen-needed")
    assert refusal is not None and "record the suitability and safety screen first" in (
        refusal.get_text(" ").lower()
    )
    assert refusal.find("a")["href"] == f"/therapist/clients/{client.id}/screen"
    assert soup(page).find("button", string="Start the plan") is None  # no form to start it
    response = t.post(f"/therapist/clients/{client.id}/plan/start", data=start_form())
    assert response.status_code == 422
    assert "record the suitability and safety screen first" in page_text(response).lower()
    assert plan_count(db) == 0
    record = t.get(f"/therapist/clients/{client.id}")
    assert "Record the screen" in page_text(record)
    assert "Start the 12-week plan" not in page_text(record)
    # once screened, the plan starts
    assert t.post(f"/therapist/clients/{client.id}/screen", data=screen_form()).status_code == 302
    assert (
        t.post(f"/therapist/clients/{client.id}/plan/start", data=start_form()).status_code == 302
    )
    assert plan_count(db) == 1


def test_a_not_suitable_screen_keeps_the_plan_from_starting(app, db, people):
    therapist, client = people
    t = browser(app, therapist)
    referral = "Referred to the local domestic abuse service; client agreed and has the number."
    data = screen_form("not_suitable", **{"outcome-referral": referral})
    assert t.post(f"/therapist/clients/{client.id}/screen", data=data).status_code == 302
    response = t.post(f"/therapist/clients/{client.id}/plan/start", data=start_form())
    assert response.status_code == 422 and "not suitable" in page_text(response)
    assert plan_count(db) == 0
    record = page_text(t.get(f"/therapist/clients/{client.id}"))
    assert "Not suitable" in record and referral in record


# --- the form ---------------------------------------------------------------------------------


def test_the_form_asks_for_notes_on_a_current_concern_and_keeps_what_was_typed(app, db, people):
    therapist, client = people
    t = browser(app, therapist)
    data = screen_form("not_suitable", **{"own_behaviour-status": "now", "trauma-notes": "Typed"})
    response = t.post(f"/therapist/clients/{client.id}/screen", data=data)
    assert response.status_code == 422
    page = soup(response)
    # each problem next to its field, and listed at the top
    assert "Please answer this" in page.find(id="own_behaviour-notes").find_parent().get_text()
    assert "Please answer this" in page.find(id="outcome-referral").find_parent().get_text()
    assert len(page.find(id="error-summary").find_all("li")) == 2
    # the summary names the part, since every area asks "What you learned and what you did"
    assert "The client's own checking" in page.find(id="error-summary").get_text()
    assert page.find(id="trauma-notes").get_text().strip() == "Typed"
    assert page.find("input", attrs={"name": "own_behaviour-status", "value": "now"}).has_attr(
        "checked"
    )
    assert db.scalar(sa.select(sa.func.count()).select_from(Screen)) == 0


def test_every_area_and_the_outcome_must_be_answered(app, db, people):
    therapist, client = people
    t = browser(app, therapist)
    response = t.post(
        f"/therapist/clients/{client.id}/screen", data={"outcome-outcome": "suitable"}
    )
    assert response.status_code == 422
    errors = soup(response).find(id="error-summary").find_all("li")
    assert len(errors) == len(SCREEN_AREAS)
    past = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    response = t.post(
        f"/therapist/clients/{client.id}/screen",
        data=screen_form(**{"outcome-review_on": past}),
    )
    assert response.status_code == 422 and "Choose a date after today" in page_text(response)


# --- recorded, encrypted, audited, shown ----------------------------------------------------


def test_a_screen_is_encrypted_audited_and_leads_the_record(app, db, people):
    therapist, client = people
    t = browser(app, therapist)
    data = screen_form(
        "with_changes",
        **{
            "own_behaviour-status": "now",
            "own_behaviour-notes": CONTROL_NOTE,
            "trauma-status": "past",
            "outcome-week_7": "adapted",
            "outcome-week_8": "left_out",
            "outcome-changes": "Conversations practised with a sibling first.",
        },
    )
    assert t.post(f"/therapist/clients/{client.id}/screen", data=data).status_code == 302
    stored = db.execute(sa.text("SELECT answers, outcome, week_changes FROM screen")).one()
    assert "location" not in str(stored[0]) and "sibling" not in str(stored[0])
    assert stored[1] == "with_changes"
    screen = db.scalars(sa.select(Screen)).one()
    assert screen.week_changes == {"7": "adapted", "8": "left_out"}
    assert screen.answers["own_behaviour"]["notes"] == CONTROL_NOTE
    page = soup(t.get(f"/therapist/clients/{client.id}"))
    cards = page.find_all("section", class_="card")
    assert cards[0]["id"] == "screen"  # before the account, the plan and everything else
    card = cards[0].get_text(" ")
    assert (
        "Suitable with changes" in card and "week 7 adapted" in card and "week 8 left out" in card
    )
    assert CONTROL_NOTE in card
    # the concern now comes before the one in the past
    assert card.index("own checking") < card.index("Trauma")
    screen_page = t.get(f"/therapist/clients/{client.id}/screens/{screen.id}")
    assert CONTROL_NOTE in page_text(screen_page)
    events = db.execute(
        sa.select(AuditEvent.action, AuditEvent.object_type, AuditEvent.object_id).where(
            AuditEvent.object_type == "screen"
        )
    ).all()
    assert ("create", "screen", screen.id) in events and ("view", "screen", screen.id) in events


def test_a_screen_of_another_client_is_not_found_through_this_clients_address(
    app, db, people, make_user
):
    therapist, client = people
    other = make_user(Role.CLIENT, therapist=therapist, name="Sam")
    with app.app_context():
        theirs = record_screen(db, other, therapist)
        db.commit()
    t = browser(app, therapist)
    assert t.get(f"/therapist/clients/{client.id}/screens/{theirs.id}").status_code == 404
    assert t.get(f"/therapist/clients/{other.id}/screens/{theirs.id}").status_code == 200


# --- the weeks a screen changes -------------------------------------------------------------


def test_weeks_left_out_get_no_homework_and_adapted_weeks_say_so(
    app, db, people, make_plan, signed_in
):
    therapist, client = people
    with app.app_context():
        record_screen(db, client, therapist, "with_changes", weeks={7: "adapted", 8: "left_out"})
        db.commit()
    plan = make_plan(client, therapist, week=7)
    assert {a.week for a in plan.assignments} == set(range(1, 13)) - {8}
    record = signed_in(therapist).get(f"/therapist/clients/{client.id}")
    week7 = soup(record).find(id="week-7").get_text(" ")
    assert "Adapted: not towards a partner" in week7 and "For you:" in week7
    week8 = soup(record).find(id="week-8").get_text(" ")
    assert "Left out after the screen" in week8 and "No homework this week" in week8
    home = soup(signed_in(client).get("/me/"))
    notice = home.find(id="week-changed").get_text(" ")
    assert "Your therapist has adapted this week for you" in notice
    assert "rather than a partner" in notice  # the program's own adapted text for week 7


def test_a_client_in_a_left_out_week_is_told_without_the_partner_exercises(
    app, db, people, make_plan, signed_in
):
    therapist, client = people
    with app.app_context():
        record_screen(db, client, therapist, "with_changes", weeks={5: "left_out"})
        db.commit()
    make_plan(client, therapist, week=5)
    home = soup(signed_in(client).get("/me/"))
    assert "agreed to leave this week's exercises out" in home.find(id="week-changed").get_text()
    assert home.find("details", class_="reading") is None


def test_screening_again_changes_only_the_weeks_still_to_come(app, db, people, make_plan):
    therapist, client = people
    plan = make_plan(client, therapist, week=6)
    early = next(a for a in plan.assignments if a.week == 9 and a.worksheet_key == "positive_log")
    t = browser(app, therapist)
    with app.app_context():  # the client started week 9's positive log early: a draft
        plans.save_draft(db, db.get(Assignment, early.id), client, {}, 0)
        db.commit()
    data = screen_form(
        "with_changes",
        **{
            "partner_harm-status": "now",
            "partner_harm-notes": "Disclosed threats from partner in session 6.",
            "outcome-week_5": "left_out",  # past: stays as it was
            "outcome-week_8": "left_out",
            "outcome-week_9": "left_out",
            "outcome-changes": "Remaining partner-facing weeks left out after disclosure.",
        },
    )
    response = t.post(f"/therapist/clients/{client.id}/screen", data=data)
    assert response.status_code == 302
    db.expire_all()
    plan = db.get(Plan, plan.id)
    live = {(a.week, a.worksheet_key) for a in plan.assignments if a.removed_at is None}
    assert (5, "trust_ladder") in live  # week 5 has passed
    assert not any(week == 8 for week, _ in live)
    assert (9, "positive_log") in live  # the client's draft keeps it
    assert (9, "behavioural_experiment") not in live
    assert plan.screen.week_changes["9"] == "left_out"
    flashed = page_text(t.get(f"/therapist/clients/{client.id}"))
    assert "week 8: homework taken out" in flashed and "week 9: homework taken out" in flashed
    # screening again as suitable puts week 8's homework back
    t.post(f"/therapist/clients/{client.id}/screen", data=screen_form())
    db.expire_all()
    plan = db.get(Plan, plan.id)
    assert any(a.week == 8 and a.removed_at is None for a in plan.assignments)


def test_a_not_suitable_screen_during_a_plan_asks_the_therapist_to_act(app, db, people, make_plan):
    therapist, client = people
    make_plan(client, therapist, week=3)
    t = browser(app, therapist)
    data = screen_form("not_suitable", **{"outcome-referral": "Referred for specialist help."})
    t.post(f"/therapist/clients/{client.id}/screen", data=data)
    record = soup(t.get(f"/therapist/clients/{client.id}"))
    card = record.find(id="screen").get_text(" ")
    assert "The plan is still running" in card and "pause or finish it" in card
    history = [s.outcome for s in plans.screening.screens_of(db, client)]
    assert history == ["not_suitable", "suitable"]  # the earlier screen is kept


# --- printed and exported -------------------------------------------------------------------


def test_the_screen_is_in_the_progress_report_and_the_record_zip_but_not_the_clients_copy(
    app, db, people, make_plan, signed_in
):
    therapist, client = people
    with app.app_context():
        long_note = ("Checks partner's phone and location. " * 60)[:1985]  # the most it takes
        record_screen(
            db,
            client,
            therapist,
            "with_changes",
            weeks={7: "adapted"},
            areas={"own_behaviour": {"status": "now", "notes": long_note + "END-OF-NOTE"}},
            on=dt.date.today() - dt.timedelta(days=14),
        )
        db.commit()
    make_plan(client, therapist, week=2)
    t = signed_in(therapist)
    report = pdf_text(t.get(f"/therapist/clients/{client.id}/progress-report.pdf").data)
    assert "Suitability and safety screen" in report
    assert "Suitable with changes; week 7 adapted (not towards a partner)" in report
    assert "END-OF-NOTE" in report  # the whole note, over a page break if need be
    archive = zipfile.ZipFile(io.BytesIO(t.get(f"/therapist/clients/{client.id}/record.zip").data))
    rows = list(csv.DictReader(io.StringIO(archive.read("suitability-screens.csv").decode())))
    own = next(
        r
        for r in rows
        if r["area"].startswith("The client's own") and r["question"].startswith("What you")
    )
    assert own["answer"].endswith("END-OF-NOTE") and own["outcome"] == "Suitable with changes"
    assert "Suitability and safety screen" in pdf_text(archive.read("progress-report.pdf"))
    mine = zipfile.ZipFile(io.BytesIO(signed_in(client).get("/me/my-record.zip").data))
    assert "suitability-screens.csv" not in mine.namelist()
    assert "Suitability" not in pdf_text(mine.read("progress-report.pdf"))


def test_a_report_as_of_a_date_shows_the_screen_of_that_time(app, db, people, make_plan):
    therapist, client = people
    with app.app_context():
        record_screen(db, client, therapist, on=dt.date.today() - dt.timedelta(days=30))
        record_screen(
            db, client, therapist, "not_suitable", on=dt.date.today() - dt.timedelta(days=1)
        )
        db.commit()
        from clinic import reports

        earlier = reports.gather_progress_report(
            db, client, dt.date.today(), end=dt.date.today() - dt.timedelta(days=10)
        )
        now = reports.gather_progress_report(db, client, dt.date.today())
    assert earlier.screen is not None and earlier.screen.outcome == "suitable"
    assert now.screen is not None and now.screen.outcome == "not_suitable"
    assert len(now.earlier_screens) == 1


def test_a_new_screen_changes_the_erasure_fingerprint(app, db, people):
    therapist, client = people
    with app.app_context():
        before = erasure.fingerprint(db, client)
        record_screen(db, client, therapist)
        assert erasure.fingerprint(db, client) != before
