"""On track or not: an expected path for PHQ-9 and GAD-7, the "not on track" signal it raises,
and the clinical-support checklist that signal opens. Not a risk alert (clinic.alerts): it
never enters the alerts list, alert emails or escalation, and is worded "Not on track".

The rule ("Reliable improvement by the mid-point"; parameters and the wording printed in the
progress report's appendix live in content/tracking.toml):

- the expected path starts at the episode's baseline (episodes.course) and falls in a straight
  line to the baseline minus the NHS Talking Therapies reliable-change amount (PHQ-9 6 points,
  GAD-7 4 points) by week 6, the plan's mid-point (episodes.MIDPOINT_WEEK), and stays there;
- from week 3 on, a client whose latest score is above the path is not on track; so is a
  client whose latest score is a reliable deterioration (a rise by the same amount), in any
  week after the baseline. On the path counts as on track;
- a client who starts below NHS Talking Therapies caseness (PHQ-9 < 10, GAD-7 < 8) has no fall
  to expect and is judged on reliable deterioration only;
- when the episode's first score came after week 1 (no baseline in week 1), the path starts at
  that score in its week, with the same slope, and only later weeks are judged;
- as of a day, only scores completed up to that day count (episodes.courses with `until`).

Sources:

- National Collaborating Centre for Mental Health (2023). *The NHS Talking Therapies for anxiety
  and depression Manual* (formerly the IAPT Manual, 2018): caseness PHQ-9 >= 10, GAD-7 >= 8;
  reliable change 6 points on PHQ-9 and 4 on GAD-7 (measures.PHQ9_RELIABLE, GAD7_RELIABLE).
- Lambert MJ, Harmon C, Slade K, Whipple JL, Hawkins EJ (2005). Providing feedback to
  psychotherapists on their patients' progress: clinical results and practice suggestions.
  *J Clin Psychol* 61(2), 165-174: comparing a client's course with an expected treatment
  response and telling the therapist when the client is not on track. (The title, volume and
  pages are as commonly cited; we could not check them against the journal's own page.)
- Whipple JL, Lambert MJ, Vermeersch DA, Smart DW, Nielsen SL, Hawkins EJ (2003). Improving the
  effects of psychotherapy: the use of early identification of treatment failure and
  problem-solving strategies in routine practice. *J Couns Psychol* 50(1), 59-68: feedback plus
  clinical support tools for not-on-track clients (title, volume and pages checked against the
  article's first page). The checklist's areas (working relationship, motivation, social
  support and life events, risk, diagnosis and fit) follow the areas those tools are
  described as covering in Lambert's later summaries (e.g. Lambert & Cattani, "Monitoring
  patient progress: collaboration in the context of routine practice"); we read that
  description, not the tools themselves, and the questions are Bedrock's own words.
- Delgadillo J, de Jong K, Lucock M, Lutz W, Rubel J, Gilbody S, et al. (2018).
  Feedback-informed treatment versus usual psychological treatment for depression and anxiety:
  a multisite, open-label, cluster randomised controlled trial. *Lancet Psychiatry* 5(7),
  564-572: not-on-track feedback on PHQ-9 and GAD-7 in NHS IAPT services (checked against the
  publisher's record).

This straight line is Bedrock's own simplification of an expected-response curve, not the
curve of any of these papers: those are fitted to large samples (Lambert's to the OQ-45,
Delgadillo's to PHQ-9/GAD-7 in IAPT) and are not reproduced here. Once a practice has enough
completed episodes the line is replaced by the practice's own (`practice_line`): the switch is
automatic, so nobody has to remember a setting, and every chart, card and report names which
line it used and on how many episodes."""

from __future__ import annotations

import datetime as dt
import statistics
import tomllib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import charts, episodes, measures, plans, text
from .db import utcnow
from .errors import DomainError
from .models import Administration, Plan, ProgressSignal, User
from .timeutil import local_time, zone_of

TRACKED = ("phq9", "gad7")
NOTE_MAX = 1000
NEXT_STEP_MAX = 2000
NAME = "Not on track"  # the signal's one name, everywhere


class TrackingError(DomainError):
    """A checklist could not be saved; the message says why (and the field, if one)."""


@cache
def content() -> dict[str, Any]:
    """The rule's parameters, words and sources, and the checklist (content/tracking.toml)."""
    raw = resources.files("clinic").joinpath("content/tracking.toml").read_text(encoding="utf-8")
    return tomllib.loads(raw)


def rule() -> dict[str, Any]:
    return dict(content()["rule"])


def sources() -> list[str]:
    """Every source the rule and the band use, as printed in the report's appendix."""
    return [s["cite"] for s in content()["sources"]]


@dataclass(frozen=True)
class Area:
    key: str
    title: str
    question: str
    choices: tuple[tuple[str, str], ...]


def checklist() -> tuple[Area, ...]:
    """The clinical-support checklist's areas, in order."""
    return tuple(
        Area(a["key"], a["title"], a["question"], tuple((k, w) for k, w in a["choices"]))
        for a in content()["checklist"]
    )


# --- the expected path -----------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """The expected fall from the baseline (points) in each plan week 1-12."""

    code: str
    drops: tuple[float, ...]  # index 0 is week 1
    kind: str = "published"  # or "practice"
    episodes: int = 0  # the practice's completed episodes it was calibrated on

    def drop(self, week: int) -> float:
        return self.drops[min(max(week, 1), plans.WEEKS) - 1]

    def expected(self, baseline: float, week: int, from_week: int = 1) -> float:
        """The highest score on the path in `week`, for a baseline given in `from_week`."""
        inst = measures.instrument(self.code)
        fall = self.drop(week) - self.drop(from_week)
        return max(float(inst.min_total), baseline - fall)

    @property
    def name(self) -> str:
        if self.kind == "practice":
            return f"the practice's own path ({self.episodes} completed episodes)"
        return f"published rule: {rule()['name'].lower()}"

    @property
    def words(self) -> str:
        """The method in full, as the report's appendix prints it."""
        if self.kind == "practice":
            return f"{content()['calibration']['words']} ({self.episodes} episodes so far.)"
        return str(rule()["words"])


def published_line(code: str) -> Line:
    """The published rule: the NHS Talking Therapies reliable-change amount by week 6, in a
    straight line from week 1, level after."""
    r = rule()
    start, target, drop = r["start_week"], r["target_week"], r["drop"][code]
    return Line(
        code,
        tuple(
            drop * min(1.0, max(0.0, (w - start) / (target - start)))
            for w in range(1, plans.WEEKS + 1)
        ),
    )


def practice_line(db: Session, practice_id: int, code: str) -> Line | None:
    """The practice's own path for one questionnaire (practice_lines)."""
    return practice_lines(db, practice_id, (code,))[code]


def practice_lines(
    db: Session,
    practice_id: int,
    codes: Iterable[str] = TRACKED,
    before: dt.datetime | None = None,
) -> dict[str, Line | None]:
    """The practice's own path for each questionnaire, from its completed (finished)
    episodes whose baseline was at or above caseness and that have a later score: in each
    week, the median fall from the baseline (a week with too few scores is drawn straight
    between its neighbours, and held after the last). None below the minimum number of
    episodes. One query for all of `codes` (the query reads the practice's finished
    episodes, so asking once instead of once per questionnaire halves its cost). `before`:
    as the practice stood then, only episodes finished and scores completed before it count,
    so that a report as of a past day is not judged against a path drawn from later care."""
    codes = tuple(codes)
    done = [Plan.status == "finished"]
    if before is not None:
        done.append(Plan.finished_at < before)
    finished = (
        sa.select(Plan.client_id)
        .join(User, User.id == Plan.client_id)
        .where(User.practice_id == practice_id, *done)
    )
    rows = db.execute(
        sa.select(
            Administration.instrument_code,
            Administration.plan_id,
            Administration.total,
            Administration.completed_at,
            Administration.week,
            Administration.slot,
            Administration.id,
        )
        .join(Plan, Plan.id == Administration.plan_id)
        .join(User, User.id == Plan.client_id)
        .where(
            User.practice_id == practice_id,
            *done,
            # The same rows (an administration's plan is its own client's: questionnaires.
            # request and .complete), found from the finished plans' clients by
            # ix_administration_client_code instead of by reading every administration.
            Administration.client_id.in_(finished),
            Administration.instrument_code.in_(codes),
            Administration.completed_at.is_not(None),
            *([Administration.completed_at < before] if before is not None else []),
        )
    )
    by_plan: dict[str, dict[int, list[episodes.Score]]] = {c: defaultdict(list) for c in codes}
    for code, plan_id, total, when, week, slot, row_id in rows:
        if plan_id is not None and when is not None and total is not None:
            score = episodes.Score(when, when.date(), total, week, slot, row_id)
            by_plan[code][plan_id].append(score)
    return {code: _practice_line(code, by_plan[code]) for code in codes}


def _practice_line(code: str, by_plan: Mapping[int, list[episodes.Score]]) -> Line | None:
    cal = content()["calibration"]
    caseness = rule()["caseness"][code]
    falls: dict[int, list[float]] = defaultdict(list)
    counted = 0
    for scores in by_plan.values():
        course = episodes.course(code, scores)
        if course is None or course.single or course.baseline.value < caseness:
            continue
        counted += 1
        for s in course.scores[course.scores.index(course.baseline) + 1 :]:
            if s.week is not None and s.week > 1:
                falls[s.week].append(course.baseline.value - s.value)
    if counted < cal["min_episodes"]:
        return None
    known = {1: 0.0} | {
        w: float(statistics.median(v)) for w, v in falls.items() if len(v) >= cal["min_per_week"]
    }
    weeks = sorted(known)
    drops = []
    for w in range(1, plans.WEEKS + 1):
        if w in known:
            drops.append(known[w])
            continue
        before = max(k for k in weeks if k < w)
        later = [k for k in weeks if k > w]
        if not later:
            drops.append(known[before])
            continue
        nxt = min(later)
        share = (w - before) / (nxt - before)
        drops.append(known[before] + (known[nxt] - known[before]) * share)
    return Line(code, tuple(drops), "practice", counted)


def line_for(db: Session, practice_id: int, code: str, before: dt.datetime | None = None) -> Line:
    """The path a practice's clients are judged against: its own once it has enough
    completed episodes (before a moment, for a verdict as of a past day), else the published
    rule."""
    return lines_for(db, practice_id, (code,), before)[code]


def lines_for(
    db: Session,
    practice_id: int,
    codes: Iterable[str] = TRACKED,
    before: dt.datetime | None = None,
) -> dict[str, Line]:
    """line_for for each of `codes`, in one query."""
    return {
        code: line or published_line(code)
        for code, line in practice_lines(db, practice_id, codes, before).items()
    }


# --- judging a course ------------------------------------------------------------------------

ON_TRACK, NOT_ON_TRACK, TOO_EARLY, SINGLE = "on_track", "not_on_track", "too_early", "single"


@dataclass(frozen=True)
class Verdict:
    """What the rule says about one course on one day."""

    code: str
    line: Line
    state: str  # ON_TRACK, NOT_ON_TRACK, TOO_EARLY or SINGLE
    baseline: episodes.Score
    latest: episodes.Score
    week: int  # the plan week of the latest score
    baseline_week: int
    expected: float | None  # the path's value in `week` (None where the path does not apply)
    deteriorated: bool = False

    @property
    def not_on_track(self) -> bool:
        return self.state == NOT_ON_TRACK

    @property
    def detail(self) -> str:
        """One factual line of numbers, for the signal, the card and the note."""
        inst = measures.instrument(self.code)
        name = inst.short_name
        now = f"{name} {self.latest.value} in week {self.week}"
        if self.state == SINGLE:
            return f"{name}: one score so far ({self.baseline.value}); nothing to compare yet."
        if self.deteriorated:
            return (
                f"{now}, up {self.latest.value - self.baseline.value} from the baseline "
                f"{self.baseline.value}: a reliable deterioration ({measures.NHS_TALKING_THERAPIES}"
                f": {rule()['drop'][self.code]} points or more)."
            )
        if self.state == TOO_EARLY:
            return f"{now}: too early to judge (from week {rule()['from_week']})."
        if self.expected is None:
            return (
                f"{now}; started at {self.baseline.value}, below caseness "
                f"({rule()['caseness'][self.code]}): judged on reliable deterioration only."
            )
        verdict = "above" if self.not_on_track else "at or below"
        return (
            f"{now}, {verdict} the expected {_number(self.expected)} or lower "
            f"(baseline {self.baseline.value})."
        )


def _number(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def judge(course: episodes.Course, week_of: Callable[[episodes.Score], int], line: Line) -> Verdict:
    """The rule applied to a course (the module docstring), with each score's plan week."""
    r = rule()
    base, latest = course.baseline, course.latest
    b_week, week = week_of(base), week_of(latest)

    def verdict(state: str, expected: float | None = None, worse: bool = False) -> Verdict:
        return Verdict(course.code, line, state, base, latest, week, b_week, expected, worse)

    if course.single:
        return verdict(SINGLE)
    # NHS Talking Therapies reliable deterioration: a rise by the reliable-change amount.
    if latest.value - base.value >= r["drop"][course.code]:
        return verdict(NOT_ON_TRACK, worse=True)
    if week < r["from_week"] or week <= b_week:
        return verdict(TOO_EARLY)
    if base.value < r["caseness"][course.code]:
        return verdict(ON_TRACK)
    expected = line.expected(base.value, week, b_week)
    return verdict(NOT_ON_TRACK if latest.value > expected else ON_TRACK, expected)


def week_of(plan: Plan) -> Callable[[episodes.Score], int]:
    """A score's plan week: the week it was given for, else the week its day falls in."""
    return lambda s: s.week if s.week is not None else plans.position(plan, s.day).week


def verdicts(
    db: Session,
    client: User,
    plan: Plan | None,
    on: dt.date | None = None,
    *,
    found: Mapping[str, episodes.Course] | None = None,
) -> dict[str, Verdict]:
    """The rule's verdict on each tracked questionnaire of an episode, as of a day. `found`:
    the episode's courses as of that day (episodes.courses with `until=on`), when the caller
    has them already."""
    if plan is None:
        return {}
    if found is None:
        found = episodes.courses(db, client, plan, until=on)
    codes = [code for code in TRACKED if found.get(code) is not None]
    if not codes:
        return {}
    # As of a day: the practice's path as it stood at the end of that day (client's calendar).
    before = None
    if on is not None:
        midnight = dt.datetime.combine(on + dt.timedelta(days=1), dt.time(), zone_of(client))
        before = midnight.astimezone(dt.UTC)
    lines = lines_for(db, client.practice_id, codes, before)
    return {code: judge(found[code], week_of(plan), lines[code]) for code in codes}


def expected_points(plan: Plan, v: Verdict) -> tuple[charts.ChartPoint, ...]:
    """The expected path between the baseline and the latest score, as dated points for the
    chart (a corner at every session date in between; the path is straight between them)."""
    if v.state == SINGLE or v.baseline.value < rule()["caseness"][v.code]:
        return ()
    first, last = v.baseline.day, v.latest.day
    if last <= first:
        return ()

    def point(day: dt.date, week: int) -> charts.ChartPoint:
        value = v.line.expected(v.baseline.value, max(week, v.baseline_week), v.baseline_week)
        return charts.ChartPoint(day, value, f"week {week}")

    out = [point(first, v.baseline_week)]
    for week in range(v.baseline_week + 1, plans.WEEKS + 1):
        day = plans.session_date(plan, week)
        if first < day < last:
            out.append(point(day, week))
    out.append(point(last, v.week))
    return tuple(out)


def chart_words(v: Verdict) -> str:
    """The band said in words, for screen readers and the PDF: where the path goes, and
    where the client stands."""
    inst = measures.instrument(v.code)
    target = v.line.expected(v.baseline.value, rule()["target_week"], v.baseline_week)
    state = {
        ON_TRACK: "on track",
        NOT_ON_TRACK: "not on track",
        TOO_EARLY: "too early to judge",
        SINGLE: "one score so far",
    }[v.state]
    return (
        f"Expected path ({v.line.name}): from the baseline {v.baseline.value} down to "
        f"{_number(target)} by week {rule()['target_week']}; a score at or below the path is on "
        f"track. {inst.short_name} now: {state}. {v.detail}"
    )


# --- the signal ------------------------------------------------------------------------------


def standing(db: Session, plan: Plan, code: str) -> ProgressSignal | None:
    """The plan's signal for a questionnaire that is still standing (open or reviewed)."""
    return db.scalar(
        sa.select(ProgressSignal).where(
            ProgressSignal.plan_id == plan.id,
            ProgressSignal.instrument_code == code,
            ProgressSignal.state != "resolved",
        )
    )


def refresh(
    db: Session, client: User, plan: Plan | None, administration: Administration
) -> ProgressSignal | None:
    """After a PHQ-9 or GAD-7 is completed: raise the signal (or refresh the standing one) when
    the client is not on track as of that day, resolve it when they are back on track. Too
    early or a single score changes nothing. Returns the signal, if one stands or resolved."""
    code = administration.instrument_code
    if plan is None or code not in TRACKED or administration.completed_at is None:
        return None
    day = local_time(administration.completed_at, client).date()
    v = verdicts(db, client, plan, day).get(code)
    signal = standing(db, plan, code)
    if v is None or v.state in (SINGLE, TOO_EARLY):
        return signal
    if v.not_on_track:
        if signal is None:
            signal = ProgressSignal(
                client_id=client.id, plan_id=plan.id, instrument_code=code, raised_on=day
            )
            db.add(signal)
        signal.detail = v.detail[:200]
        signal.updated_on = day
        signal.administration_id = administration.id
    elif signal is not None:
        signal.state = "resolved"
        signal.resolved_on = signal.updated_on = day
        signal.detail = v.detail[:200]
        signal.administration_id = administration.id
    db.flush()
    return signal


def signals_of(db: Session, client: User) -> list[ProgressSignal]:
    """Every signal of the client, standing ones first, newest first."""
    found = db.scalars(
        sa.select(ProgressSignal)
        .where(ProgressSignal.client_id == client.id)
        .order_by(ProgressSignal.raised_on.desc(), ProgressSignal.id.desc())
    ).all()
    return sorted(found, key=lambda s: s.state == "resolved")


def not_on_track_by_client(db: Session, client_ids: Any) -> dict[int, list[str]]:
    """The questionnaires each client is not on track on (standing signals of a plan not yet
    finished), in one query for any number of clients (`client_ids`: a list or a scalar
    subquery)."""
    out: dict[int, list[str]] = {}
    for client_id, code in db.execute(
        sa.select(ProgressSignal.client_id, ProgressSignal.instrument_code)
        .join(Plan, Plan.id == ProgressSignal.plan_id)
        .where(
            ProgressSignal.client_id.in_(client_ids),
            ProgressSignal.state != "resolved",
            Plan.status != "finished",
        )
        .order_by(ProgressSignal.instrument_code.desc())  # PHQ-9 before GAD-7
    ):
        out.setdefault(client_id, []).append(code)
    return out


def review(db: Session, signal: ProgressSignal, answers: Mapping[str, Any], by: User) -> None:
    """Keep the checklist's answers with the signal ({area key: {"answer", "note"}, "next_step"}):
    every area answered with one of its choices; notes and the next step within their length."""
    kept: dict[str, Any] = {}
    for area in checklist():
        given = answers.get(area.key) or {}
        answer = given.get("answer")
        if answer not in dict(area.choices):
            raise TrackingError(f"Choose an answer for “{area.title}”.", area.key)
        note = _text(given.get("note"), NOTE_MAX, f"{area.key}_note")
        kept[area.key] = {"answer": answer, "note": note}
    kept["next_step"] = _text(answers.get("next_step"), NEXT_STEP_MAX, "next_step")
    signal.checklist = kept
    signal.reviewed_at = utcnow()
    signal.reviewed_by_id = by.id
    if signal.state == "open":
        signal.state = "reviewed"
    db.flush()


def _text(value: Any, limit: int, field: str) -> str:
    words = str(value or "").strip()
    if len(words) > limit:
        raise TrackingError(f"Keep this to {limit} characters (it has {len(words)}).", field)
    if text.has_control_characters(words, multiline=True):
        raise TrackingError("This contains characters that cannot be stored.", field)
    return words


def checklist_lines(signal: ProgressSignal) -> list[str]:
    """The checklist's answers in words (empty if not reviewed)."""
    if not signal.checklist:
        return []
    out = []
    for area in checklist():
        given = signal.checklist.get(area.key) or {}
        words = dict(area.choices).get(given.get("answer", ""), "")
        note = f" ({given['note']})" if given.get("note") else ""
        out.append(f"{area.title}: {words}{note}")
    if signal.checklist.get("next_step"):
        out.append(f"Next step: {signal.checklist['next_step']}")
    return out


def for_note(db: Session, client: User, plan: Plan | None, on: dt.date) -> list[str]:
    """What the note of a session on `on` is offered about the signals, as of that day: the
    signals standing then, and the checklist if it was reviewed by then."""
    if plan is None:
        return []
    lines = []

    def day_of(moment: dt.datetime) -> dt.date:
        return local_time(moment, client).date()

    for s in signals_of(db, client):
        if s.plan_id != plan.id or s.raised_on > on:
            continue
        if s.resolved_on is not None and s.resolved_on <= on:
            continue
        name = measures.instrument(s.instrument_code).short_name
        lines.append(f"- {NAME} on {name} since {s.raised_on:%d %b %Y} (not a risk alert)")
        if s.reviewed_at is not None and day_of(s.reviewed_at) <= on:
            lines.append(f"  Checklist reviewed {day_of(s.reviewed_at):%d %b %Y}:")
            lines += [f"  · {line}" for line in checklist_lines(s)]
        else:
            lines.append("  Clinical-support checklist not reviewed yet.")
    return lines


def appendix(lines: Iterable[Line]) -> str:
    """The method and sources for the report's appendix, naming the line each questionnaire
    used."""
    lines = list(lines)
    used = "; ".join(f"{measures.instrument(line.code).short_name}: {line.name}" for line in lines)
    lines = list(lines)
    method = [str(rule()["words"])]
    practice = next((line for line in lines if line.kind == "practice"), None)
    if practice is not None:
        method.append(practice.words)
    else:
        cal = content()["calibration"]
        method.append(
            f"The practice's own path replaces this one once it has at least "
            f"{cal['min_episodes']} completed episodes per questionnaire (not yet)."
        )
    return (
        " ".join(method)
        + (f" In this report: {used}." if used else "")
        + " Sources: "
        + " ".join(sources())
    )
