"""The progress-report PDF over the whole plan or chosen dates: a plain-words summary page, a chart
and a table of every score (baseline, mid-point and latest marked) per measure, the NHS Talking Therapies outcome,
homework by week and an appendix that explains every statistic with its sources."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, PageBreak
from sqlalchemy.orm import Session

from .. import (
    alerts,
    charts,
    episodes,
    goals,
    measures,
    notes,
    pdf,
    plans,
    progress,
    questionnaires,
    tracking,
)
from ..models import Plan, SessionNote, SubmissionStatus, User
from ..timeutil import local_time
from .common import (
    ATTENDANCE_WORDS,
    CONFIDENTIAL,
    AlertLine,
    Header,
    alert_line,
    chart,
    header,
    reliable_words,
    title_block,
)


@dataclass(frozen=True)
class MeasureBlock:
    instrument: str
    name: str
    chart: charts.Chart
    # Every administration: label (baseline, mid-point, latest or none), week, date, score, band
    rows: tuple[tuple[str, str, str, str, str], ...]
    reliable: str
    words: str
    events: tuple[tuple[str, str], ...] = ()  # date and full text of each event on the chart


@dataclass(frozen=True)
class HomeworkWeek:
    week: int
    topic: str
    set: int
    sent: int
    reviewed: int
    done: str
    quality: str


@dataclass(frozen=True)
class StatisticNote:
    instrument: str
    text: str


@dataclass(frozen=True)
class ProgressReport:
    header: Header
    start: dt.date
    end: dt.date
    for_client: bool
    show_scores: bool
    summary: tuple[str, ...]
    measures: tuple[MeasureBlock, ...]
    talking_therapies: str | None
    homework: tuple[HomeworkWeek, ...]
    sessions: tuple[tuple[str, str, str], ...]  # date, attendance, assessment
    statistics: tuple[StatisticNote, ...] = field(default_factory=tuple)
    # The newest suitability screen up to the report's end, and the earlier ones (date, outcome);
    # the therapist's copy only.
    screen: plans.screening.ScreenView | None = None
    earlier_screens: tuple[tuple[str, str], ...] = ()
    # The weekly check-in (trust and distress charts; week, date, trust, distress, helpfulness)
    check_in_charts: tuple[charts.Chart, ...] = ()
    check_ins: tuple[tuple[str, str, str, str, str], ...] = ()
    attendance: str = ""  # sessions held, in words
    # Risk history (therapist's copy): item-9 answers (date, answer) and every alert.
    item9: tuple[tuple[str, str], ...] = ()
    risk: tuple[AlertLine, ...] = ()
    # The discharge of a finished plan (label, text); the client's copy has no risk line.
    discharge: tuple[tuple[str, str], ...] = ()
    # The client's own goals as they stood at the report's end (both copies: they are the
    # client's words), each with its chart when rated.
    goals: tuple[goals.GoalView, ...] = ()
    goal_charts: tuple[charts.Chart, ...] = ()


def gather_progress_report(
    db: Session,
    client: User,
    today: dt.date,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    for_client: bool = False,
) -> ProgressReport:
    """What the progress report shows for a plan (or a chosen date range)."""
    last = end or today
    plan = episodes.episode(db, client, last)
    plans.preload_homework(db, plan)
    first = start or (plan.first_session if plan else None)
    show_scores = not for_client or client.practice.clients_see_scores
    blocks, summary = [], []
    found = episodes.courses(db, client, plan, since=start, until=last)
    # The therapist's event notes in the period mark the charts of the therapist's copy.
    markers = tuple(
        (e.on_date, e.text)
        for e in ([] if for_client else notes.events_of(db, client))
        if e.on_date <= last and (first is None or e.on_date >= first)
    )
    # The expected path of PHQ-9 and GAD-7 as of the report's end (therapist's copy only).
    # (Without a start, `found` is already the episode as of `last`: not asked for again.)
    verdicts = (
        {}
        if for_client
        else tracking.verdicts(db, client, plan, last, found=found if start is None else None)
    )
    for code, course in found.items():
        inst = measures.instrument(code)
        s = questionnaires.summarise(course)
        rows = tuple(
            (
                {"baseline": "Baseline", "midpoint": "Mid-point", "latest": "Latest"}.get(
                    course.role(p), ""
                ),
                f"{p.week}" if p.week else "extra",
                f"{p.day:%d %b %Y}",
                p.shown,
                inst.band_for(p.value, p.out_of).label,
            )
            for p in course.scores
        )
        points = [(p.day, p) for p in course.scores]
        words = progress.client_words(inst, s) if for_client else progress.therapist_words(s)
        if code in verdicts and start is None:
            words = f"{words} {progress.tracking_words(verdicts[code])}".strip()
        blocks.append(
            MeasureBlock(
                inst.short_name,
                inst.name,
                chart(
                    inst,
                    points,
                    markers,
                    course.baseline.on_full_scale(inst),
                    verdicts.get(code) if start is None else None,
                    plan,
                ),
                rows,
                "" if for_client else reliable_words(s),
                words,
                tuple((f"{day:%d %b %Y}", text) for day, text in markers),
            )
        )
        if course.single:
            summary.append(f"{inst.short_name}: one score so far, {s.latest.shown} ({s.band}).")
        else:
            rc = "" if for_client else f" {reliable_words(s)}."
            summary.append(
                f"{inst.short_name} ({inst.about}) went from {s.baseline.shown} (baseline) to "
                f"{s.latest.shown} ({s.band}); {s.direction_words}.{rc}"
            )
    outcome = None
    phq, gad = found.get("phq9"), found.get("gad7")
    if phq and gad and not phq.single and not gad.single:
        o = measures.talking_therapies_outcome(
            phq.baseline.value, phq.latest.value, gad.baseline.value, gad.latest.value
        )
        outcome = _talking_therapies_words(o)
    weeks = _homework_weeks(db, plan, first, last) if plan else ()
    if weeks:
        total = sum(w.set for w in weeks)
        sent = sum(w.sent for w in weeks)
        summary.append(f"Homework: {sent} of {total} worksheets sent.")
    goal_views = tuple(goals.views(db, plan, as_of=last))
    summary += [goal_sentence(g) for g in goal_views if g.latest is not None]
    if not summary:
        summary.append("No questionnaires answered and no homework set in this period yet.")
    session_notes = notes.notes_of(db, client)  # read (and decrypted) once, used twice
    sessions: tuple[tuple[str, str, str], ...] = ()
    if not for_client:
        sessions = tuple(
            (
                f"{n.session_date:%d %b %Y}",
                ATTENDANCE_WORDS.get(n.attendance, n.attendance),
                n.assessment or "",
            )
            for n in reversed(session_notes)
            if n.status == "signed"
            and (first is None or n.session_date >= first)
            and n.session_date <= last
        )
    screens = [] if for_client else plans.screening.screens_of(db, client)
    screens = [x for x in screens if x.screened_on <= last]
    dated = [
        (d, c)
        for d, c in progress.episode_check_ins(db, client, plan, last)
        if first is None or d >= first
    ]
    item9, risk = ((), ()) if for_client else _risk_history(db, client, first, last)
    discharge = _discharge(client, plan, last, for_client)
    return ProgressReport(
        goals=goal_views,
        goal_charts=tuple(progress.goal_chart(g) for g in goal_views if g.ratings),
        check_in_charts=tuple(
            progress.check_in_chart(k, dated) for k, *_ in progress.CHECK_IN_SCALES
        )
        if dated
        else (),
        check_ins=tuple(
            (
                str(c.week),
                f"{d:%d %b %Y}",
                str(c.trust),
                str(c.distress),
                "" if c.helpfulness is None else str(c.helpfulness),
            )
            for d, c in dated
        ),
        attendance=_attendance(session_notes, first, last),
        item9=item9,
        risk=risk,
        discharge=discharge,
        screen=plans.screening.view(db, screens[0]) if screens else None,
        earlier_screens=tuple(
            (f"{x.screened_on:%d %b %Y}", plans.screening.OUTCOME_WORDS[x.outcome])
            for x in screens[1:]
        ),
        header=header(db, client, plan, min(today, last)),
        start=min(
            [d for d in (first, *(c.scores[0].day for c in found.values())) if d is not None],
            default=last,
        ),
        end=last,
        for_client=for_client,
        show_scores=show_scores,
        summary=tuple(summary)
        if show_scores
        else tuple(s for s in summary if s.startswith("Homework")),
        measures=tuple(blocks) if show_scores else (),
        talking_therapies=outcome if show_scores and not for_client else None,
        homework=weeks,
        sessions=sessions,
        statistics=statistics_notes(
            for_client,
            tuple(v.line for v in verdicts.values())
            or tuple(tracking.published_line(c) for c in tracking.TRACKED),
        )
        if show_scores
        else (),
    )


def _discharge(
    client: User, plan: Plan | None, last: dt.date, for_client: bool
) -> tuple[tuple[str, str], ...]:
    """The discharge of a plan finished by the report's end date."""
    if plan is None or plan.finished_at is None or plan.discharge_reason is None:
        return ()
    finished = local_time(plan.finished_at, client).date()
    if finished > last:
        return ()
    rows = [
        ("Finished", f"{finished:%d %b %Y}"),
        ("Reason", plans.DISCHARGE_REASONS.get(plan.discharge_reason, plan.discharge_reason)),
    ]
    if not for_client:
        rows.append(("Risk at discharge", plan.discharge_risk or ""))
    if plan.discharge_recommendations:
        rows.append(("Recommendations", plan.discharge_recommendations))
    return tuple(rows)


def _risk_history(
    db: Session, client: User, first: dt.date | None, last: dt.date
) -> tuple[tuple[tuple[str, str], ...], tuple[AlertLine, ...]]:
    """PHQ-9 item 9 answers (date, answer) and every alert of the period, oldest first, each
    as it stood at the report's end."""

    def within(moment: dt.datetime) -> bool:
        day = local_time(moment, client).date()
        return (first is None or day >= first) and day <= last

    item9 = tuple(
        (f"{local_time(when, client):%d %b %Y}", f"{value}: {words}")
        for when, value, words in reversed(alerts.item9_history(db, client.id))
        if within(when)
    )
    found = sorted(alerts.client_alerts(db, client), key=lambda a: (a.opened_at, a.id))
    risk = tuple(alert_line(db, client, a, as_of=last) for a in found if within(a.opened_at))
    return item9, risk


def _attendance(session_notes: list[SessionNote], first: dt.date | None, last: dt.date) -> str:
    """Sessions held in the period, from the signed notes: 'Sessions held, ...: 5
    attended, 1 cancelled, 1 did not attend.'"""
    counts: dict[str, int] = {}
    for n in session_notes:
        if (
            n.status == "signed"
            and n.session_date <= last
            and (first is None or n.session_date >= first)
        ):
            counts[n.attendance] = counts.get(n.attendance, 0) + 1
    if not counts:
        return "No signed session notes in this period."
    parts = [f"{counts[k]} {ATTENDANCE_WORDS[k].lower()}" for k in ATTENDANCE_WORDS if k in counts]
    return "Sessions held, as recorded in signed session notes: " + ", ".join(parts) + "."


def _talking_therapies_words(o: measures.TalkingTherapiesOutcome) -> str:
    start = "A case at the start" if o.caseness_pre else "Not a case at the start (below caseness)"
    if o.reliable_improvement:
        change = "reliable improvement"
    elif o.reliable_deterioration:
        change = "reliable deterioration"
    else:
        change = "no reliable change"
    verdict = [change]
    if o.recovery is not None:  # the convention's own word, unlike Jacobson–Truax "recovered"
        verdict.append("recovery" if o.recovery else "no recovery")
    if o.reliable_recovery:
        verdict.append("reliable recovery")
    return f"{progress.NHS} (PHQ-9 and GAD-7 together): {start.lower()}; {', '.join(verdict)}."


def _homework_weeks(
    db: Session, plan: Plan, first: dt.date | None, last: dt.date
) -> tuple[HomeworkWeek, ...]:
    program = plans.program_of(db, plan)
    out = []
    for week in program.weeks:
        opens = plans.session_date(plan, week.number)
        if opens > last or (
            first is not None and plans.session_date(plan, week.number + 1) <= first
        ):
            continue
        items = [a for a in plan.assignments if a.week == week.number and a.removed_at is None]
        subs = [a.submission for a in items if a.submission is not None]
        sent = [s for s in subs if s.status != SubmissionStatus.DRAFT.value]
        reviewed = [s for s in sent if s.status == SubmissionStatus.REVIEWED.value]
        qualities = [s.quality for s in reviewed if s.quality is not None]
        out.append(
            HomeworkWeek(
                week=week.number,
                topic=week.topic,
                set=len(items),
                sent=len(sent),
                reviewed=len(reviewed),
                done=", ".join(s.completion for s in reviewed if s.completion) or "—",
                quality=f"{sum(qualities) / len(qualities):.1f}" if qualities else "—",
            )
        )
    return tuple(out)


def statistics_notes(
    for_client: bool = False, lines: tuple[tracking.Line, ...] = ()
) -> tuple[StatisticNote, ...]:
    """How each figure is computed, with the numbers and sources used (from the definitions).
    The client's copy explains the scores and bands only: no reliable-change statistics and
    no expected path; the therapist's copy names the path each questionnaire used (`lines`)."""
    out = []
    for inst in measures.instruments().values():
        c = inst.change
        if for_client:
            out.append(
                StatisticNote(
                    inst.short_name,
                    f"{inst.name}: scores from {inst.min_total} to {inst.max_total}; "
                    f"{'higher' if inst.higher_is_better else 'lower'} is better. Ranges: "
                    + ", ".join(f"{b.low}–{b.high} {b.label}" for b in inst.bands)
                    + f". Reference: {inst.citation}",
                )
            )
            continue
        if c.sd is None:
            rc = (
                "No reliable change index is computed: no verified standard deviation is on "
                f"file. ({c.sd_source})"
            )
        else:
            s_diff = c.sd * (2 * (1 - c.reliability)) ** 0.5
            rc = (
                f"{progress.JT} reliable change (Jacobson & Truax 1991): S_diff = SD × √2 × "
                f"√(1 − r) = {c.sd:g} × √2 × √(1 − {c.reliability:g}) = {s_diff:.2f}; "
                f"RCI = (latest − baseline) / S_diff, reliable when |RCI| > 1.96, that is a "
                f"change of {inst.smallest_reliable_change()} points or more. SD source: "
                f"{c.sd_source} Reliability source: {c.reliability_source}"
            )
        out.append(
            StatisticNote(
                inst.short_name,
                f"{inst.name}: total {inst.min_total}–{inst.max_total}, "
                f"{'higher' if inst.higher_is_better else 'lower'} is better. Bands: "
                + ", ".join(f"{b.low}–{b.high} {b.label}" for b in inst.bands)
                + f". Clinical cut-off {c.cutoff:g} ({c.cutoff_source}) {rc} "
                f"{progress.JT} categories: recovered = reliable improvement and past the "
                f"cut-off; improved = "
                f"reliable improvement only; unchanged; deteriorated = reliable deterioration. "
                f"Reference: {inst.citation}",
            )
        )
    if for_client:
        return tuple(out)
    out.append(
        StatisticNote(
            "NHS Talking Therapies",
            progress.NHS_CONVENTION + ". Recovery: a "
            "case at the start and below caseness on both measures at the end; reliable recovery: "
            "recovery with reliable improvement. Source: the NHS Talking Therapies for anxiety and "
            "depression Manual (2023, formerly the IAPT Manual); Gyani et al. 2013, Behav Res Ther "
            "51:597-606.",
        )
    )
    out.append(
        StatisticNote(
            "On track or not (PHQ-9 and GAD-7): the expected path",
            tracking.appendix(lines or tuple(tracking.published_line(c) for c in tracking.TRACKED)),
        )
    )
    return tuple(out)


def _screen_story(
    screen: plans.screening.ScreenView | None, earlier: tuple[tuple[str, str], ...]
) -> list[Flowable]:
    """The suitability and safety screen: outcome, concerns with their notes, the outcome's
    notes (changes, referral) and the dates of earlier screens."""
    story: list[Flowable] = [pdf.para("Suitability and safety screen", "h3")]
    if screen is None:
        return [*story, pdf.para("No screen recorded in this period.")]
    changes = f"; {screen.changes}" if screen.changes else ""
    story.append(
        pdf.para(
            f"{screen.outcome_words}{changes} (screened {screen.screened_on:%d %b %Y} by {screen.by})."
        )
    )
    for area, found, notes_ in screen.concerns:
        story.append(pdf.para(f"• {area}: {found.lower()}." + (f" {notes_}" if notes_ else "")))
    if screen.cleared:
        story.append(pdf.para("No concern: " + "; ".join(screen.cleared) + ".", "small"))
    for label, text in screen.details:
        story.append(pdf.labelled(f"{label}:", text))
    if screen.review_on:
        story.append(pdf.para(f"Screen again by {screen.review_on:%d %b %Y}.", "small"))
    if earlier:
        listed = "; ".join(f"{day}, {outcome.lower()}" for day, outcome in earlier)
        story.append(pdf.para(f"Earlier screens: {listed}.", "small"))
    return story


def goal_sentence(g: goals.GoalView) -> str:
    """One goal in the report's summary: first and latest rating, change and its convention."""
    if g.change is None or g.first is None or g.latest is None:
        rated = g.latest.value if g.latest else "not rated"
        return f"Goal {g.number} (“{g.wording}”): rated {rated} of 10 so far."
    return (
        f"Goal {g.number} (“{g.wording}”) went from {g.first.value} to {g.latest.value} of 10 "
        f"({g.change:+d}: {g.verdict}; {goals.CONVENTION})."
    )


def _goals_story(r: ProgressReport) -> list[Flowable]:
    """The client's own goals: a chart per rated goal and a table of first and latest."""
    if not r.goals:
        return []
    story: list[Flowable] = [
        pdf.para("The client's goals" if not r.for_client else "My goals", "h2"),
        pdf.para(
            "Goals in the client's own words, each rated from 0 (not at all close) to 10 "
            "(reached) at the weekly check-in and in session (Goal Based Outcomes, Law & Jacob "
            f"2015). {goals.CONVENTION}.",
            "small",
        ),
    ]
    drawn = {c.title: c for c in r.goal_charts}
    for g in r.goals:
        chart = drawn.get(f"Goal {g.number}")
        if chart is not None:
            story.append(
                pdf.keep(
                    pdf.para(f"Goal {g.number}: {g.wording}", "h3"),
                    charts.drawing(chart, pdf.FRAME_WIDTH, 150),
                )
            )
    rows = []
    for g in r.goals:
        first = f"{g.first.value} ({g.first.day:%d %b %Y})" if g.first else "not rated"
        latest = f"{g.latest.value} ({g.latest.day:%d %b %Y})" if g.latest else ""
        change = "" if g.change is None else f"{g.change:+d}: {g.verdict}"
        state = f"set {g.set_on:%d %b %Y}" + (
            f", retired {g.retired_on:%d %b %Y}" if g.retired_on else ""
        )
        rows.append([f"{g.number}. {g.wording}", state, first, latest, change])
    story.append(
        pdf.table(
            ["Goal", "Set", "First rating", "Latest rating", "Change"],
            rows,
            widths=[None, 32 * mm, 28 * mm, 28 * mm, 34 * mm],
        )
    )
    return story


def _check_in_story(r: ProgressReport) -> list[Flowable]:
    """The weekly check-in: trust and distress charts, and every check-in in a table."""
    if not r.check_ins:
        return []
    story: list[Flowable] = [
        pdf.para("Weekly check-in", "h2"),
        pdf.para(
            "Bedrock's own weekly ratings, not a validated scale: trust in the people who "
            "matter (0–10, higher is more trusting) and distress (0–10; 9 or more raises an "
            "alert).",
            "small",
        ),
    ]
    for c in r.check_in_charts:
        story.append(pdf.keep(pdf.para(c.title, "h3"), charts.drawing(c, pdf.FRAME_WIDTH, 150)))
    story.append(
        pdf.table(
            ["Week", "Date", "Trust", "Distress", "Helpfulness (0–4)"],
            [list(row) for row in r.check_ins],
            widths=[16 * mm, 30 * mm, 18 * mm, 20 * mm, None],
        )
    )
    return story


def _risk_story(r: ProgressReport) -> list[Flowable]:
    """Risk history: PHQ-9 item 9 answers by date, and every alert with how it was handled."""
    story: list[Flowable] = [pdf.para("Risk history", "h2")]
    story.append(pdf.para("PHQ-9 item 9 (thoughts of being better off dead or of self-harm)", "h3"))
    if r.item9:
        story.append(
            pdf.table(["Date", "Answer"], [list(x) for x in r.item9], widths=[30 * mm, None])
        )
    else:
        story.append(pdf.para("No PHQ-9 item 9 answers in this period."))
    story.append(pdf.para("Alerts", "h3"))
    if not r.risk:
        story.append(pdf.para("No alerts in this period."))
    for a in r.risk:
        story.append(pdf.labelled(f"{a.opened:%d %b %Y} · {a.kind}:", a.detail))
        story.append(pdf.para(a.status, "small"))
    return story


def progress_report_pdf(r: ProgressReport) -> bytes:
    """The progress report as PDF bytes: a summary page, then charts and tables, then the
    appendix on statistics."""
    title = "My progress report" if r.for_client else "Progress report"
    period = f"{r.start:%d %b %Y} to {r.end:%d %b %Y}"
    story = title_block(title, r.header, period)
    story.append(pdf.para("What changed" if not r.for_client else "In short", "h2"))
    if r.measures and not r.for_client:
        nhs = (
            f" The {progress.NHS} outcome below combines PHQ-9 and GAD-7 by its own, "
            "different rules."
            if r.talking_therapies
            else ""
        )
        story.append(
            pdf.para(
                "Each questionnaire: change from its baseline to the latest score, with "
                f"{progress.JT} reliable change.{nhs}",
                "small",
            )
        )
    for line in r.summary:
        story.append(pdf.para(f"• {line}"))
    if not r.show_scores:
        story.append(
            pdf.para(
                "Your practice talks scores through in your sessions rather than printing "
                "them here. Ask your therapist how things are changing."
            )
        )
    if r.talking_therapies:
        story.append(pdf.para(f"{progress.NHS} outcome (a different convention)", "h3"))
        story.append(pdf.para(r.talking_therapies))
        story.append(pdf.para(progress.NHS_CONVENTION + ".", "small"))
    if not r.for_client:
        story += _screen_story(r.screen, r.earlier_screens)
    # The questionnaires follow on the same page: a chart moves to the next page (with its
    # heading) only when it does not fit; its table of every score may continue over a page.
    if r.measures:
        story.append(pdf.para("Questionnaires", "h2"))
    for m in r.measures:
        story.append(
            pdf.keep(
                pdf.para(f"{m.instrument}: {m.name}", "h3"),
                charts.drawing(m.chart, width=pdf.FRAME_WIDTH, height=170),
            )
        )
        story.append(
            pdf.table(
                ["", "Week", "Date", "Score", "Band"],
                [list(row) for row in m.rows],
                widths=[22 * mm, 14 * mm, 26 * mm, 20 * mm, pdf.FRAME_WIDTH - 82 * mm],
            )
        )
        if m.events:
            events = "; ".join(f"{d}: {t}" for d, t in m.events)
            story.append(pdf.para(f"Events: {events}.", "small"))
        story.append(pdf.gap(1))
        if m.reliable:
            story.append(pdf.labelled("Reliable change:", m.reliable))
        story += [pdf.para(m.words, "small"), pdf.gap(3)]
    story += _goals_story(r)
    story += _check_in_story(r)
    story.append(pdf.para("Homework by week", "h2"))
    if r.homework:
        story.append(
            pdf.table(
                ["Week", "Topic", "Set", "Sent", "Reviewed", "How much done", "Quality (0–4)"],
                [
                    (w.week, w.topic, w.set, w.sent, w.reviewed, w.done, w.quality)
                    for w in r.homework
                ],
                # Every header word fits its column (pdf.table widens one that would not).
                widths=[14 * mm, 50 * mm, 10 * mm, 12 * mm, 21 * mm, 27 * mm, None],
            )
        )
        story.append(
            pdf.para(
                "Quality is the therapist's rating at review on Bedrock's 0–4 scale (0 = not done, "
                "4 = excellent), informed by research on homework quality (Kazantzis, "
                "Whittington & Dattilio 2010, Clin Psychol Sci Pract 17:144–156).",
                "small",
            )
        )
    else:
        story.append(pdf.para("No homework in this period."))
    story.append(pdf.para("Attendance", "h2"))
    story.append(pdf.para(r.attendance))
    if r.sessions:
        story.append(pdf.para("Sessions (signed notes)", "h2"))
        story.append(
            pdf.table(
                ["Date", "Attendance", "Assessment"],
                [list(s) for s in r.sessions],
                widths=[24 * mm, 26 * mm, pdf.FRAME_WIDTH - 50 * mm],
            )
        )
    if not r.for_client:
        story += _risk_story(r)
    if r.discharge:
        story.append(pdf.para("Discharge", "h2"))
        story += [pdf.labelled(f"{label}:", text) for label, text in r.discharge]
    if r.statistics:
        story.append(PageBreak())
        heading = (
            "About the questionnaires"
            if r.for_client
            else "Appendix: how the figures are worked out"
        )
        story.append(pdf.para(heading, "h2"))
        for note in r.statistics:
            story.append(pdf.para(note.instrument, "h3"))
            story.append(pdf.para(note.text, "small"))
    return pdf.render(
        story,
        title=f"{title} {r.start:%Y-%m-%d} to {r.end:%Y-%m-%d}",
        footer=f"{CONFIDENTIAL} {title} · {period}",
    )
