"""The progress-report PDF over the whole plan or chosen dates: a plain-words summary page, a chart
and a table of every score (baseline, mid-point and latest marked) per measure, the NHS Talking Therapies outcome,
homework by week and an appendix that explains every statistic with its sources."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, PageBreak
from sqlalchemy.orm import Session

from .. import charts, episodes, measures, notes, pdf, plans, progress, questionnaires
from ..models import Plan, SubmissionStatus, User
from .common import (
    ATTENDANCE_WORDS,
    CONFIDENTIAL,
    Header,
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
        dated = [(p.day, p) for p in course.scores]
        words = progress.client_words(inst, s) if for_client else progress.therapist_words(s)
        blocks.append(
            MeasureBlock(
                inst.short_name,
                inst.name,
                chart(inst, dated, markers, course.baseline.on_full_scale(inst)),
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
    if not summary:
        summary.append("No questionnaires answered and no homework set in this period yet.")
    sessions: tuple[tuple[str, str, str], ...] = ()
    if not for_client:
        sessions = tuple(
            (
                f"{n.session_date:%d %b %Y}",
                ATTENDANCE_WORDS.get(n.attendance, n.attendance),
                n.assessment or "",
            )
            for n in reversed(notes.notes_of(db, client))
            if n.status == "signed"
            and (first is None or n.session_date >= first)
            and n.session_date <= last
        )
    screens = [] if for_client else plans.screening.screens_of(db, client)
    screens = [x for x in screens if x.screened_on <= last]
    return ProgressReport(
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
        statistics=statistics_notes(for_client) if show_scores else (),
    )


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


def statistics_notes(for_client: bool = False) -> tuple[StatisticNote, ...]:
    """How each figure is computed, with the numbers and sources used (from the definitions).
    The client's copy explains the scores and bands only: no reliable-change statistics."""
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
    # The questionnaires follow on the same page: each chart with its table moves to the next
    # page only when it does not fit.
    if r.measures:
        story.append(pdf.para("Questionnaires", "h2"))
    for m in r.measures:
        story.append(
            pdf.keep(
                pdf.para(f"{m.instrument}: {m.name}", "h3"),
                charts.drawing(m.chart, width=pdf.FRAME_WIDTH, height=170),
                pdf.table(
                    ["", "Week", "Date", "Score", "Band"],
                    [list(row) for row in m.rows],
                    widths=[22 * mm, 14 * mm, 26 * mm, 14 * mm, pdf.FRAME_WIDTH - 76 * mm],
                ),
                *(
                    [
                        pdf.para(
                            "Events: " + "; ".join(f"{d}: {t}" for d, t in m.events) + ".", "small"
                        )
                    ]
                    if m.events
                    else []
                ),
                pdf.gap(1),
                pdf.labelled("Reliable change:", m.reliable),
                pdf.para(m.words, "small"),
                pdf.gap(3),
            )
        )
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
    if r.sessions:
        story.append(pdf.para("Sessions (signed notes)", "h2"))
        story.append(
            pdf.table(
                ["Date", "Attendance", "Assessment"],
                [list(s) for s in r.sessions],
                widths=[24 * mm, 26 * mm, pdf.FRAME_WIDTH - 50 * mm],
            )
        )
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
