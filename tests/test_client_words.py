"""Words for clients: plain questionnaire titles with the acronym second, how much of the week
is done, and the references folded behind "About this questionnaire"."""

from __future__ import annotations

import datetime as dt
import re

from bs4 import BeautifulSoup

from clinic import answers as engine
from clinic import plans, questionnaires

from .conftest import valid_answers as valid_raw
from .test_notes import session

__all__ = ["session"]


def test_this_week_says_how_much_is_done_and_names_questionnaires_plainly(
    app, db, session, signed_in
):
    therapist, client, t = session
    c = signed_in(client)
    soup = BeautifulSoup(c.get("/me/").data, "html.parser")
    found = re.search(r"(\d+) of (\d+) done this week", soup.get_text(" "))
    assert found, soup.get_text(" ")[:500]
    before, total = int(found.group(1)), int(found.group(2))
    with app.app_context():  # the client sends one of this week's worksheets
        plan = plans.open_plan(db, client)
        week = plans.position(plan, dt.date.today()).week
        a = next(x for x in plan.assignments if x.week == week and x.removed_at is None)
        ws = plans.worksheet(db, a.worksheet_key)
        plans.submit(db, a, client, engine.normalise_raw(ws, valid_raw(ws)), 0)
        db.commit()
    again = BeautifulSoup(c.get("/me/").data, "html.parser").get_text(" ")
    assert f"{before + 1} of {total} done this week" in again
    titles = [h.get_text(" ", strip=True) for h in soup.find_all(["h2", "h3"])]
    assert not any(re.match(r"(PHQ-9|GAD-7|WSAS|CSI-4)\b", title) for title in titles), titles


def test_a_questionnaire_leads_with_its_plain_title_and_folds_the_reference(
    app, db, session, signed_in
):
    therapist, client, t = session
    c = signed_in(client)
    page = BeautifulSoup(c.get("/me/questionnaires/week/1/gad7").data, "html.parser")
    assert page.find("h1").get_text(" ", strip=True).startswith("Worry check (GAD-7)")
    about = page.find("details", class_="about-measure")
    assert about.find("summary").get_text(strip=True) == "About this questionnaire"
    assert "Spitzer" in about.get_text()
    # outside the fold, no reference line
    outside = [p for p in page.find_all("p", class_="source") if not p.find_parent("details")]
    assert all("Reference" not in p.get_text() for p in outside)


def test_the_progress_page_titles_and_folds_too(app, db, session, signed_in):
    therapist, client, t = session
    c = signed_in(client)
    page = BeautifulSoup(c.get("/me/progress").data, "html.parser")
    headings = [h.get_text(" ", strip=True) for h in page.select("figure.chart-block h2")]
    assert "Mood check (PHQ-9)" in headings
    figure = page.find("figure", id="measure-phq9")
    assert "Kroenke" in figure.find("details", class_="about-measure").get_text()


def test_the_progress_page_shows_my_trust_rating_week_by_week(app, db, session, signed_in):
    therapist, client, t = session
    with app.app_context():
        plan = plans.open_plan(db, client)
        questionnaires.record_check_in(
            db, client, plan, 5, client, trust=8, distress=2, helpfulness=None, note=None
        )
        db.commit()
    c = signed_in(client)
    page = BeautifulSoup(c.get("/me/progress").data, "html.parser")
    figure = page.find("figure", id="measure-checkin-trust")
    assert figure.find("h2").get_text(strip=True) == "My trust rating, week by week"
    assert "latest rating was 8 out of 10, 2 points higher than your first (6)" in " ".join(
        figure.get_text(" ").split()
    )
    rows = [[td.get_text() for td in tr.find_all("td")] for tr in figure.select("tbody tr")]
    assert [r[1:] for r in rows] == [["4", "6"], ["5", "8"]]  # every point, in a table
    assert len(figure.select("svg circle.point")) == 2
