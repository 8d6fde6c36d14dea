"""Plans and homework as therapist and client live them: scheduling, tailoring, drafts,
submission, corrections, conflicts and review."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from clinic import plans
from clinic.library import CONTENT_DIR, load_library
from clinic.models import Assignment, Plan, Role, Submission, SubmissionRevision

from .conftest import PASSWORD, record_screen
from .test_auth import page_text
from .worksheet_data import valid_formdata

LIBRARY = load_library(CONTENT_DIR)
THOUGHT = LIBRARY.worksheets["thought_record"]


@pytest.fixture
def people(make_user):  # type: ignore[no-untyped-def]
    therapist = make_user(Role.THERAPIST, name="Dr Rivers")
    client = make_user(Role.CLIENT, therapist=therapist, name="Jordan")
    return therapist, client


def browser(app, user):  # type: ignore[no-untyped-def]
    c = app.test_client()
    response = c.post("/sign-in", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return c


def soup(response):  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.data, "html.parser")


def version_of(response) -> str:  # type: ignore[no-untyped-def]
    return soup(response).find("input", attrs={"name": "version"})["value"]


SCREEN_AREAS = (
    "partner_harm",
    "own_behaviour",
    "risk_to_others",
    "self_harm",
    "trauma",
    "infidelity",
    "jealousy",
    "substances",
    "children",
)


def screen_form(outcome: str = "suitable", **more: str) -> dict[str, str]:
    """What a therapist posts on the screen page: no concern in any area, and the outcome."""
    data = {f"{area}-status": "no" for area in SCREEN_AREAS}
    return data | {"outcome-outcome": outcome} | more


def start(app, people, first: dt.date, weekday: int):  # type: ignore[no-untyped-def]
    therapist, client = people
    t = browser(app, therapist)
    screened = t.post(f"/therapist/clients/{client.id}/screen", data=screen_form())
    assert screened.status_code == 302, page_text(screened)
    response = t.post(
        f"/therapist/clients/{client.id}/plan/start",
        data={"start": first.isoformat(), "session_weekday": str(weekday)},
    )
    assert response.status_code == 302, page_text(response)
    return t


def plan_of(db, client) -> Plan:  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalars(sa.select(Plan).where(Plan.client_id == client.id)).one()


def assignment(db, plan: Plan, key: str, week: int | None = None) -> Assignment:  # type: ignore[no-untyped-def]
    return next(
        a for a in plan.assignments if a.worksheet_key == key and (week is None or a.week == week)
    )


# --- scheduling -----------------------------------------------------------------------------


def test_starting_a_plan_schedules_twelve_weeks_of_homework(app, db, people):
    # Monday 2 March 2026, sessions on Tuesdays: the first session is Tuesday 3 March.
    start(app, people, dt.date(2026, 3, 2), 1)
    plan = plan_of(db, people[1])
    assert plan.first_session == dt.date(2026, 3, 3)
    keys = [(a.week, a.worksheet_key) for a in plan.assignments]
    assert len(keys) == 15 and keys[0] == (1, "trust_history") and keys[-1][0] == 12
    week1 = assignment(db, plan, "trust_history")
    assert week1.due_on == dt.date(2026, 3, 9)  # the Monday before the second session
    week12 = assignment(db, plan, "self_compassion_letter")
    assert week12.due_on == dt.date(2026, 5, 25)  # the day before session 13 (26 May)
    assert {a.week for a in plan.assignments if a.worksheet_key == "behavioural_experiment"} == {
        6,
        9,
    }


def test_a_second_plan_cannot_start_while_one_is_open(app, db, people):
    t = start(app, people, dt.date.today(), 2)
    response = t.post(
        f"/therapist/clients/{people[1].id}/plan/start",
        data={"start": dt.date.today().isoformat(), "session_weekday": "2"},
    )
    assert response.status_code == 422
    assert "already has a plan" in page_text(response)
    assert db.scalar(sa.select(sa.func.count()).select_from(Plan)) == 1


def test_start_form_errors_keep_the_input(app, people):
    therapist, client = people
    t = browser(app, therapist)
    t.post(f"/therapist/clients/{client.id}/screen", data=screen_form())
    response = t.post(
        f"/therapist/clients/{client.id}/plan/start",
        data={"start": "31/02/2026", "session_weekday": "3"},
    )
    assert response.status_code == 422
    page = soup(response)
    assert page.find(id="start-error") is not None
    assert page.find(id="start")["value"] == "31/02/2026"
    assert page.find("option", selected=True)["value"] == "3"


def test_this_week_page_shows_the_phase_topic_idea_and_homework(app, db, people):
    today = dt.date.today()
    start(app, people, today - dt.timedelta(days=7 * 3), (today - dt.timedelta(days=21)).weekday())
    c = browser(app, people[1])
    text = page_text(c.get("/me/"))
    program = LIBRARY.programs["trust12"]
    assert "Week 4 of 12" in text and program.week(4).phase in text
    assert program.week(4).topic in text and program.week(4).idea.split(".")[0] in text
    assert "Thought record" in text and "Not started yet" in text
    assert "Coming next week" in text and program.week(5).topic in text
    # Earlier weeks' homework that was never done is still offered, gently.
    assert "Still open from earlier weeks" in text and "Trust history timeline" in text


# --- tailoring ------------------------------------------------------------------------------


def test_therapist_tailors_one_clients_plan_without_touching_the_program(app, db, people):
    t = start(app, people, dt.date(2026, 3, 2), 0)
    client = people[1]
    plan = plan_of(db, client)
    url = f"/therapist/clients/{client.id}/assignments/new"
    form = {
        "worksheet": "positive_log",
        "week": "2",
        "instruction": "Try it with your sister too.",
        "version": soup(t.get(url)).find("input", attrs={"name": "version"})["value"],
    }
    assert t.post(url, data=form).status_code == 302
    # The same form sent again (a double click, the back button) adds nothing more.
    again = t.post(url, data=form)
    assert again.status_code == 409 and "so nothing was added" in page_text(again)
    plan = plan_of(db, client)
    added = [a for a in plan.assignments if a.week == 2 and a.worksheet_key == "positive_log"]
    assert len(added) == 1 and added[0].instruction == "Try it with your sister too."
    assert added[0].due_on == dt.date(2026, 3, 15)
    # Move the trust ladder from week 5 to week 6: its due date follows the week.
    ladder = assignment(db, plan, "trust_ladder")
    t.post(
        f"/therapist/clients/{client.id}/assignments/{ladder.id}",
        data={"week": "6", "due_on": ladder.due_on.isoformat(), "version": str(ladder.version)},
    )
    plan = plan_of(db, client)
    ladder = assignment(db, plan, "trust_ladder")
    assert ladder.week == 6 and ladder.due_on == dt.date(2026, 4, 12)
    # Change only the due date.
    t.post(
        f"/therapist/clients/{client.id}/assignments/{ladder.id}",
        data={"week": "6", "due_on": "2026-04-10", "version": str(ladder.version)},
    )
    assert plan_of(db, client) and db.get(Assignment, ladder.id).due_on == dt.date(2026, 4, 10)
    # The shared program is unchanged.
    assert load_library(CONTENT_DIR).programs["trust12"].week(5).worksheets == ("trust_ladder",)
    c = browser(app, client)
    assert "Try it with your sister too." in page_text(c.get(f"/me/homework/{added[0].id}"))


def test_tailoring_form_errors_are_shown_by_the_field(app, db, people):
    t = start(app, people, dt.date(2026, 3, 2), 0)
    response = t.post(
        f"/therapist/clients/{people[1].id}/assignments/new",
        data={"worksheet": "nope", "week": "13", "instruction": "kept"},
    )
    assert response.status_code == 422
    page = soup(response)
    assert page.find(id="week-error") and "1 to 12" in page.find(id="week-error").get_text()
    assert page.find(id="worksheet-error") is not None
    assert page.find(id="instruction").get_text().strip() == "kept"


def test_removing_homework_keeps_what_was_written_and_refuses_new_writes(app, db, people):
    t = start(app, people, dt.date.today(), dt.date.today().weekday())
    client = people[1]
    a = assignment(db, plan_of(db, client), "thought_record")
    c = browser(app, client)
    url = f"/me/homework/{a.id}"
    c.post(url, data=valid_formdata(THOUGHT) | {"action": "save", "version": "0"})
    saved = db.scalars(sa.select(Submission)).one()
    response = t.post(
        f"/therapist/clients/{client.id}/assignments/{a.id}/remove", data={"version": "1"}
    )
    assert response.status_code == 302
    before = (saved.version, dict(saved.answers))
    response = c.post(
        url, data=valid_formdata(THOUGHT) | {"action": "submit", "version": str(saved.version)}
    )
    assert response.status_code == 409
    assert "taken this homework out of your plan" in page_text(response)
    autosave = c.post(
        f"{url}/autosave", data=valid_formdata(THOUGHT) | {"version": str(saved.version)}
    )
    assert autosave.status_code == 409
    db.expire_all()
    kept = db.get(Submission, saved.id)
    assert (kept.version, kept.answers) == before and kept.status == "draft"
    record = page_text(t.get(f"/therapist/clients/{client.id}"))
    assert "Removed (answers kept)" in record
    t.post(f"/therapist/clients/{client.id}/assignments/{a.id}/restore", data={"version": "2"})
    assert (
        c.post(
            url, data=valid_formdata(THOUGHT) | {"action": "submit", "version": str(saved.version)}
        ).status_code
        == 302
    )


def test_pausing_stops_the_clock_and_resuming_moves_only_open_homework(app, db, people):
    today = dt.date.today()
    t = start(app, people, today, today.weekday())
    client = people[1]
    plan = plan_of(db, client)
    first = assignment(db, plan, "trust_history")
    c = browser(app, client)
    c.post(
        f"/me/homework/{first.id}",
        data=valid_formdata(LIBRARY.worksheets["trust_history"])
        | {"action": "submit", "version": "0"},
    )
    t.post(f"/therapist/clients/{client.id}/plan/pause", data={"version": "1"})
    plan = plan_of(db, client)
    assert plan.status == "paused" and "paused" in page_text(c.get("/me/"))
    # Ten days later the therapist resumes.
    plan.paused_on = today - dt.timedelta(days=10)
    db.commit()
    due_before = {a.id: a.due_on for a in plan.assignments}
    t.post(f"/therapist/clients/{client.id}/plan/resume", data={"version": "2"})
    plan = plan_of(db, client)
    assert plan.status == "active" and plan.paused_days == 10
    for a in plan.assignments:
        shift = 0 if a.id == first.id else 10
        assert a.due_on == due_before[a.id] + dt.timedelta(days=shift), a.worksheet_key
    assert db.scalars(sa.select(Submission)).one().status == "submitted"  # nothing lost


# --- drafts, submission, corrections --------------------------------------------------------


@pytest.fixture
def thought(app, db, people):  # type: ignore[no-untyped-def]
    start(app, people, dt.date.today(), dt.date.today().weekday())
    a = assignment(db, plan_of(db, people[1]), "thought_record")
    return browser(app, people[1]), f"/me/homework/{a.id}", a


def test_a_draft_is_kept_on_the_server_and_resumed(app, db, thought):
    c, url, a = thought
    data = {
        "entries-0-situation": "Sam came home late without texting",
        "entries-0-belief_before": "85",
    }
    response = c.post(url, data=data | {"action": "save", "version": "0"})
    assert response.status_code == 302
    page = soup(c.get(url))  # e.g. the next day, from another device
    assert (
        page.find(attrs={"name": "entries-0-situation"}).get_text().strip()
        == data["entries-0-situation"]
    )
    assert page.find(id="entries-0-belief_before")["value"] == "85"
    assert "Draft saved at" in page.get_text()
    assert db.scalars(sa.select(Submission)).one().status == "draft"


def test_autosave_saves_while_typing_and_reports_the_new_version(app, db, thought):
    c, url, a = thought
    response = c.post(
        f"{url}/autosave", data={"entries-0-situation": "first words", "version": "0"}
    )
    assert response.status_code == 200 and response.json["status"] == "saved"
    second = c.post(
        f"{url}/autosave",
        data={
            "entries-0-situation": "first words and more",
            "version": str(response.json["version"]),
        },
    )
    assert second.status_code == 200
    assert (
        db.scalars(sa.select(Submission)).one().answers["entries"][0]["situation"]
        == "first words and more"
    )


def test_adding_and_removing_rows_works_without_javascript(app, db, thought):
    c, url, a = thought
    response = c.post(
        url, data={"entries-0-situation": "one", "action": "add:entries", "version": "0"}
    )
    page = soup(response)
    assert page.find(attrs={"name": "entries-1-situation"}) is not None
    assert page.find(id="entries-1-date").has_attr("autofocus")  # the cursor lands in the new row
    assert page.find(attrs={"name": "entries-0-situation"}).get_text().strip() == "one"
    version = version_of(response)
    response = c.post(
        url,
        data={
            "entries-0-situation": "one",
            "entries-1-situation": "two",
            "action": "remove:entries:0",
            "version": version,
        },
    )
    page = soup(response)
    assert page.find(attrs={"name": "entries-0-situation"}).get_text().strip() == "two"
    assert page.find(attrs={"name": "entries-1-situation"}) is None


def test_submitting_twice_creates_one_submission(app, db, thought):
    c, url, a = thought
    data = valid_formdata(THOUGHT) | {"action": "submit", "version": "0"}
    first = c.post(url, data=data)
    again = c.post(url, data=data)  # double click, or the back button and submit again
    assert first.status_code == again.status_code == 302
    assert db.scalar(sa.select(sa.func.count()).select_from(Submission)) == 1
    assert db.scalar(sa.select(sa.func.count()).select_from(SubmissionRevision)) == 1


def test_a_late_autosave_does_not_change_submitted_answers(app, db, thought):
    c, url, a = thought
    c.post(url, data=valid_formdata(THOUGHT) | {"action": "save", "version": "0"})
    version = db.scalars(sa.select(Submission)).one().version
    c.post(url, data=valid_formdata(THOUGHT) | {"action": "submit", "version": str(version)})
    submitted = db.scalars(sa.select(Submission)).one()
    answers = submitted.answers
    late = c.post(
        f"{url}/autosave",
        data={"entries-0-situation": "typed in another tab", "version": str(version)},
    )
    assert late.status_code == 409
    db.expire_all()
    assert db.scalars(sa.select(Submission)).one().answers == answers


def test_two_tabs_do_not_silently_overwrite_each_other(app, db, thought):
    c, url, a = thought
    c.post(url, data={"entries-0-situation": "start", "action": "save", "version": "0"})
    version = version_of(c.get(url))
    # Tab A saves first; tab B, opened at the same version, saves later.
    c.post(url, data={"entries-0-situation": "tab A text", "action": "save", "version": version})
    response = c.post(
        url, data={"entries-0-situation": "tab B text", "action": "save", "version": version}
    )
    assert response.status_code == 409
    page = soup(response)
    # Both versions side by side, labelled, with when each was saved or typed.
    saved = page.find("section", attrs={"aria-labelledby": "theirs-heading"})
    typed = page.find("section", attrs={"aria-labelledby": "mine-heading"})
    assert "Saved version" in saved.get_text() and "tab A text" in saved.get_text()
    assert "What you just typed" in typed.get_text() and "tab B text" in typed.get_text()
    assert "another tab or device" in saved.get_text()
    db.expire_all()
    sub = db.scalars(sa.select(Submission)).one()
    assert sub.answers["entries"][0]["situation"] == "tab A text"
    # What was typed is already on file, before any choice.
    assert [r.reason for r in sub.revisions] == ["conflict"]
    assert sub.revisions[0].answers["entries"][0]["situation"] == "tab B text"
    return_to = typed.find("form")["action"]
    keep_mine = c.post(
        return_to,
        data={"keep": "mine", "version": typed.find("input", attrs={"name": "version"})["value"]},
    )
    assert keep_mine.status_code == 302
    db.expire_all()
    sub = db.scalars(sa.select(Submission)).one()
    assert sub.answers["entries"][0]["situation"] == "tab B text"
    # Tab A's version is filed as a revision: nothing is lost.
    assert {r.reason: r.answers["entries"][0]["situation"] for r in sub.revisions} == {
        "conflict": "tab B text",
        "replaced": "tab A text",
    }


def test_keeping_the_saved_version_leaves_it_and_files_the_typed_one(app, db, thought):
    c, url, a = thought
    c.post(url, data={"entries-0-situation": "start", "action": "save", "version": "0"})
    version = version_of(c.get(url))
    c.post(url, data={"entries-0-situation": "tab A text", "action": "save", "version": version})
    page = soup(
        c.post(
            url, data={"entries-0-situation": "tab B text", "action": "save", "version": version}
        )
    )
    saved = page.find("section", attrs={"aria-labelledby": "theirs-heading"})
    response = c.post(saved.find("form")["action"], data={"keep": "theirs", "version": "0"})
    assert response.status_code == 302
    assert "tab A text" in page_text(c.get(url))
    db.expire_all()
    sub = db.scalars(sa.select(Submission)).one()
    assert sub.answers["entries"][0]["situation"] == "tab A text"
    assert [r.answers["entries"][0]["situation"] for r in sub.revisions] == ["tab B text"]


def test_keeping_mine_from_a_stale_conflict_page_asks_again(app, db, thought):
    c, url, a = thought
    c.post(url, data={"entries-0-situation": "start", "action": "save", "version": "0"})
    version = version_of(c.get(url))
    c.post(url, data={"entries-0-situation": "tab A text", "action": "save", "version": version})
    page = soup(
        c.post(
            url, data={"entries-0-situation": "tab B text", "action": "save", "version": version}
        )
    )
    mine = page.find("section", attrs={"aria-labelledby": "mine-heading"}).find("form")
    stale = mine.find("input", attrs={"name": "version"})["value"]
    # A third save lands while the conflict page is open.
    c.post(url, data={"entries-0-situation": "tab C text", "action": "save", "version": stale})
    again = c.post(mine["action"], data={"keep": "mine", "version": stale})
    assert again.status_code == 409 and "tab C text" in page_text(again)
    db.expire_all()
    assert db.scalars(sa.select(Submission)).one().answers["entries"][0]["situation"] == (
        "tab C text"
    )


def test_a_conflict_revision_of_someone_else_is_not_found(app, db, make_user, people, thought):
    c, url, a = thought
    c.post(url, data={"entries-0-situation": "start", "action": "save", "version": "0"})
    version = version_of(c.get(url))
    c.post(url, data={"entries-0-situation": "tab A text", "action": "save", "version": version})
    page = soup(
        c.post(
            url, data={"entries-0-situation": "tab B text", "action": "save", "version": version}
        )
    )
    action = page.find("section", attrs={"aria-labelledby": "mine-heading"}).find("form")["action"]
    other = make_user(Role.CLIENT, therapist=people[0])
    o = browser(app, other)
    assert o.post(action, data={"keep": "mine", "version": "3"}).status_code == 404


def test_corrections_after_submission_are_revisions_until_review(app, db, people, thought):
    c, url, a = thought
    data = valid_formdata(THOUGHT)
    c.post(url, data=data | {"action": "submit", "version": "0"})
    version = version_of(c.get(url))
    corrected = data | {"entries-0-balanced_thought": "He was stuck at work; he said so later."}
    assert c.post(url, data=corrected | {"action": "submit", "version": version}).status_code == 302
    sub = db.scalars(sa.select(Submission)).one()
    assert [r.reason for r in sub.revisions] == ["submitted", "corrected"]
    assert (
        sub.revisions[0].answers["entries"][0]["balanced_thought"]
        != sub.revisions[1].answers["entries"][0]["balanced_thought"]
    )
    t = browser(app, people[0])
    review_page = page_text(t.get(f"/therapist/clients/{people[1].id}/homework/{a.id}"))
    assert "corrected 1 time(s) since" in review_page
    review = t.post(
        f"/therapist/clients/{people[1].id}/homework/{a.id}",
        data={
            "completion": "all",
            "quality": "3",
            "feedback": "Lovely, careful work on the evidence.",
        },
    )
    assert review.status_code == 302
    page = page_text(c.get(url))
    assert "Lovely, careful work on the evidence." in page and "Reviewed" in page
    locked = c.post(url, data=data | {"action": "submit", "version": "99"})
    assert locked.status_code == 409
    db.expire_all()
    assert (
        db.scalars(sa.select(Submission)).one().answers["entries"][0]["balanced_thought"]
        == corrected["entries-0-balanced_thought"]
    )


def test_a_client_cannot_touch_someone_elses_homework(app, db, make_user, people, thought):
    c, url, a = thought
    other_client = make_user(Role.CLIENT, therapist=people[0])
    other = browser(app, other_client)
    assert other.get(url).status_code == 404
    assert (
        other.post(
            url, data=valid_formdata(THOUGHT) | {"action": "submit", "version": "0"}
        ).status_code
        == 404
    )
    assert other.post(f"{url}/autosave", data={"version": "0"}).status_code == 404
    assert db.scalar(sa.select(sa.func.count()).select_from(Submission)) == 0


# --- review ---------------------------------------------------------------------------------


def test_therapist_reviews_in_a_clean_layout_and_ratings_are_stored(app, db, people, thought):
    c, url, a = thought
    data = valid_formdata(THOUGHT) | {
        "entries-0-intensity_before": "80",
        "entries-0-intensity_after": "45",
    }
    c.post(url, data=data | {"action": "submit", "version": "0"})
    t = browser(app, people[0])
    record = page_text(t.get(f"/therapist/clients/{people[1].id}"))
    assert "Submitted · to review" in record
    page = t.get(f"/therapist/clients/{people[1].id}/homework/{a.id}")
    text = page_text(page)
    assert "What went through my mind" in text and "emotion 80 → 45 (-35)" in text
    bad = t.post(
        f"/therapist/clients/{people[1].id}/homework/{a.id}",
        data={"quality": "7", "feedback": "kept text"},
    )
    assert bad.status_code == 422
    assert "kept text" in bad.get_data(as_text=True)
    t.post(
        f"/therapist/clients/{people[1].id}/homework/{a.id}",
        data={"completion": "most", "quality": "2", "feedback": ""},
    )
    sub = db.scalars(sa.select(Submission)).one()
    assert (sub.status, sub.completion, sub.quality) == ("reviewed", "most", 2)
    assert "Most done · quality 2/4" in page_text(t.get(f"/therapist/clients/{people[1].id}"))


# --- derived figures and ordering -----------------------------------------------------------


def test_positive_log_shows_the_weeks_ratio_against_five_to_one(app, db, people):
    start(app, people, dt.date.today(), dt.date.today().weekday())
    a = assignment(db, plan_of(db, people[1]), "positive_log")
    c = browser(app, people[1])
    days = {}
    for i, (pos, neg) in enumerate([(6, 1), (4, 2), (8, 0), (5, 1)]):
        days |= {
            f"days-{i}-date": f"2026-03-{i + 1:02d}",
            f"days-{i}-positive": str(pos),
            f"days-{i}-negative": str(neg),
            f"days-{i}-moment": "a walk",
        }
    c.post(f"/me/homework/{a.id}", data=days | {"action": "submit", "version": "0"})
    text = page_text(c.get(f"/me/homework/{a.id}"))
    assert (
        "5.8 : 1" in text
        and "23 positive and 4 negative" in text
        and "at or above the 5 : 1 guide" in text
    )


def test_trust_ladder_stays_ordered_by_expected_discomfort(app, db, people):
    start(app, people, dt.date.today(), dt.date.today().weekday())
    a = assignment(db, plan_of(db, people[1]), "trust_ladder")
    c = browser(app, people[1])
    rows = [
        ("Tell Ana about my week", 40, "no"),
        ("Ask Sam to call if late", 20, "yes"),
        ("Share my phone password", 90, "no"),
    ]
    data = {}
    for i, (step, expected, done) in enumerate(rows):
        data |= {
            f"steps-{i}-step": step,
            f"steps-{i}-who_with": "x",
            f"steps-{i}-expected_discomfort": str(expected),
            f"steps-{i}-done": done,
        }
    data["steps-1-actual_discomfort"] = "10"
    response = c.post(f"/me/homework/{a.id}", data=data | {"action": "submit", "version": "0"})
    assert response.status_code == 302
    sub = db.scalars(sa.select(Submission)).one()
    assert [r["expected_discomfort"] for r in sub.answers["steps"]] == [20, 40, 90]
    text = page_text(c.get(f"/me/homework/{a.id}"))
    assert "1 of 3" in text and "Next step Tell Ana about my week" in text


def test_actual_discomfort_is_required_once_a_step_is_done(app, db, people):
    start(app, people, dt.date.today(), dt.date.today().weekday())
    a = assignment(db, plan_of(db, people[1]), "trust_ladder")
    c = browser(app, people[1])
    data = {}
    for i in range(3):
        data |= {
            f"steps-{i}-step": f"step {i}",
            f"steps-{i}-who_with": "x",
            f"steps-{i}-expected_discomfort": str(10 * (i + 1)),
            f"steps-{i}-done": "yes" if i == 0 else "no",
        }
    response = c.post(f"/me/homework/{a.id}", data=data | {"action": "submit", "version": "0"})
    assert response.status_code == 422
    assert (
        "Please answer this" in soup(response).find(id="steps-0-actual_discomfort-error").get_text()
    )


def test_old_answers_keep_the_definition_they_were_made_with(app, db, people, monkeypatch):
    start(app, people, dt.date.today(), dt.date.today().weekday())
    a = assignment(db, plan_of(db, people[1]), "thought_record")
    c = browser(app, people[1])
    c.post(
        f"/me/homework/{a.id}", data=valid_formdata(THOUGHT) | {"action": "submit", "version": "0"}
    )
    # A later release renames a label and bumps the version.
    import dataclasses

    from clinic.library import parse_worksheet

    body = dict(THOUGHT.body, version=2)
    body["sections"] = [dict(body["sections"][0], title="Renamed section")]
    newer = parse_worksheet(body, "test")
    lib = app.extensions["clinic.library"]
    monkeypatch.setitem(
        app.extensions,
        "clinic.library",
        dataclasses.replace(lib, worksheets=lib.worksheets | {"thought_record": newer}),
    )
    sub = db.scalars(sa.select(Submission)).one()
    assert sub.worksheet_version == 1
    text = page_text(c.get(f"/me/homework/{a.id}"))
    assert THOUGHT.sections[0].title in text and "Renamed section" not in text


def test_a_client_is_run_through_all_twelve_weeks(app, db, people):
    """Every week's homework is filled in, sent, reviewed, and read back by both people."""
    today = dt.date.today()
    first = today - dt.timedelta(days=7 * 12)
    t = start(app, people, first, first.weekday())
    therapist, client = people
    c = browser(app, client)
    plan = plan_of(db, client)
    assert len(plan.assignments) == 15
    for a in plan.assignments:
        ws = LIBRARY.worksheets[a.worksheet_key]
        url = f"/me/homework/{a.id}"
        version = version_of(c.get(url))
        sent = c.post(url, data=valid_formdata(ws) | {"action": "submit", "version": version})
        assert sent.status_code == 302, (a.worksheet_key, page_text(sent)[:300])
        review = t.post(
            f"/therapist/clients/{client.id}/homework/{a.id}",
            data={"completion": "all", "quality": "4", "feedback": f"Well done on week {a.week}."},
        )
        assert review.status_code == 302, a.worksheet_key
    history = page_text(c.get("/me/history"))
    assert history.count("reviewed, with feedback") == 15
    assert "Week 12: Self-compassion letter" in history
    record = page_text(t.get(f"/therapist/clients/{client.id}"))
    assert record.count("Reviewed") >= 15 and "Overdue" not in record
    home = page_text(c.get("/me/"))
    assert "Week 12 of 12" in home and "Still open" not in home
    response = t.post(
        f"/therapist/clients/{client.id}/plan/finish",
        data={
            "version": str(plan_of(db, client).version),
            "reason": "completed",
            "risk": "None known; no item-9 answers since week 3.",
            "recommendations": "Keep the maintenance plan; review in three months.",
        },
    )
    assert response.status_code == 302
    assert "Your plan has finished" in page_text(c.get("/me/"))


# --- versions on the therapist's plan changes -----------------------------------------------


def _buttons(page, label: str):  # type: ignore[no-untyped-def]
    """The forms of the POST buttons with this label on a page."""
    return [b.find_parent("form") for b in soup(page).find_all("button") if b.get_text() == label]


def test_a_second_click_on_a_stale_remove_button_changes_nothing(app, db, people):
    t = start(app, people, dt.date.today(), dt.date.today().weekday())
    client = people[1]
    record = t.get(f"/therapist/clients/{client.id}")
    remove = _buttons(record, "Remove")[0]
    version = remove.find("input", attrs={"name": "version"})["value"]
    first = t.post(remove["action"], data={"version": version})
    assert first.status_code == 302
    a_id = int(remove["action"].split("/")[-2])
    # Put back in another tab, then the old page's Remove is pressed again.
    put_back = _buttons(t.get(f"/therapist/clients/{client.id}"), "Put back")[0]
    t.post(
        put_back["action"],
        data={"version": put_back.find("input", attrs={"name": "version"})["value"]},
    )
    again = t.post(remove["action"], data={"version": version}, follow_redirects=True)
    assert "changed somewhere else" in page_text(again) and "nothing was changed" in page_text(
        again
    )
    db.expire_all()
    assert db.get(Assignment, a_id).removed_at is None  # the later "put back" stands
    assert db.get(Assignment, a_id).version == 3


def test_a_stale_pause_or_resume_is_refused_and_not_applied_twice(app, db, people):
    today = dt.date.today()
    t = start(app, people, today, today.weekday())
    client = people[1]
    pause = _buttons(t.get(f"/therapist/clients/{client.id}"), "Pause plan")[0]
    stale = pause.find("input", attrs={"name": "version"})["value"]
    assert t.post(pause["action"], data={"version": stale}).status_code == 302
    resume = _buttons(t.get(f"/therapist/clients/{client.id}"), "Resume plan")[0]
    plan = plan_of(db, client)
    plan.paused_on = today - dt.timedelta(days=4)
    db.commit()
    resume_version = resume.find("input", attrs={"name": "version"})["value"]
    assert t.post(resume["action"], data={"version": resume_version}).status_code == 302
    due = {a.id: a.due_on for a in plan_of(db, client).assignments}
    # The same resume again (back button, double click): refused, due dates move only once.
    again = t.post(resume["action"], data={"version": resume_version}, follow_redirects=True)
    assert "The plan was changed somewhere else" in page_text(again)
    plan = plan_of(db, client)
    assert plan.paused_days == 4 and {a.id: a.due_on for a in plan.assignments} == due
    # The old page's Pause is refused as well: the plan keeps running.
    t.post(pause["action"], data={"version": stale})
    assert plan_of(db, client).status == "active"


def test_a_stale_homework_edit_shows_the_current_state_and_keeps_the_typing(app, db, people):
    t = start(app, people, dt.date(2026, 3, 2), 1)
    client = people[1]
    ladder = assignment(db, plan_of(db, client), "trust_ladder")
    url = f"/therapist/clients/{client.id}/assignments/{ladder.id}"
    tab_a, tab_b = t.get(url), t.get(url)
    assert version_of(tab_a) == version_of(tab_b) == "1"
    t.post(url, data={"week": "6", "instruction": "From tab A", "version": version_of(tab_a)})
    response = t.post(
        url, data={"week": "7", "instruction": "From tab B", "version": version_of(tab_b)}
    )
    assert response.status_code == 409
    page = soup(response)
    notice = page.find(id="stale").get_text(" ", strip=True)
    assert "changed somewhere else" in notice and "week 6" in notice and "From tab A" in notice
    assert page.find(id="instruction").get_text().strip() == "From tab B"  # typing kept
    assert page.find(id="week")["value"] == "7"
    db.expire_all()
    kept = db.get(Assignment, ladder.id)
    assert (kept.week, kept.instruction) == (6, "From tab A")
    # Saving again from the refreshed form applies tab B deliberately.
    again = t.post(
        url, data={"week": "7", "instruction": "From tab B", "version": version_of(response)}
    )
    assert again.status_code == 302
    db.expire_all()
    assert db.get(Assignment, ladder.id).week == 7


def test_a_draft_conflict_is_not_counted_as_a_correction(app, db, people, thought):
    c, url, a = thought
    c.post(url, data={"entries-0-situation": "start", "action": "save", "version": "0"})
    version = version_of(c.get(url))
    c.post(url, data={"entries-0-situation": "tab A", "action": "save", "version": version})
    stale = c.post(url, data={"entries-0-situation": "tab B", "action": "save", "version": version})
    assert stale.status_code == 409  # set aside as a revision, not a correction
    data = valid_formdata(THOUGHT)
    c.post(url, data=data | {"action": "submit", "version": version_of(c.get(url))})
    t = browser(app, people[0])
    page = page_text(t.get(f"/therapist/clients/{people[1].id}/homework/{a.id}"))
    assert "Submitted" in page and "corrected" not in page


def test_a_refused_pause_writes_nothing_so_no_view_has_to_roll_back(app, db, people):
    """The rules check before they write: pausing a plan that is already paused is refused
    with the plan's version untouched, in the same transaction, without a rollback."""
    therapist, client = people[0], people[1]
    with app.app_context():
        record_screen(db, client, therapist, on=dt.date(2000, 1, 1))
        plan = plans.start_plan(db, client, therapist, dt.date.today(), 0)
        plans.pause_plan(db, plan, dt.date.today(), plan.version)
        version = plan.version
        with pytest.raises(plans.PlanError, match="Only an active plan"):
            plans.pause_plan(db, plan, dt.date.today(), version)
        db.expire(plan)
        assert plan.version == version and plan.status == "paused"
