"""The client's own goals (Goal Based Outcomes): set in their words, at most three at a time,
reworded and retired with history kept, rated 0-10 at the check-in and in session, and read
"as of" a day by every surface."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from clinic import goals, questionnaires
from clinic.models import Goal, GoalRating, GoalWording, Role, User
from clinic.timeutil import local_time

TODAY = dt.date.today()


@pytest.fixture
def people(make_user):  # type: ignore[no-untyped-def]
    therapist = make_user(Role.THERAPIST)
    return therapist, make_user(Role.CLIENT, therapist=therapist)


@pytest.fixture
def plan(people, make_plan):  # type: ignore[no-untyped-def]
    return make_plan(people[1], people[0], week=3)


def backdate(db, goal, days: int) -> None:  # type: ignore[no-untyped-def]
    """Move a goal (and its first wording) `days` into the past."""
    moment = goal.created_at - dt.timedelta(days=days)
    goal.created_at = moment
    goal.wordings[0].from_at = moment
    db.flush()


def test_at_most_three_goals_at_a_time_in_the_clients_words(app, db, people, plan):
    therapist, client = people
    with app.app_context():
        for words in ("Reply to my sister within a day", "Ask before I check", "Sleep by 11"):
            goals.add_goal(db, client, plan, f"  {words}  ", client)
        with pytest.raises(goals.GoalError, match="already 3 goals") as error:
            goals.add_goal(db, client, plan, "A fourth one", therapist)
        assert error.value.field == "wording"
        with pytest.raises(goals.GoalError, match="in a few words"):
            goals.add_goal(db, client, plan, "   ", client)
        with pytest.raises(goals.GoalError, match="200 characters"):
            goals.add_goal(db, client, plan, "x" * 201, client)
        first = goals.active_goals(db, plan)[0]
        goals.retire(db, first, therapist)
        # A retired goal frees its place, and keeps its history.
        goals.add_goal(db, client, plan, "Tell him when I feel unsure", therapist)
        shown = goals.views(db, plan)
    assert [v.wording for v in shown] == [
        "Reply to my sister within a day",
        "Ask before I check",
        "Sleep by 11",
        "Tell him when I feel unsure",
    ]
    assert [v.active for v in shown] == [False, True, True, True]


def test_rewording_keeps_the_earlier_words_for_what_was_written_then(app, db, people, plan):
    therapist, client = people
    with app.app_context():
        goal = goals.add_goal(db, client, plan, "Stop checking his phone", client)
        backdate(db, goal, 10)
        goals.rate_in_session(db, goal, 2, TODAY - dt.timedelta(days=9), 2, therapist)
        goals.reword(db, goal, "Ask him directly instead of checking", therapist)
        with pytest.raises(goals.GoalError, match="worded already"):
            goals.reword(db, goal, "Ask him directly instead of checking", therapist)
        goals.rate_in_session(db, goal, 6, TODAY, 3, therapist)
        then = goals.views(db, plan, as_of=TODAY - dt.timedelta(days=5))
        now = goals.views(db, plan, as_of=TODAY)
    assert len(db.scalars(sa.select(GoalWording)).all()) == 2
    assert then[0].wording == "Stop checking his phone"
    assert [r.value for r in then[0].ratings] == [2]  # nothing rated after the day
    assert now[0].wording == "Ask him directly instead of checking"
    assert (now[0].first.value, now[0].latest.value, now[0].change) == (2, 6, 4)


@pytest.mark.parametrize(
    ("first", "latest", "verdict"),
    [
        # Edbrooke-Childs et al. (2015): reliable change index 2.45, so whole points >= 3.
        (2, 5, "reliable improvement"),
        (2, 4, "no reliable change"),
        (7, 5, "no reliable change"),
        (7, 4, "reliable deterioration"),
    ],
)
def test_reliable_change_is_three_points(app, db, people, plan, first, latest, verdict):
    therapist, client = people
    with app.app_context():
        goal = goals.add_goal(db, client, plan, "Reply to my sister within a day", client)
        backdate(db, goal, 10)
        goals.rate_in_session(db, goal, first, TODAY - dt.timedelta(days=7), 2, therapist)
        goals.rate_in_session(db, goal, latest, TODAY, 3, therapist)
        (view,) = goals.views(db, plan)
    assert view.change == latest - first and view.verdict == verdict


def test_one_session_rating_per_day_and_ratings_from_0_to_10(app, db, people, plan):
    therapist, client = people
    with app.app_context():
        goal = goals.add_goal(db, client, plan, "Reply to my sister within a day", client)
        goals.rate_in_session(db, goal, 3, TODAY, 3, therapist)
        goals.rate_in_session(db, goal, 4, TODAY, 3, therapist)  # a correction, same day
        for bad in (11, -1, "seven", ""):
            with pytest.raises(goals.GoalError, match="from 0 to 10"):
                goals.rate_in_session(db, goal, bad, TODAY, 3, therapist)
        goals.retire(db, goal, therapist)
        with pytest.raises(goals.GoalError, match="retired"):
            goals.rate_in_session(db, goal, 5, TODAY, 3, therapist)
    assert [r.rating for r in db.scalars(sa.select(GoalRating))] == [4]


def test_check_in_ratings_belong_to_that_check_in(app, db, people, plan):
    therapist, client = people
    with app.app_context():
        mine = goals.add_goal(db, client, plan, "Reply to my sister within a day", client)
        check_in, _ = questionnaires.record_check_in(
            db, client, plan, 3, client, trust=5, distress=3, helpfulness=None, note=None
        )
        goals.rate_at_check_in(db, check_in, {mine.id: "7"}, client)
        with pytest.raises(goals.GoalError, match="not one of this plan"):
            goals.rate_at_check_in(db, check_in, {mine.id + 99: 5}, client)
        (view,) = goals.views(db, plan)
    assert [(r.value, r.context, r.week) for r in view.ratings] == [(7, "check_in", 3)]


# --- the pages -------------------------------------------------------------------------------

from .test_auth import page_text  # noqa: E402


def test_the_client_writes_goals_and_rates_them_at_the_check_in(app, db, people, plan, signed_in):
    _, client = people
    browser = signed_in(client)
    home = page_text(browser.get("/me/"))
    assert "Write my goals" in home
    # Too long: the message sits next to the field and the typing is kept.
    long = "to trust again " * 20
    refused = browser.post("/me/goals", data={"wording": long})
    assert refused.status_code == 422
    assert "Keep the goal to 200 characters." in page_text(refused)
    assert long.strip() in refused.get_data(as_text=True)
    saved = browser.post("/me/goals", data={"wording": "Reply to my sister within a day"})
    assert saved.status_code == 302
    home = page_text(browser.get("/me/"))
    assert "Write my goals" not in home and "one for each of your goals" in home
    # The check-in now asks about the goal, by its words, and will not go without it.
    form = page_text(browser.get("/me/check-in/3"))
    assert "How close am I to my goal 1: “Reply to my sister within a day”?" in form
    (goal,) = goals.active_goals(db, plan)
    missing = browser.post("/me/check-in/3", data={"trust": "5", "distress": "3"})
    assert missing.status_code == 422
    assert "Choose a number from 0 to 10." in page_text(missing)
    sent = browser.post(
        "/me/check-in/3", data={"trust": "5", "distress": "3", f"goal_{goal.id}": "4"}
    )
    assert sent.status_code == 302
    db.expire_all()
    assert [(r.rating, r.week, r.context) for r in db.scalars(sa.select(GoalRating))] == [
        (4, 3, "check_in")
    ]
    mine = page_text(browser.get("/me/progress"))
    assert "Goal 1: Reply to my sister within a day" in mine and "Write my goals" not in mine


def test_the_therapist_sets_rewords_rates_and_retires_goals(app, db, people, plan, signed_in):
    therapist, client = people
    browser = signed_in(therapist)
    url = f"/therapist/clients/{client.id}/goals"
    assert browser.post(url, data={"wording": "Ask before I check"}).status_code == 302
    (goal,) = goals.active_goals(db, plan)
    empty = browser.post(f"{url}/{goal.id}/wording", data={f"g{goal.id}-wording": "  "})
    assert empty.status_code == 422 and "Write the goal in a few words." in page_text(empty)
    reworded = browser.post(
        f"{url}/{goal.id}/wording", data={f"g{goal.id}-wording": "Ask him before I check"}
    )
    assert reworded.status_code == 302
    last_week = (dt.date.today() - dt.timedelta(days=7)).isoformat()
    field = f"goal_{goal.id}"
    none = browser.post(f"{url}/ratings", data={"session_date": last_week})
    assert none.status_code == 422 and "Rate at least one goal." in page_text(none)
    future = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    early = browser.post(f"{url}/ratings", data={"session_date": future, field: "5"})
    assert early.status_code == 422 and "before it happens" in page_text(early)
    browser.post(f"{url}/ratings", data={"session_date": last_week, field: "2"})
    browser.post(f"{url}/ratings", data={"session_date": dt.date.today().isoformat(), field: "6"})
    record = page_text(browser.get(f"/therapist/clients/{client.id}"))
    assert "Goal 1: Ask him before I check" in record
    assert "First 2" in record and "latest 6" in record
    assert "change +4: reliable improvement" in record
    assert "Edbrooke-Childs et al. 2015" in record
    # At a glance, at the top of the record: each goal's latest rating and its change.
    assert "Goals Goal 1: 6/10 (+4 since first, GBO)" in record
    assert browser.post(f"{url}/{goal.id}/retire").status_code == 302
    page = page_text(browser.get(url))
    assert "retired" in page and "Rate the goals in session" not in page
    # Another therapist's client's goal is not reachable through this client.
    assert browser.post(f"{url}/{goal.id + 999}/retire").status_code == 404


def test_a_notes_data_quotes_the_goals_as_of_the_session_date(app, db, people, plan):
    from clinic import notes

    therapist, client = people
    with app.app_context():
        plan.created_at -= dt.timedelta(days=21)  # the plan was set up three weeks ago
        goal = goals.add_goal(db, client, plan, "Reply to my sister within a day", client)
        backdate(db, goal, 20)
        goals.rate_in_session(db, goal, 3, TODAY - dt.timedelta(days=14), 1, therapist)
        goals.rate_in_session(db, goal, 7, TODAY - dt.timedelta(days=7), 2, therapist)
        goals.reword(db, goal, "Reply to my sister the same day", client)
        goals.rate_in_session(db, goal, 9, TODAY, 3, therapist)
        data, _ = notes.record_summary(db, client, TODAY - dt.timedelta(days=7))
    # As of a week ago: the words then, the rating then, nothing from today.
    assert "Goal 1 “Reply to my sister within a day”: 7/10" in data
    assert "first 3, change +4: reliable improvement (GBO reliable change" in data
    assert "same day" not in data and "9/10" not in data


def test_both_pdfs_print_each_goal_first_and_latest_in_any_script(app, db, people, plan, signed_in):
    from .test_reports import pdf_text

    therapist, client = people
    words = "Ответить сестре в тот же день, 당일에 답장하기, أن أرد على أختي " * 2
    with app.app_context():
        plan.created_at -= dt.timedelta(days=21)
        goal = goals.add_goal(db, client, plan, words[: goals.WORDING_MAX], client)
        backdate(db, goal, 20)
        goals.rate_in_session(db, goal, 2, TODAY - dt.timedelta(days=14), 1, therapist)
        goals.rate_in_session(db, goal, 5, TODAY - dt.timedelta(days=7), 2, therapist)
        goals.rate_in_session(db, goal, 8, TODAY, 3, therapist)
        db.commit()
    browser = signed_in(therapist)
    report = pdf_text(browser.get(f"/therapist/clients/{client.id}/progress-report.pdf").data)
    assert "The client's goals" in report and "Ответить сестре" in report and "당일에" in report
    assert "went from 2 to 8 of 10 (+6: reliable improvement" in report
    assert "Edbrooke-Childs et al. 2015" in report
    week_ago = TODAY - dt.timedelta(days=7)
    summary = pdf_text(
        browser.get(
            f"/therapist/clients/{client.id}/session-summary.pdf?date={week_ago.isoformat()}"
        ).data
    )
    # As of a week ago: first 2, latest 5; today's 8 is not in it.
    assert "+3: reliable improvement" in summary and "+6" not in summary
    assert f"5 ({week_ago:%d %b})" in summary
    own = pdf_text(signed_in(client).get("/me/progress-report.pdf").data)
    assert "My goals" in own and "Ответить сестре" in own


def test_goals_travel_in_the_record_zip_as_csv_and_fhir(app, db, people, plan, signed_in):
    import csv
    import io
    import json
    import zipfile

    from fhir.resources.R4B.bundle import Bundle

    therapist, client = people
    with app.app_context():
        goal = goals.add_goal(db, client, plan, "=Reply to my sister within a day", client)
        backdate(db, goal, 10)
        goals.rate_in_session(db, goal, 3, TODAY - dt.timedelta(days=7), 2, therapist)
        goals.reword(db, goal, "Reply to my sister the same day", client)
        goals.rate_in_session(db, goal, 6, TODAY, 3, therapist)
        retired = goals.add_goal(db, client, plan, "Sleep by 11", client)
        goals.retire(db, retired, therapist)
        db.commit()
    archive = zipfile.ZipFile(
        io.BytesIO(signed_in(therapist).get(f"/therapist/clients/{client.id}/record.zip").data)
    )
    rows = list(csv.DictReader(io.StringIO(archive.read("goals.csv").decode("utf-8-sig"))))
    assert [(r["goal_number"], r["rating"], r["rated_in"], r["plan_week"]) for r in rows] == [
        ("1", "3", "session", "2"),
        ("1", "6", "session", "3"),
        ("2", "", "", ""),
    ]
    # The words then and now; a formula-looking goal is defused for spreadsheets.
    assert rows[0]["goal_words_then"] == "'=Reply to my sister within a day"
    assert rows[0]["goal_now"] == "Reply to my sister the same day"
    assert rows[2]["retired_on_local"] == TODAY.isoformat()
    bundle = json.loads(archive.read("fhir-bundle.json"))
    Bundle.model_validate(bundle)
    resources = [e["resource"] for e in bundle["entry"]]
    found = [r for r in resources if r["resourceType"] == "Goal"]
    assert [(g["lifecycleStatus"], g["description"]["text"]) for g in found] == [
        ("active", "Reply to my sister the same day"),
        ("completed", "Sleep by 11"),
    ]
    rated = [
        r
        for r in resources
        if r.get("code", {}).get("coding", [{}])[0].get("code") == "goal-rating"
    ]
    assert [(o["valueInteger"], o["focus"][0]["reference"]) for o in rated] == [
        (3, bundle["entry"][[e["resource"] for e in bundle["entry"]].index(found[0])]["fullUrl"]),
        (6, bundle["entry"][[e["resource"] for e in bundle["entry"]].index(found[0])]["fullUrl"]),
    ]
    own = zipfile.ZipFile(io.BytesIO(signed_in(client).get("/me/my-record.zip").data))
    assert "goals.csv" in own.namelist()


def test_the_demos_goals_are_set_before_their_first_rating(app, db):
    from clinic.demo import build_demo

    with app.app_context():
        build_demo(db, "the demo harbour 2026")
        db.commit()
        rows = db.execute(
            sa.select(Goal.id, Goal.created_at, sa.func.min(GoalRating.rated_on))
            .join(GoalRating, GoalRating.goal_id == Goal.id)
            .group_by(Goal.id, Goal.created_at)
        ).all()
        client_of = {g.id: g.client_id for g in db.scalars(sa.select(Goal))}
        assert rows
        for goal_id, created_at, first_rated in rows:
            client = db.get(User, client_of[goal_id])
            assert local_time(created_at, client).date() <= first_rated, goal_id
