"""On track or not (clinic.tracking): the published expected path worked by hand, the practice's
own path from a synthetic cohort, the "not on track" signal raised by completing a PHQ-9, and
its checklist offered to the next note as of the session date.

The published PHQ-9 path from a baseline of 18 (6 points by week 6, straight from week 1):
week 2 16.8, week 3 15.6, week 4 14.4, week 5 13.2, week 6 and after 12.
The GAD-7 path from 15 (4 points): week 3 13.4, week 6 11."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from clinic import episodes, notes, questionnaires, tracking
from clinic.models import Plan, ProgressSignal, Role

DAY0 = dt.date(2026, 3, 2)


def course(code: str, *scores: tuple[int | None, int]) -> episodes.Course:
    """A course from (week, value) pairs, a week apart, the first in the baseline slot."""
    made = [
        episodes.Score(
            dt.datetime.combine(DAY0 + dt.timedelta(days=7 * i), dt.time(12), tzinfo=dt.UTC),
            DAY0 + dt.timedelta(days=7 * i),
            value,
            week,
            "baseline" if i == 0 and week == 1 else "fortnightly",
            i + 1,
        )
        for i, (week, value) in enumerate(scores)
    ]
    found = episodes.course(code, made)
    assert found is not None
    return found


def judged(code: str, *scores: tuple[int | None, int]) -> tracking.Verdict:
    return tracking.judge(
        course(code, *scores), lambda s: s.week or 3, tracking.published_line(code)
    )


def test_the_published_path_falls_by_the_reliable_change_amount_by_week_6():
    phq = tracking.published_line("phq9")
    assert [round(phq.expected(18, w), 1) for w in range(1, 9)] == [
        18, 16.8, 15.6, 14.4, 13.2, 12, 12, 12,
    ]  # fmt: skip
    gad = tracking.published_line("gad7")
    assert round(gad.expected(15, 3), 1) == 13.4 and gad.expected(15, 6) == 11
    # Never below the bottom of the scale.
    assert phq.expected(4, 6) == 0


@pytest.mark.parametrize(
    ("scores", "state", "words"),
    [
        # On the line counts as on track; one point above it does not.
        (((1, 18), (6, 12)), tracking.ON_TRACK, "PHQ-9 12 in week 6, at or below the expected 12"),
        (((1, 18), (6, 13)), tracking.NOT_ON_TRACK, "PHQ-9 13 in week 6, above the expected 12"),
        (((1, 18), (4, 14)), tracking.ON_TRACK, "at or below the expected 14.4"),
        (((1, 18), (4, 15)), tracking.NOT_ON_TRACK, "above the expected 14.4"),
        # Week 2 is too early; the same score in week 3 is above 15.6.
        (((1, 18), (2, 18)), tracking.TOO_EARLY, "too early to judge (from week 3)"),
        (((1, 18), (3, 18)), tracking.NOT_ON_TRACK, "above the expected 15.6"),
        # A rise of 6 is a reliable deterioration, even in week 2; 5 in week 2 is too early.
        (((1, 12), (2, 18)), tracking.NOT_ON_TRACK, "up 6 from the baseline 12"),
        (((1, 12), (2, 17)), tracking.TOO_EARLY, "too early"),
        # Only one score: nothing to compare.
        (((1, 18),), tracking.SINGLE, "one score so far (18)"),
        # No baseline in week 1: the path starts at the first score (week 3) with the same
        # slope: by week 6 it has fallen 6 - 2.4 = 3.6, to 14.4.
        (((3, 18), (6, 15)), tracking.NOT_ON_TRACK, "above the expected 14.4"),
        (((3, 18), (6, 14)), tracking.ON_TRACK, "at or below the expected 14.4"),
        # Started below caseness (PHQ-9 < 10): no fall expected, only deterioration counts.
        (((1, 8), (6, 9)), tracking.ON_TRACK, "below caseness (10)"),
    ],
)
def test_the_rule_worked_by_hand(scores, state, words):
    v = judged("phq9", *scores)
    assert v.state == state
    assert words in v.detail


def test_gad7_uses_its_own_amount():
    assert judged("gad7", (1, 15), (3, 14)).state == tracking.NOT_ON_TRACK  # 14 > 13.4
    assert judged("gad7", (1, 15), (3, 13)).state == tracking.ON_TRACK
    assert judged("gad7", (1, 9), (2, 13)).deteriorated  # +4


# --- the practice's own path ----------------------------------------------------------------


@pytest.fixture
def people(make_user):  # type: ignore[no-untyped-def]
    therapist = make_user(Role.THERAPIST)
    return therapist, make_user(Role.CLIENT, therapist=therapist)


PHQ_ANSWERS = {str(i): 0 for i in range(1, 10)}


def phq9(total: int) -> dict[str, int]:
    """PHQ-9 answers adding up to `total` (item 9 kept at 0)."""
    answers = dict(PHQ_ANSWERS)
    for key in map(str, range(1, 9)):
        answers[key] = min(3, total)
        total -= answers[key]
    assert total == 0
    return answers


def finished_cohort(app, db, make_user, make_plan, therapist, n: int) -> None:  # type: ignore[no-untyped-def]
    """n finished episodes, each PHQ-9 18 in week 1, then 16, 15 or 14 in week 3 (a third
    each, median fall 3) and 13 in week 6 (fall 5)."""
    for i in range(n):
        client = make_user(Role.CLIENT, therapist=therapist)
        plan = make_plan(client, therapist, week=12)
        with app.app_context():
            for week, total in ((1, 18), (3, (16, 15, 14)[i % 3]), (6, 13)):
                row, _ = questionnaires.complete(
                    db, client, "phq9", phq9(total), client, plan=plan, week=week,
                    slot="baseline" if week == 1 else "fortnightly",
                )  # fmt: skip
                row.completed_at = dt.datetime.combine(
                    plan.first_session + dt.timedelta(days=7 * (week - 1)),
                    dt.time(12),
                    tzinfo=dt.UTC,
                )
            plan.status = "finished"
            plan.finished_at = row.completed_at
        db.commit()


def test_below_the_minimum_the_published_rule_applies(app, db, people, make_user, make_plan):
    therapist, _ = people
    finished_cohort(app, db, make_user, make_plan, therapist, 39)
    line = tracking.line_for(db, therapist.practice_id, "phq9")
    assert line.kind == "published" and line.expected(18, 6) == 12


def test_from_40_episodes_the_practice_path_is_the_median_fall_by_week(
    app, db, people, make_user, make_plan
):
    therapist, _ = people
    finished_cohort(app, db, make_user, make_plan, therapist, 40)
    line = tracking.line_for(db, therapist.practice_id, "phq9")
    assert line.kind == "practice" and line.episodes == 40
    # Week 3: median fall 3; week 6: 5; week 2 halfway between week 1 (0) and week 3; weeks
    # 4-5 straight from 3 to 5; held at 5 after week 6 (no later scores).
    assert [round(line.drop(w), 2) for w in range(1, 9)] == [0, 1.5, 3, 3.67, 4.33, 5, 5, 5]
    assert line.expected(18, 6) == 13
    # So a PHQ-9 of 13 in week 6 is on track by the practice's path (above the published 12).
    v = tracking.judge(course("phq9", (1, 18), (6, 13)), lambda s: s.week or 1, line)
    assert v.state == tracking.ON_TRACK
    assert "40 completed episodes" in tracking.appendix([line])
    # As of a day before those episodes finished (about six weeks ago), the practice had no
    # path of its own: a report of that day is judged by the published rule.
    earlier = dt.datetime.now(dt.UTC) - dt.timedelta(days=60)
    assert tracking.line_for(db, therapist.practice_id, "phq9", before=earlier).kind == "published"


# --- the signal --------------------------------------------------------------------------------


@pytest.fixture
def answer(app, db, monkeypatch):  # type: ignore[no-untyped-def]
    """answer(client, plan, week, total, on): the client completes a PHQ-9 on that day."""

    def do(client, plan: Plan, week: int, total: int, on: dt.date):  # type: ignore[no-untyped-def]
        moment = dt.datetime.combine(on, dt.time(12), tzinfo=dt.UTC)
        monkeypatch.setattr(questionnaires, "utcnow", lambda: moment)
        with app.app_context():
            _, raised = questionnaires.complete(
                db, client, "phq9", phq9(total), client, plan=plan, week=week,
                slot="baseline" if week == 1 else "fortnightly",
            )  # fmt: skip
            db.commit()
        return raised

    return do


def test_completing_a_phq9_raises_refreshes_and_resolves_the_signal(db, people, make_plan, answer):
    therapist, client = people
    plan = make_plan(client, therapist, week=7)
    start = plan.first_session
    assert answer(client, plan, 1, 18, start) == []
    assert db.scalar(sa.select(ProgressSignal)) is None
    raised = answer(client, plan, 3, 17, start + dt.timedelta(days=14))
    # Not a risk alert: nothing in the alerts the completion returns.
    assert raised == []
    (signal,) = db.scalars(sa.select(ProgressSignal)).all()
    assert (signal.state, signal.instrument_code, signal.raised_on) == (
        "open", "phq9", start + dt.timedelta(days=14),
    )  # fmt: skip
    assert "PHQ-9 17 in week 3, above the expected 15.6" in signal.detail
    answer(client, plan, 5, 16, start + dt.timedelta(days=28))
    db.refresh(signal)
    assert signal.state == "open" and "expected 13.2" in signal.detail
    assert tracking.not_on_track_by_client(db, [client.id]) == {client.id: ["phq9"]}
    answer(client, plan, 6, 12, start + dt.timedelta(days=35))
    db.refresh(signal)
    assert signal.state == "resolved" and signal.resolved_on == start + dt.timedelta(days=35)
    assert tracking.not_on_track_by_client(db, [client.id]) == {}


def test_the_checklist_is_kept_encrypted_and_offered_to_the_next_note_as_of_its_date(
    app, db, people, make_plan, answer
):
    therapist, client = people
    plan = make_plan(client, therapist, week=5)
    plan.created_at -= dt.timedelta(days=35)  # set up before its first session
    start = plan.first_session
    answer(client, plan, 1, 18, start)
    answer(client, plan, 3, 18, start + dt.timedelta(days=14))
    (signal,) = db.scalars(sa.select(ProgressSignal)).all()
    with app.app_context():
        with pytest.raises(tracking.TrackingError, match="Working relationship"):
            tracking.review(db, signal, {}, therapist)
        answers = {a.key: {"answer": a.choices[0][0], "note": ""} for a in tracking.checklist()}
        answers["support"] = {"answer": "event", "note": "Sister moved abroad"}
        answers["next_step"] = "Talk through the move next session"
        tracking.review(db, signal, answers, therapist)
        reviewed = signal.reviewed_at.date()
        db.commit()
        stored = db.execute(sa.text("SELECT checklist FROM progress_signal")).scalar_one()
        assert "Sister" not in stored  # encrypted at rest
        before, _ = notes.record_summary(db, client, start + dt.timedelta(days=7))
        then, _ = notes.record_summary(db, client, start + dt.timedelta(days=14))
        after, _ = notes.record_summary(db, client, max(reviewed, start + dt.timedelta(days=21)))
    assert "Not on track" not in before  # raised after that session
    assert "Not on track on PHQ-9 since" in then
    if reviewed > start + dt.timedelta(days=14):
        assert "Sister moved abroad" not in then  # reviewed after that session
    assert "Social support and life events: A life event or stress is weighing on them" in after
    assert "(Sister moved abroad)" in after and "Next step: Talk through the move" in after


# --- the pages: record card, chart band, checklist, dashboard, report --------------------------

from bs4 import BeautifulSoup  # noqa: E402

from clinic import charts  # noqa: E402
from clinic.models import Alert, AuditEvent  # noqa: E402

from .test_auth import page_text  # noqa: E402
from .test_reports import pdf_text  # noqa: E402


@pytest.fixture
def off_track(db, people, make_plan, answer):  # type: ignore[no-untyped-def]
    """A client in week 4 whose PHQ-9 went 18 (week 1) to 17 (week 3): not on track."""
    therapist, client = people
    plan = make_plan(client, therapist, week=4)
    plan.created_at -= dt.timedelta(days=28)
    db.commit()
    answer(client, plan, 1, 18, plan.first_session)
    answer(client, plan, 3, 17, plan.first_session + dt.timedelta(days=14))
    return therapist, client, plan, db.scalars(sa.select(ProgressSignal)).one()


def test_the_record_shows_not_on_track_apart_from_alerts_with_the_band_on_the_chart(
    db, off_track, signed_in
):
    therapist, client, _, signal = off_track
    page = signed_in(therapist).get(f"/therapist/clients/{client.id}")
    soup = BeautifulSoup(page.data, "html.parser")
    card = soup.select_one("#on-track")
    assert card is not None
    words = " ".join(card.get_text().split())
    assert "Not on track · PHQ-9" in words and "above the expected 15.6" in words
    assert "Not a risk alert" in words and "alert-badge" not in str(card)
    assert card.select_one(f"a[href$='/not-on-track/{signal.id}']") is not None
    # The summary band at the top says it too, apart from the open alerts, as not a risk alert.
    band = " ".join(soup.select_one(".summary-band .band-facts").get_text().split())
    assert "On track or not Not on track · PHQ-9 checklist to do Not a risk alert." in band
    assert soup.select_one(".summary-band .band-alerts") is None
    # Never in the alerts list, and no alert row was made.
    alerts = " ".join(soup.find("h2", string="Alerts").parent.get_text().split())
    assert "No alerts." in alerts and "track" not in alerts
    assert db.scalar(sa.select(sa.func.count()).select_from(Alert)) == 0
    # The PHQ-9 chart carries the band and says it in words for screen readers.
    svg = soup.select_one("#measure-phq9 svg")
    assert svg.select_one("polygon.expected-band") is not None
    assert svg.select_one("polyline.expected") is not None
    desc = svg.find("desc").get_text()
    assert "Expected path (published rule: reliable improvement by the mid-point)" in desc
    assert "from the baseline 18 down to 12 by week 6" in desc and "not on track" in desc
    # The GAD-7 chart (not answered) and the client's own page carry no band.
    own = BeautifulSoup(signed_in(client).get("/me/progress").data, "html.parser")
    assert own.select_one("polygon.expected-band") is None
    assert "Not on track" not in own.get_text()


def test_the_checklist_keeps_typing_on_error_and_saves_audited(db, off_track, signed_in):
    therapist, client, _, signal = off_track
    browser = signed_in(therapist)
    url = f"/therapist/clients/{client.id}/not-on-track/{signal.id}"
    page = page_text(browser.get(url))
    assert "Clinical-support checklist" in page and "Working relationship" in page
    assert "Diagnosis and fit of the plan" in page and "Lambert" in page
    typed = {"alliance": "strain", "alliance_note": "Felt rushed last time", "next_step": "Ask"}
    refused = browser.post(url, data=typed)
    assert refused.status_code == 422
    soup = BeautifulSoup(refused.data, "html.parser")
    error = soup.select_one("#motivation-error")
    assert error is not None and "Choose an answer for “Motivation and homework”" in error.text
    assert "Felt rushed last time" in refused.get_data(as_text=True)
    assert soup.select_one("input[name=alliance][value=strain]").has_attr("checked")
    full = typed | {"motivation": "homework", "support": "event", "risk": "no_change"}
    full |= {"fit": "adapt", "support_note": "Moved house"}
    saved = browser.post(url, data=full)
    assert saved.status_code == 302 and saved.headers["Location"].endswith("#on-track")
    db.expire_all()
    signal = db.get(ProgressSignal, signal.id)
    assert signal.state == "reviewed" and signal.reviewed_by_id == therapist.id
    assert signal.checklist["support"] == {"answer": "event", "note": "Moved house"}
    actions = db.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.object_type == "progress_signal")
    ).all()
    assert set(actions) >= {"view", "change"}
    again = page_text(browser.get(url))
    assert "Checklist reviewed" in again
    # The therapist's record ZIP carries it (with the checklist); the client's own copy not.
    import io
    import zipfile

    archive = zipfile.ZipFile(
        io.BytesIO(browser.get(f"/therapist/clients/{client.id}/record.zip").data)
    )
    exported = archive.read("not-on-track.csv").decode("utf-8-sig")
    assert "PHQ-9" in exported and "Moved house" in exported
    assert "A life event or stress is weighing on them" in exported
    assert "not-on-track.csv" in archive.read("README.txt").decode()
    own = zipfile.ZipFile(io.BytesIO(signed_in(client).get("/me/my-record.zip").data))
    assert "not-on-track.csv" not in own.namelist()


def test_the_dashboard_flags_not_on_track_without_calling_it_an_alert(off_track, signed_in):
    therapist, client, _, _ = off_track
    soup = BeautifulSoup(signed_in(therapist).get("/therapist/").data, "html.parser")
    row = next(
        tr for tr in soup.select("table.dashboard tbody tr") if client.display_name in tr.text
    )
    text = " ".join(row.get_text().split())
    assert "Not on track (PHQ-9)" in text and "Alert" not in text
    assert soup.select_one("#open-alerts") is None
    # shown in the tracking signal's amber badge, never the alert's red one or row tint
    flag = row.find(string=lambda s: s and "Not on track (PHQ-9)" in s).parent
    assert flag["class"] == ["badge", "not-on-track"]
    assert not row.select(".alert-badge") and "has-alert" not in (row.get("class") or [])


def test_the_report_draws_the_band_and_prints_the_rule_and_its_sources(off_track, signed_in):
    therapist, client, _, _ = off_track
    report = pdf_text(
        signed_in(therapist).get(f"/therapist/clients/{client.id}/progress-report.pdf").data
    )
    assert "Not on track: PHQ-9 17 in week 3, above the expected 15.6" in report
    assert "On track or not (PHQ-9 and GAD-7): the expected path" in report
    for source in ("Talking Therapies", "Lambert", "Whipple", "Delgadillo", "564-572"):
        assert source in report
    assert "at least 40 completed episodes" in report
    own = pdf_text(signed_in(client).get("/me/progress-report.pdf").data)
    assert "expected path" not in own.lower()


def test_the_band_is_drawn_in_the_svg_and_the_pdf_from_one_description():
    day = dt.date(2026, 3, 2)
    chart = charts.Chart(
        title="PHQ-9",
        y_label="Total",
        y_min=0,
        y_max=27,
        points=(charts.ChartPoint(day, 18), charts.ChartPoint(day + dt.timedelta(14), 17)),
        expected=(charts.ChartPoint(day, 18), charts.ChartPoint(day + dt.timedelta(14), 15.6)),
        expected_words="Expected path: from 18 to 12 by week 6.",
    )
    svg = charts.svg(chart, "c")
    assert 'class="expected-band"' in svg and "Expected path: from 18 to 12" in svg
    assert "expected path" in svg  # in the key
    from reportlab.graphics.shapes import Polygon

    drawing = charts.drawing(chart)
    assert any(isinstance(shape, Polygon) for shape in drawing.contents)
    plain = charts.drawing(charts.Chart("PHQ-9", "Total", 0, 27, chart.points))
    assert not any(isinstance(shape, Polygon) for shape in plain.contents)


def test_the_demo_has_a_client_visibly_not_on_track_with_the_checklist_and_goals(
    app, db, signed_in
):
    from clinic import accounts
    from clinic.demo import build_demo
    from clinic.models import Goal, Practice, User

    with app.app_context():
        build_demo(db, "the demo harbour 2026")
        db.commit()
    standing = db.execute(
        sa.select(User.display_name, ProgressSignal.instrument_code, ProgressSignal.state)
        .join(User, User.id == ProgressSignal.client_id)
        .where(ProgressSignal.state != "resolved")
    ).all()
    # Only the client who is behind is off track; the others improve along the path.
    assert sorted(standing) == [
        ("Alex Moreno", "gad7", "open"),
        ("Alex Moreno", "phq9", "reviewed"),
    ]
    alex = db.scalar(sa.select(User).where(User.display_name == "Alex Moreno"))
    with app.app_context():
        therapist = accounts.therapist_of(db, alex)
    browser = signed_in(therapist, "the demo harbour 2026")
    soup = BeautifulSoup(browser.get(f"/therapist/clients/{alex.id}").data, "html.parser")
    card = " ".join(soup.select_one("#on-track").get_text().split())
    assert "Not on track · PHQ-9" in card and "Checklist reviewed" in card
    assert soup.select_one("#measure-phq9 polygon.expected-band") is not None
    signal = db.scalar(sa.select(ProgressSignal).where(ProgressSignal.state == "reviewed"))
    assert signal.raised_on < signal.reviewed_at.date() <= dt.date.today()
    page = page_text(browser.get(f"/therapist/clients/{alex.id}/not-on-track/{signal.id}"))
    assert "Partner working away on weekdays" in page
    # Goals in four demo records, rated over the weeks.
    with_goals = db.scalars(
        sa.select(User.display_name).join(Goal, Goal.client_id == User.id).distinct()
    ).all()
    assert sorted(with_goals) == ["Alex Moreno", "Priya", "Rosa", "Tomasz W."]
    assert all(len(g.ratings) >= 3 for g in db.scalars(sa.select(Goal)))
    assert db.scalar(sa.select(Practice.is_demo))
