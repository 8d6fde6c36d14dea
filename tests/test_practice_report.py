"""The practice outcome report (issue #20, item 4): counts only, no names, every cell under 5
suppressed, NHS Talking Therapies rates checked against a small cohort worked out by hand."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from bs4 import BeautifulSoup

from clinic import reports
from clinic.models import Administration, Assignment, Plan, Role, Submission
from clinic.reports import practice as rules

from .conftest import count_statements
from .test_auth import page_text
from .test_questionnaires import browser
from .test_reports import pdf_text

AS_OF = dt.date(2026, 6, 30)
FIRST = dt.date(2025, 11, 3)  # a Monday in 2025 Q4
ENDED = dt.datetime(2026, 2, 10, 12, tzinfo=dt.UTC)  # 2026 Q1

# (PHQ-9 first, last, GAD-7 first, last, discharge reason, how many) worked out by hand with
# the NHS Talking Therapies rules (caseness PHQ-9 >= 10 or GAD-7 >= 8; reliable change 6 / 4):
COHORT = [
    # at caseness, PHQ-9 down 10: reliable improvement, recovery, reliable recovery
    (15, 5, 12, 4, "completed", 6),
    # at caseness, PHQ-9 down 8 but both still a case: reliable improvement, not recovered
    (22, 14, 15, 10, "completed", 7),
    # at caseness, both below caseness at the end without reliable change: recovery only
    (11, 8, 9, 6, "goals_met", 5),
    # at caseness, no reliable change, still a case (PHQ-9 10): not recovered
    (12, 10, 9, 8, "client_stopped", 3),
    (12, 10, 9, 8, "lost_contact", 2),
    # not a case, PHQ-9 up 8: reliable deterioration
    (8, 16, 5, 6, "referred_on", 1),
    # not a case, no reliable change
    (6, 3, 4, 2, "goals_met", 5),
]
# Ended with pairs: 29. Reliable improvement (6 + 7)/29 = 45%; deterioration 1/29 (suppressed);
# at caseness 6 + 7 + 5 + 5 = 23; recovery (6 + 5)/23 = 48%, reliable recovery 6/23 = 26%.
# Finished 6 + 7 + 5 + 5 = 23; dropped out 3 + 2 = 5; ended otherwise 1 (<5).
# Homework: one piece each, due 9 Nov 2025; 10 of 29 sent = 34%.


def _score(db, client, plan, code, week, slot, total, when):  # type: ignore[no-untyped-def]
    db.add(
        Administration(
            client_id=client.id,
            plan_id=plan.id,
            instrument_code=code,
            instrument_version=1,
            slot=slot,
            week=week,
            completed_at=when,
            total=total,
            answers={},
        )
    )


@pytest.fixture
def cohort(app, db, make_user):  # type: ignore[no-untyped-def]
    """29 ended episodes of one therapist, one episode of a colleague, started later."""
    therapist = make_user(Role.THERAPIST, name="Dr Philippa Outcomes")
    colleague = make_user(Role.THERAPIST, name="Dr Colm Colleague")
    names = []
    sent = 0
    for phq_pre, phq_post, gad_pre, gad_post, reason, count in COHORT:
        for _ in range(count):
            name = f"Quentin Cohortson {len(names) + 1}"
            names.append(name)
            client = make_user(Role.CLIENT, therapist=therapist, name=name)
            plan = Plan(
                client_id=client.id,
                program_key="trust12",
                program_version=1,
                first_session=FIRST,
                session_weekday=0,
                status="finished",
                finished_at=ENDED,
                discharge_reason=reason,
            )
            db.add(plan)
            db.flush()
            start = dt.datetime(2025, 11, 4, 9, tzinfo=dt.UTC)
            end = dt.datetime(2026, 1, 26, 9, tzinfo=dt.UTC)
            for code, pre, post in (("phq9", phq_pre, phq_post), ("gad7", gad_pre, gad_post)):
                _score(db, client, plan, code, 1, "baseline", pre, start)
                _score(db, client, plan, code, 12, "end", post, end)
            homework = Assignment(
                plan_id=plan.id, week=1, worksheet_key="trust_history", due_on=dt.date(2025, 11, 9)
            )
            db.add(homework)
            db.flush()
            if sent < 10:
                sent += 1
                db.add(
                    Submission(
                        assignment_id=homework.id,
                        client_id=client.id,
                        status="submitted",
                        answers={"a": "Private words of Quentin"},
                        worksheet_version=1,
                        submitted_at=start,
                    )
                )
    later = make_user(Role.CLIENT, therapist=colleague, name="Ottilie Laterstart")
    db.add(
        Plan(
            client_id=later.id,
            program_key="trust12",
            program_version=1,
            first_session=dt.date(2026, 5, 25),  # in week 6 on AS_OF
            session_weekday=0,
        )
    )
    db.commit()
    return therapist, colleague, [*names, "Ottilie Laterstart"]


def test_the_rates_match_a_cohort_worked_out_by_hand(app, db, practice, cohort):  # type: ignore[no-untyped-def]
    with app.app_context():
        report = reports.gather_practice_report(db, practice, AS_OF)
    started = report.quarters["2025 Q4 (Oct–Dec)"]
    assert (started.episodes, started.homework_due, started.homework_sent) == (29, 29, 10)
    ended = report.quarters["2026 Q1 (Jan–Mar)"]
    assert (ended.finished, ended.dropped_out, ended.ended_otherwise) == (23, 5, 1)
    assert (ended.paired, ended.improved, ended.deteriorated) == (29, 13, 1)
    assert (ended.caseness, ended.recovered, ended.reliably_recovered) == (23, 11, 6)
    rows = {r[0]: r for r in report.quarter_rows()}
    assert rows["2025 Q4 (Oct–Dec)"] == [
        "2025 Q4 (Oct–Dec)", "29", "<5", "<5", "<5",
        "<5", "suppressed", "suppressed", "<5", "suppressed", "suppressed",
        "29", "10", "34%",
    ]  # fmt: skip
    assert rows["2026 Q1 (Jan–Mar)"] == [
        "2026 Q1 (Jan–Mar)", "<5", "23", "5", "<5",
        "29", "45%", "suppressed", "23", "48%", "26%",
        "<5", "<5", "suppressed",
    ]  # fmt: skip
    assert rows["2026 Q2 (Apr–Jun)"][1] == "<5"  # the colleague's one episode
    weeks = {int(r[0]): r for r in report.week_rows()}
    assert (weeks[6][1], weeks[7][1], weeks[12][1]) == ("30", "29", "29")
    assert weeks[12][2] == "5"  # the five who dropped out, in the last week of the plan
    assert weeks[12][3:9] == ["29", "45%", "suppressed", "23", "48%", "26%"]
    assert weeks[6][3] == "<5"  # nobody answered in week 6


@pytest.mark.parametrize(
    ("numerator", "denominator", "shown"),
    [(5, 10, "50%"), (4, 10, "suppressed"), (6, 10, "suppressed"), (5, 9, "suppressed"),
     (0, 0, "suppressed"), (10, 20, "50%")],
)  # fmt: skip
def test_a_rate_is_shown_only_when_no_part_of_it_is_under_five(numerator, denominator, shown):
    assert rules.rate_text(numerator, denominator) == shown


@pytest.mark.parametrize(("n", "shown"), [(0, "<5"), (1, "<5"), (4, "<5"), (5, "5"), (12, "12")])
def test_every_count_under_five_is_suppressed(n, shown):
    assert rules.count_text(n) == shown


def test_the_pdf_and_csv_name_no_one_and_cite_the_definitions(app, db, practice, cohort, make_user):  # type: ignore[no-untyped-def]
    therapist, colleague, names = cohort
    admin = make_user(Role.ADMIN, name="Ada Adminsworth")
    a = browser(app, admin)
    page = a.get("/admin/outcomes")
    assert page.status_code == 200
    text = pdf_text(a.get("/admin/outcomes.pdf").data)
    raw = a.get("/admin/outcomes.csv").data.decode("utf-8-sig")
    html = page_text(page)
    for body in (text, raw, html):
        for name in [*names, "Quentin", "Dr Philippa Outcomes", "Dr Colm Colleague"]:
            assert name not in body
        assert "Private words" not in body
    assert "<5" in text and "suppressed" in text
    for source in ("ISB 1523", "Gyani", "NHS Talking Therapies for anxiety and depression Manual"):
        assert source in text and source in html
    table = list(csv.reader(io.StringIO(raw)))
    assert table[0] == list(rules.CSV_HEADER)
    by_label = {(r[0], r[1]): dict(zip(table[0], r, strict=True)) for r in table[1:]}
    started = by_label[("by quarter", "2025 Q4 (Oct–Dec)")]
    assert (started["episodes started"], started["finished"]) == ("29", "<5")
    ended = by_label[("by quarter", "2026 Q1 (Jan–Mar)")]
    assert (ended["finished"], ended["dropped out"], ended["recovery"]) == ("23", "5", "48%")
    last = by_label[("by program week", "12")]
    assert (last["dropped out"], last["episodes started"], last["finished"]) == ("5", "", "")
    assert last["reliable improvement"] == "45%"
    assert all(cell != "1" for row in table for cell in row[2:])  # no small count anywhere


def test_each_therapist_sees_the_same_for_their_own_caseload(app, db, cohort):  # type: ignore[no-untyped-def]
    therapist, colleague, _ = cohort
    mine = page_text(browser(app, therapist).get("/therapist/outcomes"))
    assert "your own caseload" in mine and "29" in mine and "2026 Q2" not in mine
    theirs = browser(app, colleague)
    page = BeautifulSoup(theirs.get("/therapist/outcomes").data, "html.parser")
    cells = [td.get_text() for td in page.find_all("td")]
    assert "2026 Q2 (Apr–Jun)" in page.get_text() and "2025 Q4" not in page.get_text()
    assert set(cells) <= {"<5", "suppressed"}  # one episode: nothing but suppressed cells
    csv_text = theirs.get("/therapist/outcomes.csv").data.decode("utf-8-sig")
    assert "29" not in csv_text


def test_the_report_costs_the_same_statements_for_a_larger_practice(
    app, db, practice, cohort, make_user
):  # type: ignore[no-untyped-def]
    admin = make_user(Role.ADMIN)
    web = browser(app, admin)
    before, _ = count_statements(app, web, "/admin/outcomes")
    therapist = cohort[0]
    for n in range(10):
        client = make_user(Role.CLIENT, therapist=therapist, name=f"Extra {n}")
        db.add(
            Plan(
                client_id=client.id,
                program_key="trust12",
                program_version=1,
                first_session=FIRST,
                session_weekday=0,
            )
        )
    db.commit()
    after, page = count_statements(app, web, "/admin/outcomes")
    assert "39" in BeautifulSoup(page, "html.parser").get_text()  # 29 + 10 started in 2025 Q4
    assert before == after, (before, after)
