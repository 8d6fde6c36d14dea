"""The caseload dashboard: what a therapist triages from, and what it costs the database."""

from __future__ import annotations

import datetime as dt

import pytest
from bs4 import BeautifulSoup

from clinic import episodes, plans, questionnaires
from clinic.db import utcnow
from clinic.models import Role

from .conftest import PASSWORD, count_statements, record_screen
from .test_auth import page_text


def build_caseload(app, db, make_user, therapist, n: int) -> list:  # type: ignore[no-untyped-def]
    """n clients at different weeks, with homework, scores, check-ins and some alerts."""
    clients = []
    with app.app_context():
        for i in range(n):
            client = make_user(Role.CLIENT, therapist=therapist, name=f"Client {i:03d}")
            week = 1 + i % 12
            first = dt.date.today() - dt.timedelta(days=7 * (week - 1) + 1)
            record_screen(db, client, therapist, on=dt.date(2000, 1, 1))
            plan = plans.start_plan(db, client, therapist, first, first.weekday())
            for a in plan.assignments[: max(0, week - 2)]:
                ws = plans.worksheet(db, a.worksheet_key)
                from clinic import answers as engine

                raw = engine.blank_raw(ws)
                plans.save_draft(db, a, client, raw, 0)
            questionnaires.complete(
                db,
                client,
                "phq9",
                {str(k): (1 if k < 9 else 0) for k in range(1, 10)},
                client,
                plan=plan,
                week=1,
                slot="baseline",
            )
            questionnaires.complete(
                db,
                client,
                "gad7",
                {str(k): 1 + i % 2 for k in range(1, 8)},
                client,
                plan=plan,
                week=1,
                slot="baseline",
            )
            if week > 1:
                questionnaires.record_check_in(
                    db,
                    client,
                    plan,
                    2,
                    client,
                    trust=4 + i % 5,
                    distress=9 if i % 7 == 0 else 3,
                    helpfulness=2,
                    note=None,
                )
            clients.append(client)
        db.commit()
    return clients


@pytest.mark.parametrize(
    "url",
    [
        "/therapist/",
        "/therapist/?filter=attention&sort=phq9",
        "/therapist/?filter=overdue&sort=name&q=client",
    ],
)
def test_the_dashboard_costs_the_same_statements_for_5_and_50_clients(app, db, make_user, url):
    counts = []
    for n in (5, 50):
        therapist = make_user(Role.THERAPIST)
        build_caseload(app, db, make_user, therapist, n)
        c = app.test_client()
        c.post("/sign-in", data={"email": therapist.email, "password": PASSWORD})
        statements, html = count_statements(app, c, url)
        counts.append(statements)
        rows = BeautifulSoup(html, "html.parser").select("table.dashboard tbody tr")
        assert len(rows) >= (1 if "filter" in url else n)
        assert "Nobody" not in rows[0].get_text() and "No client" not in rows[0].get_text()
    assert counts[0] == counts[1], counts
    assert counts[0] <= 12, counts


@pytest.fixture
def desk(app, db, make_user):  # type: ignore[no-untyped-def]
    therapist = make_user(Role.THERAPIST)
    clients = build_caseload(app, db, make_user, therapist, 14)
    c = app.test_client()
    c.post("/sign-in", data={"email": therapist.email, "password": PASSWORD})
    return therapist, clients, c


def rows_of(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    soup = BeautifulSoup(response.data, "html.parser")
    return [
        [" ".join(cell.get_text().split()) for cell in tr.find_all(["th", "td"])]
        for tr in soup.select("table.dashboard tbody tr")
    ]


def test_one_row_per_client_with_week_homework_scores_and_alerts_first(app, db, desk):
    therapist, clients, c = desk
    rows = rows_of(c.get("/therapist/"))
    assert len(rows) == 14
    # Client 7 reported distress 9 (client 0 is in week 1, before any check-in): the open
    # alert puts them first.
    assert rows[0][0] == "Client 007" and "Alert · High distress" in rows[0][-1]
    assert "Alert" not in rows[1][-1]
    by_name = {r[0]: r for r in rows}
    assert by_name["Client 006"][1] == "7/12"
    assert by_name["Client 006"][3].startswith("8")  # latest PHQ-9: eight items answered 1
    assert "This week 0/1" in by_name["Client 006"][2]
    assert "overdue" in by_name["Client 006"][2]  # earlier weeks only have drafts
    assert by_name["Client 003"][5].startswith("7")  # trust 4 + 3 % 5


def test_filters_and_sorting_are_links(app, db, desk):
    therapist, clients, c = desk
    alerts = rows_of(c.get("/therapist/?filter=alerts"))
    assert [r[0] for r in alerts] == ["Client 007"]
    overdue = rows_of(c.get("/therapist/?filter=overdue"))
    assert all("overdue" in r[2] for r in overdue) and overdue
    by_name = rows_of(c.get("/therapist/?sort=name"))
    assert [r[0] for r in by_name] == sorted(r[0] for r in by_name)
    by_week = rows_of(c.get("/therapist/?sort=week"))
    assert by_week[0][1] == "12/12"
    assert rows_of(c.get("/therapist/?filter=finished")) == [["Nobody matches this filter."]]
    assert rows_of(c.get("/therapist/?filter=nonsense&sort=nonsense"))  # unknown values fall back


def test_no_activity_is_computed_not_stored(app, db, make_user):
    therapist = make_user(Role.THERAPIST)
    quiet = make_user(Role.CLIENT, therapist=therapist, name="Quiet One")
    quiet.last_sign_in_at = utcnow() - dt.timedelta(days=20)
    db.commit()
    c = app.test_client()
    c.post("/sign-in", data={"email": therapist.email, "password": PASSWORD})
    row = rows_of(c.get("/therapist/?filter=attention"))[0]
    assert (
        row[0] == "Quiet One" and "20 days ago" in row[7] and "no activity for 20 days" in row[-1]
    )
    assert "Open alerts (0)" in page_text(c.get("/therapist/"))


def test_the_sorted_column_says_so_to_screen_readers(app, client, make_user, sign_in):
    therapist = make_user(Role.THERAPIST)
    make_user(Role.CLIENT, therapist=therapist)
    sign_in(therapist)
    for key, label, direction in (("name", "Client", "ascending"), ("week", "Week", "descending")):
        page = BeautifulSoup(client.get(f"/therapist/?sort={key}").data, "html.parser")
        sorted_headers = page.select("th[aria-sort]")
        assert [
            (h.get_text(strip=True).split("(")[0].strip("▾ "), h["aria-sort"])
            for h in sorted_headers
        ] == [(label, direction)]


def test_open_alerts_lead_with_the_most_urgent_kind_then_the_newest():
    """Item 9 "nearly every day" from last week comes before "several days" from today, which
    comes before a red flag, a distress rating of 10 before one of 9, and so on down to a
    reliable deterioration."""
    import datetime as dt

    from clinic import alerts as alert_rules
    from clinic.models import Alert

    now = dt.datetime.now(dt.UTC)
    made = [
        ("distress", 9, 1),
        ("item9", 1, 0),
        ("severe", 0, 2),
        ("deterioration", 0, 0),
        ("item9", 3, 100),
        ("distress", 10, 50),
        ("red_flag", 0, 5),
        ("item9", 2, 30),
    ]
    alerts = [
        Alert(
            id=i + 1,
            client_id=1,
            kind=k,
            grade=g,
            detail="x",
            opened_at=now - dt.timedelta(hours=h),
        )
        for i, (k, g, h) in enumerate(made)
    ]
    ordered = sorted(alerts, key=alert_rules.urgency)
    assert [(a.kind, a.grade) for a in ordered] == [
        ("item9", 3),
        ("item9", 2),
        ("item9", 1),
        ("red_flag", 0),
        ("distress", 10),
        ("distress", 9),
        ("severe", 0),
        ("deterioration", 0),
    ]


def send_homework(app, db, client) -> None:  # type: ignore[no-untyped-def]
    """The client sends their first piece of homework: it waits for the therapist's review."""
    from clinic import answers as engine

    from .conftest import valid_answers

    with app.app_context():
        plan = plans.open_plan(db, client)
        assignment = plan.assignments[0]
        ws = plans.worksheet(db, assignment.worksheet_key)
        plans.submit(db, assignment, client, engine.normalise_raw(ws, valid_answers(ws)), 0)
        db.commit()


def test_homework_to_review_needs_attention_and_has_its_own_filter(app, db, desk):
    therapist, clients, c = desk
    before = page_text(c.get("/therapist/"))
    assert "To review (0)" in before
    send_homework(app, db, clients[0])  # client 000: week 1, otherwise nothing to flag
    page = c.get("/therapist/")
    assert "To review (1)" in page_text(page)
    to_review = rows_of(c.get("/therapist/?filter=review"))
    assert [r[0] for r in to_review] == ["Client 000"]
    assert "1 to review" in to_review[0][2] and "1 to review" in to_review[0][-1]
    attention = rows_of(c.get("/therapist/?filter=attention"))
    assert "Client 000" in [r[0] for r in attention]
    # the filter links carry the sort order, so the view stays bookmarkable
    soup = BeautifulSoup(c.get("/therapist/?sort=name").data, "html.parser")
    link = soup.find("a", string=lambda s: s and s.startswith("To review"))
    assert link["href"] == "/therapist/?filter=review&sort=name"


def test_the_name_search_works_without_javascript_and_keeps_filter_and_sort(app, db, desk):
    therapist, clients, c = desk
    soup = BeautifulSoup(c.get("/therapist/?filter=attention&sort=name").data, "html.parser")
    form = soup.find("form", role="search")
    assert form["aria-label"] == "Search the caseload"
    assert form["method"] == "get" and form.find("label", string="Find a client by name")
    kept = {i["name"]: i["value"] for i in form.find_all("input", type="hidden")}
    assert kept == {"filter": "attention", "sort": "name"}
    assert form.find("input", type="search")["name"] == "q"
    # any case, extra spaces, several words
    found = rows_of(c.get("/therapist/?q=  cLiEnt   01 &sort=name"))
    assert [r[0] for r in found] == [f"Client {n:03d}" for n in (1, 10, 11, 12, 13)]
    assert rows_of(c.get("/therapist/?q=007"))[0][0] == "Client 007"
    # combined with a filter: client 007 has the open alert, 006 does not
    assert [r[0] for r in rows_of(c.get("/therapist/?q=007&filter=alerts"))] == ["Client 007"]
    page = c.get("/therapist/?q=006&filter=alerts")
    assert rows_of(page) == [["No client with this filter has “006” in their name."]]
    text = page_text(page)
    assert "Open alerts (0)" in text and "Everyone (1)" in text  # counted within the search
    soup = BeautifulSoup(page.data, "html.parser")
    assert soup.find("input", type="search")["value"] == "006"  # the search is kept
    clear = soup.find("a", string="Clear search")
    assert clear["href"] == "/therapist/?filter=alerts"
    # sorting keeps the search and the filter
    sort = soup.find("th", class_="col-client").find("a")
    assert sort["href"] == "/therapist/?filter=alerts&sort=name&q=006"
    # a name in another script, found by its own letters
    with app.app_context():
        clients[3].display_name = "Zoë Ανδρέου"
        db.commit()
    assert [r[0] for r in rows_of(c.get("/therapist/?q=ανδρ"))] == ["Zoë Ανδρέου"]


def test_scores_show_their_band_and_severity_and_change_names_its_convention(app, db, desk):
    therapist, clients, c = desk
    soup = BeautifulSoup(c.get("/therapist/?sort=name").data, "html.parser")
    row = next(tr for tr in soup.select("table.dashboard tbody tr") if "Client 006" in tr.text)
    phq, gad = row.select(".score-chip")
    # PHQ-9 8 and GAD-7 7 are mild (5-9), coloured as on the record
    assert " ".join(phq.get_text().split()) == "8 mild" and "sev-1" in phq["class"]
    assert " ".join(gad.get_text().split()) == "7 mild" and "sev-1" in gad["class"]
    assert row.select(".change-chip") == []  # one score each: no change to work out yet
    with app.app_context():
        questionnaires.complete(
            db,
            clients[6],
            "phq9",
            {str(k): 2 for k in range(1, 10)},
            clients[6],
            plan=episodes.episode(db, clients[6]),
            week=6,
            slot="midpoint",
        )
        db.commit()
    soup = BeautifulSoup(c.get("/therapist/?sort=name").data, "html.parser")
    row = next(tr for tr in soup.select("table.dashboard tbody tr") if "Client 006" in tr.text)
    phq = row.select(".score-chip")[0]
    assert " ".join(phq.get_text().split()) == "18 moderately severe" and "sev-2" in phq["class"]
    chips = [" ".join(ch.get_text().split()) for ch in row.select(".change-chip")]
    assert chips == [
        "PHQ-9 +10 · reliable deterioration JT (Jacobson–Truax reliable change index)"
    ]  # and no NHS Talking Therapies outcome until GAD-7 has a second score too
    assert "tone-worse" in row.select(".change-chip")[0]["class"]
    assert "PHQ-9 reliable deterioration" in row.select("td")[-1].get_text()
