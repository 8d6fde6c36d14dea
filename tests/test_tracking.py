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
