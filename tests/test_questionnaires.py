"""Questionnaires, the weekly check-in and alerts, as client, therapist and admin use them."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from clinic import plans
from clinic.models import Administration, Alert, CheckIn, Role, User

from .conftest import PASSWORD, record_screen
from .test_auth import page_text


def browser(app, user):  # type: ignore[no-untyped-def]
    c = app.test_client()
    assert c.post("/sign-in", data={"email": user.email, "password": PASSWORD}).status_code == 302
    return c


def answers(values: list[int], **extra: str) -> dict[str, str]:
    return {f"item-{i + 1}": str(v) for i, v in enumerate(values)} | extra


@pytest.fixture
def care(app, db, make_user):  # type: ignore[no-untyped-def]
    """A therapist and a client at week `week` of a plan (default 1)."""
    therapist = make_user(Role.THERAPIST, name="Dr Rivers")
    client = make_user(Role.CLIENT, therapist=therapist, name="Jordan")

    def at_week(week: int = 1):  # type: ignore[no-untyped-def]
        first = dt.date.today() - dt.timedelta(days=7 * (week - 1))
        with app.app_context():
            record_screen(db, client, therapist, on=dt.date(2000, 1, 1))
            plan = plans.start_plan(db, client, therapist, first, first.weekday())
            db.commit()
        return plan

    return therapist, client, at_week


def test_week_one_offers_the_baseline_battery_and_the_client_completes_it(app, db, care):
    therapist, client, at_week = care
    at_week(1)
    c = browser(app, client)
    home = page_text(c.get("/me/"))
    for name in ("PHQ-9", "GAD-7", "WSAS", "CSI-4"):
        assert name in home
    assert "Weekly check-in" in home  # week 1 has the trust check-in next to the battery
    form = page_text(c.get("/me/questionnaires/week/1/phq9"))
    assert "Over the last 2 weeks, how often have you been bothered" in form
    assert "with an educational grant from Pfizer Inc." in form  # the required attribution
    response = c.post("/me/questionnaires/week/1/phq9", data=answers([1, 1, 2, 1, 0, 1, 1, 0, 0]))
    assert response.status_code == 302
    done = page_text(c.get(response.headers["Location"]))
    assert "Your score was 7 out of 27" in done and "“mild” range" in done
    row = db.scalars(sa.select(Administration)).one()
    assert (row.total, row.band, row.slot, row.week, row.instrument_version) == (
        7,
        "mild",
        "baseline",
        1,
        1,
    )
    assert row.answers["9"] == 0 and row.entered_by_id == client.id
    assert "Done" in page_text(c.get("/me/"))
    # Answering the same scheduled questionnaire again does not store a second one.
    again = c.get("/me/questionnaires/week/1/phq9")
    assert again.status_code == 302
    assert db.scalar(sa.select(sa.func.count()).select_from(Administration)) == 1


def test_a_missing_or_out_of_range_answer_is_a_field_error_that_keeps_the_others(app, db, care):
    therapist, client, at_week = care
    at_week(1)
    c = browser(app, client)
    data = answers([1, 2, 3, 0, 1, 2, 3, 0, 1])
    del data["item-4"]
    data["item-7"] = "9"
    response = c.post("/me/questionnaires/week/1/phq9", data=data)
    assert response.status_code == 422
    page = BeautifulSoup(response.data, "html.parser")
    assert "Please choose an answer for question 4." in page.find(id="item-4-error").get_text()
    assert "please choose one of the answers shown" in page.find(id="item-7-error").get_text()
    assert page.find(id="item-2-2").has_attr("checked") and page.find(id="item-3-3").has_attr(
        "checked"
    )
    assert page.find(id="item-1-1").has_attr("checked")
    assert db.scalar(sa.select(sa.func.count()).select_from(Administration)) == 0


def test_a_tampered_post_cannot_store_a_total_that_differs_from_the_items(app, db, care):
    therapist, client, at_week = care
    at_week(1)
    c = browser(app, client)
    c.post(
        "/me/questionnaires/week/1/gad7",
        data=answers([3] * 7, total="0", band="minimal", flags="[]"),
    )
    row = db.scalars(sa.select(Administration)).one()
    assert (row.total, row.band) == (21, "severe")


def test_item9_raises_an_alert_and_shows_the_practice_crisis_contacts(app, db, care, practice):
    therapist, client, at_week = care
    practice.crisis_contacts = "Riverside out-of-hours line: 0100 000 000"
    db.commit()
    at_week(1)
    c = browser(app, client)
    response = c.post("/me/questionnaires/week/1/phq9", data=answers([0, 0, 0, 0, 0, 0, 0, 0, 1]))
    page = page_text(c.get(response.headers["Location"]))
    assert (
        "Please look after yourself" in page and "Riverside out-of-hours line: 0100 000 000" in page
    )
    # Honest about what happens: nobody "has been told" yet, and nobody watches around the clock.
    assert "has been told" not in page
    assert "within 24 hours" in page and "Nobody watches Bedrock around the clock" in page
    alert = db.scalars(sa.select(Alert)).one()
    assert alert.kind == "item9" and alert.detail == "PHQ-9 item 9 answered 1 (of 3)"
    assert alert.grade == 1  # "several days": below "more than half" and "nearly every day"
    t = browser(app, therapist)
    caseload = page_text(t.get("/therapist/"))
    assert "Open alerts (1)" in caseload and "Self-harm item answered" in caseload
    # It stays until acknowledged with a note; the note is required.
    url = f"/therapist/clients/{client.id}/alerts/{alert.id}"
    assert "Follow up by" in page_text(t.get(url))
    empty = t.post(url, data={"note": ""})
    assert empty.status_code == 422 and "Write what you did or decided." in page_text(empty)
    # What a careful service asks after a risk answer is recorded, not only a note.
    for message in (
        "Say whether risk was assessed.",
        "Say what happened about a safety plan.",
        "Say how the client was contacted, or that they were not yet.",
    ):
        assert message in page_text(empty)
    ack = {"risk_review": "assessed", "safety_plan": "reviewed", "contact": "phone"}
    undated = t.post(url, data=ack | {"note": "Phoned."})
    assert undated.status_code == 422
    assert "Give the date of the contact (or the attempt)." in page_text(undated)
    assert "Open alerts (1)" in page_text(t.get("/therapist/"))
    done = ack | {"contacted_on": dt.date.today().isoformat(), "next_step": "Review on Thursday"}
    t.post(url, data=done | {"note": "Phoned Jordan the same day; safety plan reviewed."})
    db.expire_all()
    alert = db.get(Alert, alert.id)
    assert alert.acknowledged_by_id == therapist.id and alert.acknowledged_at is not None
    assert alert.note == "Phoned Jordan the same day; safety plan reviewed."
    assert "Open alerts (1)" not in page_text(t.get("/therapist/"))
    shown = page_text(t.get(url))
    assert "Phoned Jordan" in shown
    assert f"Risk assessed; Safety plan reviewed; Phoned on {dt.date.today():%d %b %Y}" in shown
    assert "Next step: Review on Thursday" in shown
    assert (alert.risk_review, alert.contact, alert.contacted_on) == (
        "assessed",
        "phone",
        dt.date.today(),
    )


def test_without_crisis_contacts_the_client_is_pointed_to_emergency_services(app, db, care):
    therapist, client, at_week = care
    at_week(1)
    c = browser(app, client)
    response = c.post("/me/questionnaires/week/1/phq9", data=answers([3] * 9))
    page = page_text(c.get(response.headers["Location"]))
    assert "local emergency number" in page
    kinds = sorted(db.scalars(sa.select(Alert.kind)))
    assert kinds == ["item9", "severe"]


def test_reliable_deterioration_since_baseline_raises_an_alert(app, db, care):
    therapist, client, at_week = care
    plan = at_week(3)
    c = browser(app, client)
    c.post("/me/questionnaires/week/1/gad7", data=answers([0] * 7))
    assert db.scalar(sa.select(sa.func.count()).select_from(Alert)) == 0
    c.post("/me/questionnaires/week/3/gad7", data=answers([2, 2, 2, 2, 2, 1, 1]))
    alert = db.scalars(sa.select(Alert)).one()
    assert alert.kind == "deterioration" and "GAD-7 0 → 12" in alert.detail
    assert plan.id == db.scalars(sa.select(Administration.plan_id)).first()


def test_weekly_check_in_with_high_distress_raises_an_alert(app, db, care):
    therapist, client, at_week = care
    at_week(2)
    c = browser(app, client)
    assert "Weekly check-in" in page_text(c.get("/me/"))
    page = page_text(c.get("/me/check-in/2"))
    assert "not a validated questionnaire" in page
    bad = c.post("/me/check-in/2", data={"trust": "4", "note": "kept note"})
    assert bad.status_code == 422 and "kept note" in bad.get_data(as_text=True)
    assert "Choose a number from 0 to 10." in page_text(bad)
    ok = c.post(
        "/me/check-in/2",
        data={"trust": "4", "distress": "9", "helpfulness": "3", "note": "hard week"},
    )
    assert ok.status_code == 302
    assert "Please look after yourself" in page_text(c.get(ok.headers["Location"]))
    row = db.scalars(sa.select(CheckIn)).one()
    assert (row.trust, row.distress, row.helpfulness, row.note) == (4, 9, 3, "hard week")
    assert db.scalars(sa.select(Alert)).one().kind == "distress"
    c.post("/me/check-in/2", data={"trust": "8", "distress": "1"})
    assert db.scalar(sa.select(sa.func.count()).select_from(CheckIn)) == 1
    # Distress 8 does not raise an alert.
    assert c.get("/me/check-in/3").status_code == 404  # a week that has not begun


def test_therapist_sends_a_questionnaire_and_gives_one_in_session(app, db, care):
    therapist, client, at_week = care
    at_week(4)
    t = browser(app, therapist)
    t.post(f"/therapist/clients/{client.id}/questionnaires/send", data={"code": "wsas"})
    c = browser(app, client)
    assert "from your therapist" in page_text(c.get("/me/"))
    row = db.scalars(sa.select(Administration)).one()
    assert row.completed_at is None and row.slot == "ad_hoc"
    c.post(f"/me/questionnaires/{row.id}", data=answers([2, 2, 2, 2, 2]))
    db.expire_all()
    assert db.get(Administration, row.id).total == 10
    response = t.post(
        f"/therapist/clients/{client.id}/questionnaires/phq9/in-session", data=answers([1] * 9)
    )
    assert response.status_code == 302
    in_session = db.scalars(
        sa.select(Administration).where(Administration.instrument_code == "phq9")
    ).one()
    assert in_session.entered_by_id == therapist.id and in_session.total == 9
    missing = t.post(
        f"/therapist/clients/{client.id}/questionnaires/gad7/in-session", data=answers([1] * 6)
    )
    assert missing.status_code == 422 and "question 7" in page_text(missing)


def test_someone_elses_questionnaire_answers_404_and_writes_nothing(app, db, care, make_user):
    therapist, client, at_week = care
    at_week(1)
    t = browser(app, therapist)
    t.post(f"/therapist/clients/{client.id}/questionnaires/send", data={"code": "gad7"})
    row = db.scalars(sa.select(Administration)).one()
    stranger = browser(app, make_user(Role.CLIENT, therapist=therapist))
    assert stranger.get(f"/me/questionnaires/{row.id}").status_code == 404
    assert stranger.post(f"/me/questionnaires/{row.id}", data=answers([0] * 7)).status_code == 404
    db.expire_all()
    assert db.get(Administration, row.id).completed_at is None
    other_therapist = browser(app, make_user(Role.THERAPIST))
    assert (
        other_therapist.post(
            f"/therapist/clients/{client.id}/questionnaires/phq9/in-session", data=answers([0] * 9)
        ).status_code
        == 404
    )
    assert db.scalar(sa.select(sa.func.count()).select_from(Administration)) == 1


def test_charts_and_outcomes_on_the_therapists_client_page(app, db, care):
    therapist, client, at_week = care
    at_week(3)
    c = browser(app, client)
    c.post("/me/questionnaires/week/1/phq9", data=answers([2, 2, 2, 2, 2, 2, 2, 2, 0]))  # 16
    c.post("/me/questionnaires/week/1/gad7", data=answers([2, 2, 2, 2, 1, 1, 1]))  # 11
    c.post("/me/questionnaires/week/3/phq9", data=answers([1, 1, 1, 1, 1, 1, 1, 0, 0]))  # 7
    c.post("/me/questionnaires/week/3/gad7", data=answers([1, 1, 1, 1, 1, 0, 0]))  # 5
    t = browser(app, therapist)
    response = t.get(f"/therapist/clients/{client.id}")
    page = BeautifulSoup(response.data, "html.parser")
    svg = page.find("svg", attrs={"role": "img"})
    assert svg is not None and svg.find("title").get_text() == "PHQ-9 over time"
    assert "First 16, latest 7" in svg.find("desc").get_text()
    text = page_text(response)
    assert "Latest 7 (mild); change since baseline -9" in text
    assert (
        "Reliable improvement: yes" in text
        and "Recovery: yes" in text
        and "Reliable recovery: yes" in text
    )
    assert "NHS Talking Therapies: caseness PHQ-9 ≥ 10 or GAD-7 ≥ 8" in text
    assert "Jacobson & Truax 1991" in text
    table = page.find(id="measure-phq9").find("table")
    assert [td.get_text() for td in table.find_all("tr")[1].find_all("td")][
        2
    ] == "16 (moderately severe)"


def test_clients_see_their_scores_in_plain_words_unless_the_practice_hides_them(
    app, db, care, practice
):
    therapist, client, at_week = care
    at_week(3)
    c = browser(app, client)
    c.post("/me/questionnaires/week/1/phq9", data=answers([2, 2, 2, 2, 2, 2, 2, 2, 0]))
    c.post("/me/questionnaires/week/3/phq9", data=answers([1, 1, 1, 1, 1, 1, 1, 0, 0]))
    text = page_text(c.get("/me/progress"))
    assert "Your latest score was 7, which is in the “mild” range." in text
    assert "9 points lower than when you started (lower is better" in text
    practice.clients_see_scores = False
    db.commit()
    hidden = page_text(c.get("/me/progress"))
    assert "latest score" not in hidden and "talks scores through in your sessions" in hidden


def test_admin_sets_crisis_contacts_and_score_visibility(
    app, db, make_user, sign_in, client, practice
):
    admin = make_user(Role.ADMIN)
    sign_in(admin)
    empty = client.post("/admin/settings", data={"crisis_contacts": ""})
    assert empty.status_code == 422 and "Enter at least one crisis contact." in page_text(empty)
    client.post("/admin/settings", data={"crisis_contacts": "Call 999 or Samaritans 116 123"})
    db.expire_all()
    assert practice.crisis_contacts == "Call 999 or Samaritans 116 123"
    assert practice.clients_see_scores is False  # an unticked box


def test_a_client_completes_every_scheduled_questionnaire_over_twelve_weeks(app, db, care):
    therapist, client, at_week = care
    plan = at_week(12)
    c = browser(app, client)
    sizes = {"phq9": 9, "gad7": 7, "wsas": 5, "csi4": 4}
    done = 0
    for week in range(1, 13):
        with app.app_context():
            from clinic import questionnaires

            dues, check_in_due = questionnaires.scheduled(db, plan, week)
        for due in dues:
            values = [1] * sizes[due.code]
            if due.code == "phq9":
                values[8] = 0  # item 9 (self-harm) not endorsed
            response = c.post(f"/me/questionnaires/week/{week}/{due.code}", data=answers(values))
            assert response.status_code == 302, (week, due.code)
            done += 1
        if check_in_due:
            assert (
                c.post(
                    f"/me/check-in/{week}", data={"trust": "6", "distress": "3", "helpfulness": "2"}
                ).status_code
                == 302
            )
    # Baseline, mid-point and end batteries (4 each) plus PHQ-9 and GAD-7 in weeks 3, 5, 7, 9, 11.
    assert done == 3 * 4 + 5 * 2
    assert db.scalar(sa.select(sa.func.count()).select_from(Administration)) == 22
    assert db.scalar(sa.select(sa.func.count()).select_from(CheckIn)) == 12  # every week
    slots = dict(
        db.execute(
            sa.select(Administration.slot, sa.func.count()).group_by(Administration.slot)
        ).all()
    )
    assert slots == {"baseline": 4, "midpoint": 4, "end": 4, "fortnightly": 10}
    assert db.scalar(sa.select(sa.func.count()).select_from(Alert)) == 0  # steady, low scores
    assert "Done" in page_text(c.get("/me/"))


def test_last_weeks_questionnaires_stay_open_for_a_week(app, db, care):
    therapist, client, at_week = care
    at_week(2)
    c = browser(app, client)
    home = page_text(c.get("/me/"))
    assert (
        "Mood check (PHQ-9) · from last week" in home
        and "Relationship check (CSI-4) · from last week" in home
    )
    c.post("/me/questionnaires/week/1/phq9", data=answers([0] * 9))
    assert "Mood check (PHQ-9) · from last week" not in page_text(c.get("/me/"))


def test_the_admin_sees_open_and_overdue_alerts_as_counts_and_names_safety_contacts(
    app, db, care, practice, make_user
):
    """The admin reads no clinical content: the People page counts open alerts per therapist
    and those past the response time, and says nothing of who or why."""
    therapist, client, at_week = care
    at_week(1)
    c = browser(app, client)
    c.post("/me/questionnaires/week/1/phq9", data=answers([0, 0, 0, 0, 0, 0, 0, 0, 2]))
    alert = db.scalars(sa.select(Alert)).one()
    alert.opened_at = alert.opened_at - dt.timedelta(hours=30)
    db.commit()
    admin = make_user(Role.ADMIN)
    a = browser(app, admin)
    people = BeautifulSoup(a.get("/admin/").data, "html.parser")
    row = next(tr for tr in people.select("tbody tr") if therapist.display_name in tr.get_text())
    assert "1 · 1 not acknowledged in time" in " ".join(row.get_text(" ", strip=True).split())
    assert "item 9" not in people.get_text() and client.display_name not in people.get_text()
    a.post(f"/admin/people/{therapist.id}/safety-contact/on")
    db.expire_all()
    assert db.get(User, therapist.id).safety_contact is True
    assert "safety contact" in page_text(a.get("/admin/"))
    settings = a.post(
        "/admin/settings", data={"crisis_contacts": "Call 999", "alert_response_hours": "0"}
    )
    assert settings.status_code == 422
    assert "Enter a number of hours from 1 to 168." in page_text(settings)
    saved = a.post(
        "/admin/settings",
        data={
            "crisis_contacts": "Call 999",
            "abuse_helplines": "  Helpline 0800 000 000  ",
            "alert_response_hours": "12",
        },
    )
    assert saved.status_code == 302
    db.expire_all()
    stored = db.get(User, admin.id).practice
    assert (stored.abuse_helplines, stored.alert_response_hours) == ("Helpline 0800 000 000", 12)


def test_the_alert_page_shows_the_answers_the_item9_history_and_how_to_reach_the_client(
    app, db, care
):
    therapist, client, at_week = care
    at_week(1)
    c = browser(app, client)
    c.post("/me/questionnaires/week/1/phq9", data=answers([0, 0, 0, 0, 0, 0, 0, 0, 1]))
    t = browser(app, therapist)
    given = t.post(
        f"/therapist/clients/{client.id}/questionnaires/phq9/in-session", data=answers([3] * 9)
    )
    assert given.status_code == 302
    newest = db.scalars(sa.select(Alert).where(Alert.kind == "item9").order_by(Alert.id)).all()[-1]
    page = BeautifulSoup(
        t.get(f"/therapist/clients/{client.id}/alerts/{newest.id}").data, "html.parser"
    )
    text = " ".join(page.get_text(" ", strip=True).split())
    assert client.email in text and "Bedrock keeps no phone number" in text
    rows = page.select("section[aria-labelledby=answers-title] tbody tr")
    assert len(rows) == 9
    assert (
        "(raised the alert)" in rows[8].get_text() and "3: Nearly every day" in rows[8].get_text()
    )
    history = page.select("section[aria-labelledby=item9-title] tbody tr")
    assert [r.select("td")[1].get_text(strip=True) for r in history] == [
        "3: Nearly every day",
        "1: Several days",
    ]
    assert "The same answers also raised: Severe score" in text


def test_a_self_harm_alert_sets_my_safety_plan_as_homework_once(app, db, care):
    """'Assign My safety plan' on a self-harm alert sets the worksheet in the current week;
    a second click (or a colleague's) adds nothing."""
    therapist, client, at_week = care
    plan = at_week(1)
    c = browser(app, client)
    c.post("/me/questionnaires/week/1/phq9", data=answers([0, 0, 0, 0, 0, 0, 0, 0, 2]))
    alert = db.scalars(sa.select(Alert)).one()
    t = browser(app, therapist)
    url = f"/therapist/clients/{client.id}/alerts/{alert.id}"
    assert "Assign My safety plan" in page_text(t.get(url))
    first = t.post(url + "/safety-plan", follow_redirects=True)
    assert "My safety plan is set for this week." in page_text(first)
    again = t.post(url + "/safety-plan", follow_redirects=True)
    assert "My safety plan is already set." in page_text(again)
    from clinic.models import Assignment

    set_ = db.scalars(
        sa.select(Assignment).where(
            Assignment.plan_id == plan.id, Assignment.worksheet_key == "safety_plan"
        )
    ).all()
    assert [(a.week, a.removed_at) for a in set_] == [(1, None)]
    home = page_text(c.get("/me/"))
    assert "My safety plan" in home
