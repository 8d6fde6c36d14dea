"""Numbers a clinician can sign: one definition of an episode's baseline, mid-point and latest
score used by every surface; notes and summaries as of their date; every change figure with
its convention named."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from clinic import alerts, episodes, measures, notes, plans, questionnaires, reports
from clinic.models import Administration, Role

from .conftest import record_screen
from .test_reports import pdf_text

TODAY = dt.date.today()


def phq9(total: int) -> dict[str, int]:
    """PHQ-9 answers adding up to `total`, item 9 always 0."""
    answers, left = {}, total
    for i in range(1, 10):
        answers[str(i)] = 0 if i == 9 else min(3, left)
        left -= answers[str(i)]
    assert left == 0
    return answers


def give(db, client, plan, total: int, day: dt.date, *, slot="fortnightly", week=None):  # type: ignore[no-untyped-def]
    """A PHQ-9 of `total` completed at noon UTC on `day`."""
    row, raised = questionnaires.complete(
        db, client, "phq9", phq9(total), client, plan=plan, week=week, slot=slot
    )
    row.completed_at = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
    db.flush()
    return row, raised


@pytest.fixture
def people(make_user):  # type: ignore[no-untyped-def]
    therapist = make_user(Role.THERAPIST, name="Dr Rivers")
    client = make_user(Role.CLIENT, therapist=therapist, name="Jordan Avery")
    return therapist, client


def start(db, client, therapist, first: dt.date):  # type: ignore[no-untyped-def]
    record_screen(db, client, therapist, on=first - dt.timedelta(days=10))
    plan = plans.start_plan(db, client, therapist, first, first.weekday())
    plan.created_at = dt.datetime.combine(first - dt.timedelta(days=5), dt.time(9), dt.UTC)
    return plan


# --- the rule ---------------------------------------------------------------------------------


def score(day: int, value: int, slot: str = "fortnightly", week: int | None = None):  # type: ignore[no-untyped-def]
    when = dt.datetime(2026, 3, day, 12, tzinfo=dt.UTC)
    return episodes.Score(when, when.date(), value, week, slot, day)


def test_the_baseline_is_the_baseline_slot_else_the_first_and_the_midpoint_is_week_six():
    c = episodes.course(
        "phq9",
        [score(9, 11, week=12), score(2, 9, "ad_hoc"), score(3, 18, "baseline", 1),
         score(5, 14, week=5), score(6, 13, week=7)],
    )  # fmt: skip
    assert c is not None
    assert (c.baseline.value, c.midpoint and c.midpoint.value, c.latest.value) == (18, 14, 11)
    c = episodes.course("phq9", [score(3, 12, week=3), score(4, 13, "midpoint", 6), score(5, 9)])
    assert c is not None and c.baseline.value == 12 and c.midpoint and c.midpoint.value == 13
    c = episodes.course("phq9", [score(3, 12), score(4, 10)])
    assert c is not None and c.midpoint is None and not c.single
    only = episodes.course("phq9", [score(3, 12)])
    assert only is not None and only.single and only.latest is only.baseline


# --- a baseline before the first session -------------------------------------------------------


def test_a_baseline_answered_before_the_first_session_counts_everywhere(app, db, people, signed_in):
    therapist, client = people
    first = TODAY - dt.timedelta(days=21)
    with app.app_context():
        plan = start(db, client, therapist, first)
        give(db, client, plan, 18, first - dt.timedelta(days=2), slot="baseline", week=1)
        give(db, client, plan, 12, first + dt.timedelta(days=14), week=3)
        give(db, client, plan, 11, TODAY - dt.timedelta(days=1), week=3 + 0, slot="ad_hoc")
        db.commit()
        report = reports.gather_progress_report(db, client, TODAY)
        summary = reports.gather_session_summary(db, client, TODAY, None)
        data, _ = notes.record_summary(db, client, TODAY)
    phq = next(m for m in report.measures if m.instrument == "PHQ-9")
    assert phq.rows[0][0] == "Baseline"
    assert phq.rows[0][2:4] == (f"{first - dt.timedelta(days=2):%d %b %Y}", "18")
    assert any("went from 18 (baseline) to 11" in line for line in report.summary)
    assert "reliable improvement" in phq.reliable  # 18 → 11 is 7 points (5 are needed)
    line = next(x for x in summary.scores if x.instrument == "PHQ-9")
    assert line.change == "Baseline 18, change -7" and "reliable improvement" in line.reliable
    assert "baseline 18, change -7" in data
    page = signed_in(therapist).get(f"/therapist/clients/{client.id}")
    chart = BeautifulSoup(page.data, "html.parser").find(id="measure-phq9")
    assert "change since baseline -7" in chart.get_text(" ")


def test_the_deterioration_alert_measures_from_the_same_baseline(app, db, people):
    therapist, client = people
    first = TODAY - dt.timedelta(days=21)
    with app.app_context():
        plan = start(db, client, therapist, first)
        give(db, client, plan, 3, first - dt.timedelta(days=3), slot="ad_hoc")  # an intake try
        give(db, client, plan, 13, first - dt.timedelta(days=1), slot="baseline", week=1)
        _, raised = give(db, client, plan, 16, first + dt.timedelta(days=14), week=3)
    # from the plan's baseline (13) a rise of 3 is not reliable; from the first score (3) it
    # would have been
    assert [a.kind for a in raised] == []
    with app.app_context():
        _, raised = give(db, client, plan, 19, first + dt.timedelta(days=15), slot="ad_hoc")
    assert [a.kind for a in raised] == ["deterioration"]
    assert "13 → 19 since baseline" in raised[0].detail


# --- episodes ---------------------------------------------------------------------------------


def test_a_client_referred_again_starts_a_new_episode(app, db, people, signed_in):
    therapist, client = people
    with app.app_context():
        old = start(db, client, therapist, TODAY - dt.timedelta(days=200))
        give(db, client, old, 22, TODAY - dt.timedelta(days=201), slot="baseline", week=1)
        give(db, client, old, 9, TODAY - dt.timedelta(days=120), slot="end", week=12)
        plans.finish_plan(db, old, old.version)
        new = start(db, client, therapist, TODAY - dt.timedelta(days=14))
        new.created_at = dt.datetime.combine(TODAY - dt.timedelta(days=20), dt.time(9), dt.UTC)
        give(db, client, new, 14, TODAY - dt.timedelta(days=15), slot="baseline", week=1)
        give(db, client, new, 12, TODAY - dt.timedelta(days=1), week=3)
        db.commit()
        report = reports.gather_progress_report(db, client, TODAY)
        then = reports.gather_progress_report(db, client, TODAY, end=TODAY - dt.timedelta(days=100))
    assert any("went from 14 (baseline) to 12" in line for line in report.summary)
    assert all("22" not in row[2] for m in report.measures for row in m.rows)
    assert any("went from 22 (baseline) to 9" in line for line in then.summary)
    page = signed_in(therapist).get(f"/therapist/clients/{client.id}")
    rows = BeautifulSoup(page.data, "html.parser").find(id="measure-phq9")
    text = rows.get_text(" ")
    assert "First 14, latest 12" in text and "22" not in text


# --- as of the session ------------------------------------------------------------------------


def test_a_note_and_a_summary_show_only_what_existed_on_their_date(app, db, people, signed_in):
    therapist, client = people
    first = TODAY - dt.timedelta(days=28)
    session = TODAY - dt.timedelta(days=7)
    with app.app_context():
        plan = start(db, client, therapist, first)
        give(db, client, plan, 16, first, slot="baseline", week=1)
        give(db, client, plan, 10, session - dt.timedelta(days=1), week=3)
        give(db, client, plan, 4, TODAY, slot="ad_hoc")  # after the session
        check_in, _ = questionnaires.record_check_in(
            db, client, plan, 5, client, trust=8, distress=1, helpfulness=None, note=None
        )  # today: after the session
        ladder = next(a for a in plan.assignments if a.week == 2)
        sub = plans.submit(db, ladder, client, _answers(db, ladder), 0)  # sent today
        db.commit()
        data, homework = notes.record_summary(db, client, session)
        summary = reports.gather_session_summary(db, client, session, None)
    assert "PHQ-9 10 (moderate); baseline 16, change -6" in data
    assert "PHQ-9 4" not in data and "trust 8/10" not in data
    assert f"{plans.THERAPIST_STATE_WORDS['overdue']}" in homework  # not yet sent that day
    line = next(x for x in summary.scores if x.instrument == "PHQ-9")
    assert (line.latest, line.on) == ("10", session - dt.timedelta(days=1))
    assert all(not item.quotes for item in summary.homework)
    # a signed note keeps its words when later data arrive
    with app.app_context():
        note = notes.start_note(db, client, therapist, session)
        notes.sign(db, note, therapist)
        db.commit()
        before = note.data
        give(db, client, plan, 2, TODAY, slot="ad_hoc")
        db.commit()
        db.refresh(note)
    assert note.data == before
    assert sub.id and check_in.id


def _answers(db, assignment):  # type: ignore[no-untyped-def]
    from .conftest import valid_answers

    return valid_answers(plans.worksheet(db, assignment.worksheet_key))


# --- conventions ------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["phq9", "gad7"])
def test_the_appendix_threshold_is_the_smallest_change_classified_reliable(app, code):
    with app.app_context():
        inst = measures.instrument(code)
        n = inst.smallest_reliable_change()
        notes_ = {n_.instrument: n_.text for n_ in reports.progress_report.statistics_notes()}
    assert n == {"phq9": 5, "gad7": 4}[code]
    assert inst.reliable_change(10, 10 + n).category != measures.NO_CHANGE
    assert inst.reliable_change(10, 10 + n - 1).category == measures.NO_CHANGE
    assert f"a change of {n} points or more" in notes_[inst.short_name]
    assert "more than 4.00" not in notes_[inst.short_name]


def test_every_change_figure_names_its_convention(app, db, people, signed_in):
    therapist, client = people
    first = TODAY - dt.timedelta(days=28)
    with app.app_context():
        plan = start(db, client, therapist, first)
        for day, (p, g) in ((first, (18, 14)), (TODAY - dt.timedelta(days=1), (6, 5))):
            give(db, client, plan, p, day, slot="baseline" if day == first else "ad_hoc")
            row, _ = questionnaires.complete(
                db, client, "gad7", {str(i): min(3, max(0, g - 3 * (i - 1))) for i in range(1, 8)},
                client, plan=plan, slot="baseline" if day == first else "ad_hoc",
            )  # fmt: skip
            row.completed_at = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
        db.commit()
    t = signed_in(therapist)
    report = pdf_text(t.get(f"/therapist/clients/{client.id}/progress-report.pdf").data)
    summary = pdf_text(
        t.get(f"/therapist/clients/{client.id}/session-summary.pdf?date={TODAY}").data
    )
    # every reliable-change figure carries its convention's name right before it
    for text in (report, summary):
        figures = [m.start() for m in re.finditer(r"\(RCI [-+−]?\d", text)]
        assert figures
        for at in figures:
            assert "Jacobson–Truax:" in text[max(0, at - 45) : at], text[at - 60 : at + 10]
    assert "Jacobson–Truax: reliable improvement" in report
    assert "NHS Talking Therapies (PHQ-9 and GAD-7 together): a case at the start; " in report
    assert "Recovered" not in report  # the Jacobson–Truax category is "recovered", labelled
    assert "Reliable change (Jacobson–Truax)" in summary
    page = BeautifulSoup(t.get(f"/therapist/clients/{client.id}").data, "html.parser")
    words = page.find(id="measure-phq9").get_text(" ")
    assert "Jacobson–Truax: reliable improvement" in words
    caseload = BeautifulSoup(t.get("/therapist/").data, "html.parser").get_text(" ")
    caseload = re.sub(r"\s+", " ", caseload)
    # the caseload's one-line chips: the convention shown short, its full name read out
    assert "PHQ-9 −12 · reliable improvement JT (Jacobson–Truax reliable change index)" in caseload
    assert "NHS TT · reliable recovery (NHS Talking Therapies: PHQ-9 and GAD-7" in caseload
    own = pdf_text(signed_in(client).get("/me/progress-report.pdf").data)
    for word in ("RCI", "ecovered", "Jacobson"):
        assert word not in own, own[own.index(word) - 150 : own.index(word) + 100]


def test_scores_given_while_a_plan_is_open_belong_to_it(app, db, people):
    therapist, client = people
    with app.app_context():
        plan = start(db, client, therapist, TODAY - dt.timedelta(days=7))
        row, _ = questionnaires.complete(db, client, "phq9", phq9(9), therapist)
        db.commit()
        assert db.get(Administration, row.id).plan_id == plan.id
        assert alerts.client_alerts(db, client) == []
        assert db.scalar(sa.select(sa.func.count()).select_from(Administration)) == 1


def test_the_appendix_cites_sources_without_internal_notes(app):
    with app.app_context():
        text = " ".join(n.text for n in reports.progress_report.statistics_notes())
        own = " ".join(n.text for n in reports.progress_report.statistics_notes(for_client=True))
    for internal in ("could not", "design/", "measures.md", "PMC", "not readable", "here"):
        assert internal not in text, internal
    for citation in ("Kroenke K, Spitzer RL, Williams JBW (2001)", "Lancet 388(10047):871–880"):
        assert citation in text
    assert "RCI" not in own and "S_diff" not in own and "recovered" not in own


def test_the_questionnaire_csv_marks_each_episodes_baseline_and_names_its_convention(
    app, db, people, signed_in
):
    import csv
    import io

    therapist, client = people
    first = TODAY - dt.timedelta(days=21)
    with app.app_context():
        plan = start(db, client, therapist, first)
        give(db, client, plan, 4, first - dt.timedelta(days=3), slot="ad_hoc")
        give(db, client, plan, 18, first - dt.timedelta(days=2), slot="baseline", week=1)
        give(db, client, plan, 11, TODAY - dt.timedelta(days=1), week=3)
        db.commit()
    response = signed_in(therapist).get(f"/therapist/clients/{client.id}/questionnaires.csv")
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    picked = [(r["total"], r["episode_role"], r["change_from_baseline"]) for r in rows]
    assert picked == [("4", "", "-14"), ("18", "baseline", "0"), ("11", "latest", "-7")]
    assert rows[2]["reliable_change_jacobson_truax"] == "reliable_improvement"
    assert {r["episode"] for r in rows} == {str(plan.id)}


# --- the whole record travels -------------------------------------------------------------------


def test_the_report_and_zip_carry_check_ins_risk_history_and_attendance(app, db, people, signed_in):
    import csv
    import io
    import zipfile

    therapist, client = people
    first = TODAY - dt.timedelta(days=28)
    with app.app_context():
        plan = start(db, client, therapist, first)
        row, raised = questionnaires.complete(
            db, client, "phq9", {**phq9(12), "9": 2}, client, plan=plan, week=1, slot="baseline"
        )
        row.completed_at = dt.datetime.combine(first, dt.time(12), dt.UTC)
        item9 = next(a for a in raised if a.kind == "item9")
        item9.opened_at = row.completed_at
        alerts.acknowledge(
            db, item9, therapist,
            alerts.Acknowledgement("Called; safe, plan agreed.", "assessed", "assigned", "phone",
                                   first + dt.timedelta(days=1), "Review at next session"),
        )  # fmt: skip
        item9.acknowledged_at = row.completed_at + dt.timedelta(days=1)
        for week, trust, distress in ((1, 3, 7), (2, 4, 9), (3, 6, 4)):
            check, _ = questionnaires.record_check_in(
                db, client, plan, week, client, trust=trust, distress=distress,
                helpfulness=2, note=None,
            )  # fmt: skip
            check.created_at = dt.datetime.combine(
                first + dt.timedelta(days=7 * (week - 1) + 1), dt.time(9), dt.UTC
            )
        for week, attendance in ((1, "attended"), (2, "did_not_attend"), (3, "attended")):
            note = notes.start_note(
                db, client, therapist, first + dt.timedelta(days=7 * (week - 1))
            )
            note.attendance = attendance
            notes.sign(db, note, therapist)
        db.commit()
        before = reports.gather_progress_report(db, client, TODAY, end=first)
    t = signed_in(therapist)
    text = pdf_text(t.get(f"/therapist/clients/{client.id}/progress-report.pdf").data)
    for expected in (
        "Weekly check-in",
        "Trust thermometer (0–10)",
        "Distress (0–10)",
        "Sessions held, as recorded in signed session notes: 2 attended, 1 did not attend.",
        "Risk history",
        f"{first:%d %b %Y} 2: More than half the days",
        "Risk assessed; Safety plan assigned; Phoned",
        "Next step: Review at next session",
    ):
        assert expected in text, expected
    # as of the day it was raised, the alert was still open
    assert [line.status for line in before.risk] == ["Open"]
    archive = zipfile.ZipFile(io.BytesIO(t.get(f"/therapist/clients/{client.id}/record.zip").data))
    risk = list(csv.DictReader(io.StringIO(archive.read("risk-history.csv").decode("utf-8-sig"))))
    first_row = risk[0]
    assert (first_row["risk_review"], first_row["contact"]) == (
        "Risk assessed",
        "Phoned",
    )
    assert "check-ins.csv" in archive.namelist()
    own = pdf_text(signed_in(client).get("/me/progress-report.pdf").data)
    assert "Trust thermometer (0–10)" in own and "Risk history" not in own


def test_finishing_a_plan_records_a_discharge_that_the_report_prints(app, db, people, signed_in):
    therapist, client = people
    with app.app_context():
        plan = start(db, client, therapist, TODAY - dt.timedelta(days=80))
        db.commit()
        plan_id, version = plan.id, plan.version
    t = signed_in(therapist)
    form = t.get(f"/therapist/clients/{client.id}/plan/finish")
    assert "Risk at discharge" in BeautifulSoup(form.data, "html.parser").get_text()
    typed = "Keep the maintenance plan; review with their doctor in 3 months. " * 3
    refused = t.post(
        f"/therapist/clients/{client.id}/plan/finish",
        data={"version": str(version), "reason": "completed", "recommendations": typed},
    )
    assert refused.status_code == 422
    page = BeautifulSoup(refused.data, "html.parser")
    assert "Describe the risk at discharge" in page.find(id="risk-error").get_text()
    assert page.find(id="recommendations").get_text().strip() == typed.strip()
    done = t.post(
        f"/therapist/clients/{client.id}/plan/finish",
        data={
            "version": str(version),
            "reason": "completed",
            "risk": "No self-harm thoughts since week 3; feels safe at home.",
            "recommendations": typed,
        },
    )
    assert done.status_code == 302
    stored = db.execute(
        sa.text("SELECT discharge_risk, status FROM plan WHERE id = :id"), {"id": plan_id}
    ).one()
    assert "self-harm" not in str(stored[0]) and stored[1] == "finished"
    report = pdf_text(t.get(f"/therapist/clients/{client.id}/progress-report.pdf").data)
    assert "Discharge" in report and "Reason: Completed the plan" in report
    assert "Risk at discharge: No self-harm thoughts since week 3" in report
    own = pdf_text(signed_in(client).get("/me/progress-report.pdf").data)
    assert "Recommendations: Keep the maintenance plan" in own
    assert "Risk at discharge" not in own
