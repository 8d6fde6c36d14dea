"""The demo's documents agree with each other: for every demo client with scores, the record
page, the session summary and the progress report of the same day give the same baseline,
latest score and change for every measure, and the same reliable-change verdict."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from bs4 import BeautifulSoup

from clinic import accounts, measures
from clinic.demo import build_demo
from clinic.models import Practice, Role, User

from .test_reports import pdf_text

PASSWORD = "the demo harbour 2026"


def _record_numbers(page: str, short: str) -> tuple[int, int, int, bool] | None:
    """(baseline, latest, change, only one score) from a chart's caption on the record page."""
    soup = BeautifulSoup(page, "html.parser")
    code = {"PHQ-9": "phq9", "GAD-7": "gad7", "WSAS": "wsas", "CSI-4": "csi4"}[short]
    figure = soup.find(id=f"measure-{code}")
    if figure is None:
        return None
    words = " ".join(figure.find("figcaption").get_text(" ").split())
    single = re.search(r"Baseline (\d+) \(.*?\)\. One score so far", words)
    if single:
        value = int(single.group(1))
        return value, value, 0, True
    latest, change = re.search(
        r"Latest (\d+) \(.*?\); change since baseline ([-+]\d+)", words
    ).groups()
    return int(latest) - int(change), int(latest), int(change), False


def test_record_page_session_summary_and_progress_report_agree(app, db, client):
    with app.app_context():
        build_demo(db, PASSWORD)
        db.commit()
    today = dt.date.today()
    demo = db.scalars(
        sa.select(User).join(Practice).where(Practice.is_demo, User.role == Role.CLIENT.value)
    ).all()
    checked = 0
    for person in demo:
        with app.app_context():
            therapist = accounts.therapist_of(db, person)
        t = app.test_client()
        t.post("/sign-in", data={"email": therapist.email, "password": PASSWORD})
        page = t.get(f"/therapist/clients/{person.id}").get_data(as_text=True)
        summary = pdf_text(
            t.get(f"/therapist/clients/{person.id}/session-summary.pdf?date={today}").data
        )
        report = pdf_text(t.get(f"/therapist/clients/{person.id}/progress-report.pdf").data)
        with app.app_context():
            names = [i.short_name for i in measures.instruments().values()]
        for short in names:
            numbers = _record_numbers(page, short)
            if numbers is None:
                continue
            baseline, latest, change, single = numbers
            signed = f"{change:+d}"
            checked += 1
            # the session summary's row: "PHQ-9 9 (22 Nov) mild Baseline 16, change -7 …"
            if single:
                row = re.search(
                    rf"{re.escape(short)} {latest} \(.*?\) .*?(First score|Baseline)", summary
                )
                assert row, (person.display_name, short)
                assert f"{short}: one score so far, {latest} (" in report
            else:
                assert re.search(
                    rf"{re.escape(short)} {latest} \([^)]*\) .*?Baseline {baseline}, change {re.escape(signed)}",
                    summary,
                ), (person.display_name, short, summary)
                # the progress report's summary line and its table
                assert re.search(
                    rf"{re.escape(short)} \(.*?\) went from {baseline} \(baseline\) to {latest} ",
                    report,
                ), (person.display_name, short)
                verdict = re.search(
                    rf"{re.escape(short)} \(.*?\) went from {baseline} \(baseline\) to {latest} .*?"
                    r"(Jacobson–Truax: [a-z ]+ \(RCI [-+]?\d+\.\d\d\)|No reliable change index)",
                    report,
                )
                assert verdict and verdict.group(1) in summary.replace("\n", " "), (
                    person.display_name,
                    short,
                )
    assert checked >= 10  # every demo client with scores, every measure they answered
