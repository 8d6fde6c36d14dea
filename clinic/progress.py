"""What the record says about change: one chart and one summary per measure, worded for the
therapist (statistics named with their convention) or for the client (plain words)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from markupsafe import Markup
from sqlalchemy.orm import Session

from . import charts, episodes, goals, measures, plans, questionnaires, tracking
from .models import CheckIn, Plan, User
from .timeutil import local_time

# Which convention each figure uses, said next to the figure (measures.md).
RCI_CONVENTION = "Jacobson–Truax reliable change index (Jacobson & Truax 1991), |RCI| > 1.96"
NHS_CONVENTION = (
    "NHS Talking Therapies: caseness PHQ-9 ≥ 10 or GAD-7 ≥ 8; reliable change PHQ-9 ≥ 6, "
    "GAD-7 ≥ 4 points; first versus latest score"
)

JT = measures.JACOBSON_TRUAX
NHS = measures.NHS_TALKING_THERAPIES
RC_WORDS = {
    measures.IMPROVEMENT: "Reliable improvement",
    measures.NO_CHANGE: "No reliable change",
    measures.DETERIORATION: "Reliable deterioration",
}


@dataclass(frozen=True)
class ChartView:
    code: str
    title: str
    svg: Markup
    rows: list[tuple[str, str, str]]  # date, week, value (the data table)
    summary: questionnaires.Summary | None
    words: str  # the plain-language or technical summary shown beside the chart
    source: str  # citation/attribution line for the instrument
    events: tuple[tuple[str, str], ...] = ()  # date and full text of each event marked
    about: str = ""  # for clients: what the measure is and its reference, folded away


@dataclass(frozen=True)
class ScoreChip:
    """A measure's latest score as the record's summary band shows it: the band with its
    severity (0 the mildest band .. 3 the most severe, for the chip's colour) and the trend."""

    code: str
    name: str
    shown: str
    band: str
    level: int
    trend: str  # the change since the baseline, with its convention named


def score_chips(views: list[ChartView]) -> list[ScoreChip]:
    """One chip per measure chart: latest score, band and severity, change since baseline."""
    chips = []
    for view in views:
        s = view.summary
        if s is None:
            continue
        inst = measures.instrument(view.code)
        level = inst.severity(s.band)
        if s.latest is s.baseline:
            trend = "first score"
        elif s.rc is None:
            trend = f"{s.change:+d} since baseline"
        else:
            trend = f"{s.change:+d} since baseline · {RC_WORDS[s.rc.category].lower()} ({JT})"
        chips.append(ScoreChip(view.code, inst.short_name, s.latest.shown, s.band, level, trend))
    return chips


def _chart_id(code: str) -> str:
    return f"chart-{code}"


def measure_charts(
    db: Session,
    client: User,
    *,
    for_client: bool = False,
    markers: tuple[tuple[dt.date, str], ...] = (),
) -> list[ChartView]:
    """A chart for every measure the client has answered, in instrument order; the
    therapist's PHQ-9 and GAD-7 charts carry the expected path (tracking)."""
    plan = episodes.episode(db, client)
    found = episodes.courses(db, client, plan)
    verdicts = {} if for_client else tracking.verdicts(db, client, plan)
    views = []
    for code, inst in measures.instruments().items():
        course = found.get(code)
        if course is None:
            continue
        points = list(course.scores)
        summary = questionnaires.summarise(course)
        local = [p.day for p in points]
        chart = instrument_chart(
            inst,
            [(day, p) for day, p in zip(local, points, strict=True)],
            title=inst.client_title if for_client else f"{inst.short_name} over time",
            cutoff_label=f"clinical cut-off {inst.change.cutoff:g}",
            baseline=course.baseline.on_full_scale(inst),
            summary=_text_summary(inst, summary, len(points)),
            markers=markers,
            verdict=verdicts.get(code),
            plan=plan,
        )
        rows = [
            (
                f"{day:%d %b %Y}",
                f"{p.week}" if p.week else "extra",
                f"{p.shown} ({inst.band_for(p.value, p.out_of).label})",
            )
            for day, p in zip(local, points, strict=True)
        ]
        words = client_words(inst, summary) if for_client else therapist_words(summary)
        if code in verdicts:
            words = f"{words} {tracking_words(verdicts[code])}".strip()
        views.append(
            ChartView(
                code,
                chart.title,
                Markup(charts.svg(chart, _chart_id(code))),
                rows,
                summary,
                words,
                inst.attribution
                if for_client
                else f"{inst.attribution} Reference: {inst.citation}",
                _events(markers),
                about=(
                    f"The {inst.name} ({inst.short_name}) asks about {inst.about}. "
                    f"Reference: {inst.citation}"
                    if for_client
                    else ""
                ),
            )
        )
    return views


def instrument_chart(
    inst: measures.Instrument,
    dated: list[tuple[dt.date, episodes.Score]],
    *,
    title: str,
    baseline: int | None = None,
    cutoff_label: str,
    summary: str = "",
    markers: tuple[tuple[dt.date, str], ...] = (),
    verdict: tracking.Verdict | None = None,
    plan: Plan | None = None,
) -> charts.Chart:
    """The chart of one instrument's scores (each with its local date): its bands, shaded by
    severity in the instrument's direction, its cut-off, the baseline and any events; with a
    verdict (tracking), the expected path as a band and in words."""
    expected = tracking.expected_points(plan, verdict) if verdict and plan else ()
    return charts.Chart(
        title=title,
        y_label="Total score",
        y_min=inst.min_total,
        y_max=inst.max_total,
        points=tuple(
            # On the full scale, so that a WSAS without its work item sits in its own band.
            charts.ChartPoint(day, p.on_full_scale(inst), f"week {p.week}" if p.week else "")
            for day, p in dated
        ),
        bands=tuple(charts.ChartBand(b.low, b.high, b.label) for b in inst.bands),
        cutoff=inst.change.cutoff,
        cutoff_label=cutoff_label,
        baseline=dated[0][1].on_full_scale(inst) if baseline is None else baseline,
        summary=summary,
        markers=markers,
        higher_is_better=inst.higher_is_better,
        expected=expected,
        expected_words=tracking.chart_words(verdict) if verdict and expected else "",
    )


def tracking_words(v: tracking.Verdict) -> str:
    """The verdict under a PHQ-9 or GAD-7 chart: on track or not, with its numbers."""
    state = {
        tracking.NOT_ON_TRACK: f"{tracking.NAME}:",
        tracking.ON_TRACK: "On track:",
        tracking.TOO_EARLY: "",
        tracking.SINGLE: "",
    }[v.state]
    if v.state == tracking.SINGLE:
        return ""
    return f"{state} {v.detail} Path: {v.line.name}.".strip()


def _events(markers: tuple[tuple[dt.date, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple((f"{day:%d %b %Y}", text) for day, text in sorted(markers))


def _text_summary(inst: measures.Instrument, s: questionnaires.Summary, n: int) -> str:
    if n == 1:
        return f"One {inst.short_name} score so far: {s.latest.shown}, {s.band}."
    return (
        f"{n} {inst.short_name} scores. First {s.baseline.shown}, latest {s.latest.shown} "
        f"({s.band}); change {s.change:+d}, {s.direction_words}."
    )


def therapist_words(s: questionnaires.Summary) -> str:
    if s.latest is s.baseline:
        return f"Baseline {s.baseline.shown} ({s.band}). One score so far."
    if s.rc is None:
        return (
            f"Latest {s.latest.shown} ({s.band}); change since baseline {s.change:+d}. "
            "No reliable change index: no verified standard deviation is on file for this "
            "measure (see its definition)."
        )
    return (
        f"Latest {s.latest.shown} ({s.band}); change since baseline {s.change:+d}. "
        f"{JT}: {RC_WORDS[s.rc.category].lower()} (RCI {s.rc.rci:.2f}, S_diff "
        f"{s.rc.s_diff:.2f}); {CATEGORY_WORDS[s.category or 'unchanged'][0].lower()}"
        f"{CATEGORY_WORDS[s.category or 'unchanged'][1:]}"
    )


# Jacobson & Truax (1991) categories, said in full so nobody has to remember the definitions.
CATEGORY_WORDS = {
    "recovered": "Recovered: reliable improvement and now past the clinical cut-off.",
    "improved": "Improved: reliable improvement, not yet past the clinical cut-off.",
    "unchanged": "Unchanged: no reliable change.",
    "deteriorated": "Deteriorated: reliable deterioration.",
}


def client_words(inst: measures.Instrument, s: questionnaires.Summary) -> str:
    direction = "higher" if inst.higher_is_better else "lower"
    start = f"Your latest score was {s.latest.shown}, which is in the “{s.band}” range."
    if s.latest is s.baseline:
        return f"{start} This is your first one; later scores will show how things change."
    moved = abs(s.change)
    if s.change == 0:
        change = "That is the same as when you started."
    else:
        change = (
            f"That is {moved} point{'s' if moved != 1 else ''} "
            f"{'higher' if s.change > 0 else 'lower'} than when you started "
            f"({direction} is better on this questionnaire)."
        )
    return f"{start} {change}"


def talking_therapies(db: Session, client: User) -> measures.TalkingTherapiesOutcome | None:
    """The NHS Talking Therapies outcome, once there are two PHQ-9 and two GAD-7 scores."""
    found = episodes.courses(db, client, episodes.episode(db, client))
    phq, gad = found.get("phq9"), found.get("gad7")
    if phq is None or gad is None or phq.single or gad.single:
        return None
    return measures.talking_therapies_outcome(
        phq.baseline.value, phq.latest.value, gad.baseline.value, gad.latest.value
    )


CHECK_IN_SCALES = (
    ("trust", "Trust thermometer (0–10)", None, ""),
    ("distress", "Distress (0–10)", 9.0, "alert at 9"),
)
CHECK_IN_SOURCE = "Bedrock weekly check-in (own ratings, not a validated scale)."


def episode_check_ins(
    db: Session, client: User, plan: Plan | None, until: dt.date | None = None
) -> list[tuple[dt.date, CheckIn]]:
    """The check-ins of one episode (up to a day), oldest first, with their local dates."""
    out = []
    for row in questionnaires.check_in_series(db, client):
        day = local_time(row.created_at, client).date()
        if (plan is None or row.plan_id == plan.id) and (until is None or day <= until):
            out.append((day, row))
    return out


def check_in_chart(key: str, dated: list[tuple[dt.date, CheckIn]]) -> charts.Chart:
    """The chart of one check-in rating (trust or distress), for the page and the PDF."""
    _, title, cutoff, cutoff_label = next(x for x in CHECK_IN_SCALES if x[0] == key)
    values = [getattr(r, key) for _, r in dated]
    return charts.Chart(
        title=title,
        y_label="Rating",
        y_min=0,
        y_max=10,
        points=tuple(
            charts.ChartPoint(d, v, f"week {r.week}")
            for (d, r), v in zip(dated, values, strict=True)
        ),
        cutoff=cutoff,
        cutoff_label=cutoff_label,
        baseline=values[0],
        summary=f"{len(values)} weekly ratings; first {values[0]}, latest {values[-1]}.",
    )


def client_trust_chart(db: Session, client: User) -> ChartView | None:
    """The client's own trust rating from the weekly check-in, week by week, in their words."""
    dated = episode_check_ins(db, client, episodes.episode(db, client))
    if not dated:
        return None
    chart = check_in_chart("trust", dated)
    chart = replace(
        chart,
        title="My trust rating, week by week",
        baseline=None,
        summary=chart.summary.replace("weekly ratings", "weekly trust ratings"),
    )
    values = [r.trust for _, r in dated]
    if len(values) == 1:
        words = f"Your first rating was {values[0]} out of 10. Each check-in adds a point."
    else:
        moved = values[-1] - values[0]
        how = (
            "the same as"
            if moved == 0
            else f"{abs(moved)} point{'s' if abs(moved) != 1 else ''} "
            f"{'higher' if moved > 0 else 'lower'} than"
        )
        words = (
            f"Your latest rating was {values[-1]} out of 10, {how} your first ({values[0]}). "
            "Higher means you felt more able to trust."
        )
    return ChartView(
        "checkin-trust",
        chart.title,
        Markup(charts.svg(chart, "chart-my-trust")),
        [(f"{d:%d %b %Y}", str(r.week), str(r.trust)) for d, r in dated],
        None,
        words,
        "",
        about=f"From your weekly check-in (0 = not at all, 10 = completely). {CHECK_IN_SOURCE}",
    )


def check_in_charts(db: Session, client: User) -> list[ChartView]:
    """The weekly check-in ratings of the episode over the weeks."""
    dated = episode_check_ins(db, client, episodes.episode(db, client))
    if not dated:
        return []
    views = []
    for key, title, _, _ in CHECK_IN_SCALES:
        chart = check_in_chart(key, dated)
        values = [getattr(r, key) for _, r in dated]
        views.append(
            ChartView(
                f"checkin-{key}",
                title,
                Markup(charts.svg(chart, f"chart-checkin-{key}")),
                [(f"{d:%d %b %Y}", str(r.week), str(getattr(r, key))) for d, r in dated],
                None,
                f"Latest {values[-1]}, first {values[0]}. The practice's own weekly rating, "
                "not a validated scale.",
                CHECK_IN_SOURCE,
            )
        )
    return views


def homework_chart(
    db: Session, client: User, plan: Plan, markers: tuple[tuple[dt.date, str], ...] = ()
) -> ChartView | None:
    """Homework quality (0-4) and how much was done, week by week, to read beside the
    outcome measures."""
    by_week: dict[int, list[tuple[int, str]]] = {}
    for a in plan.assignments:
        sub = a.submission
        if a.removed_at is None and sub is not None and sub.quality is not None:
            by_week.setdefault(a.week, []).append((sub.quality, sub.completion or ""))
    if not by_week:
        return None
    weeks = sorted(by_week)
    points = tuple(
        charts.ChartPoint(
            plans.session_date(plan, w),
            sum(q for q, _ in by_week[w]) / len(by_week[w]),
            f"week {w}",
        )
        for w in weeks
    )
    chart = charts.Chart(
        title="Homework quality (0–4), by week",
        y_label="Quality",
        y_min=0,
        y_max=4,
        points=points,
        summary=f"Rated homework in {len(weeks)} week(s); latest quality {points[-1].value:.1f} of 4.",
        markers=markers,
    )
    rows = [
        (
            f"{p.when:%d %b %Y}",
            str(w),
            f"quality {p.value:.1f}; done: {', '.join(c for _, c in by_week[w])}",
        )
        for w, p in zip(weeks, points, strict=True)
    ]
    return ChartView(
        "homework",
        chart.title,
        Markup(charts.svg(chart, "chart-homework")),
        rows,
        None,
        "Quality as rated at review (0–4, a scale informed by Kazantzis et al.'s research on "
        "homework quality), averaged per week.",
        "Rated by the therapist when reviewing homework.",
        _events(markers),
    )


GOAL_SOURCE = (
    "Goal Based Outcomes: the client's own goals rated 0-10 (Law & Jacob 2015, CORC); "
    + "reliable change 3 points or more (Edbrooke-Childs et al. 2015)."
)


def goal_chart(view: goals.GoalView) -> charts.Chart:
    """One goal's ratings over the episode, for the page and the PDF (one description)."""
    values = [r.value for r in view.ratings]
    return charts.Chart(
        title=f"Goal {view.number}",
        y_label="How close (0-10)",
        y_min=0,
        y_max=10,
        points=tuple(
            charts.ChartPoint(
                r.day,
                r.value,
                f"week {r.week}" if r.week else ("in session" if r.context == "session" else ""),
            )
            for r in view.ratings
        ),
        baseline=values[0],
        higher_is_better=True,
        summary=f"{len(values)} ratings; first {values[0]}, latest {values[-1]}.",
    )


def goal_words(view: goals.GoalView) -> str:
    """The sentence under a goal's chart: first and latest, change and its convention."""
    if view.first is None or view.latest is None:
        return "Not rated yet."
    if view.change is None:
        return f"One rating so far: {view.first.value} on {view.first.day:%d %b %Y}."
    return (
        f"First {view.first.value} ({view.first.day:%d %b %Y}), latest {view.latest.value} "
        f"({view.latest.day:%d %b %Y}); change {view.change:+d}: {view.verdict} "
        f"({goals.CONVENTION})."
    )


def goal_client_words(view: goals.GoalView) -> str:
    """The sentence under a goal's chart on the client's own pages."""
    if view.latest is None or view.first is None:
        return "Not rated yet: you will rate it at your next check-in."
    start = f"Your latest rating was {view.latest.value} out of 10 ({view.latest.day:%d %b})."
    if view.change is None:
        return f"{start} This is your first; later ratings will show how things move."
    if view.change == 0:
        return f"{start} That is where you started."
    moved = abs(view.change)
    return (
        f"{start} That is {moved} point{'s' if moved != 1 else ''} "
        f"{'higher' if view.change > 0 else 'lower'} than your first rating "
        "(higher means closer to your goal)."
    )


def goal_charts(views: list[goals.GoalView], *, for_client: bool = False) -> list[ChartView]:
    """A chart for every goal with at least one rating."""
    out = []
    for view in views:
        if not view.ratings:
            continue
        out.append(
            ChartView(
                f"goal-{view.id}",
                f"Goal {view.number}: {view.wording}",
                Markup(charts.svg(goal_chart(view), f"chart-goal-{view.id}")),
                [(f"{r.day:%d %b %Y}", str(r.week or ""), str(r.value)) for r in view.ratings],
                None,
                goal_client_words(view) if for_client else goal_words(view),
                "Your own goals and ratings." if for_client else GOAL_SOURCE,
            )
        )
    return out
