"""The session-summary PDF and the progress report.

Each report is made in two steps: `gather_*` reads the record into plain dataclasses (dates,
numbers and text, nothing bound to the database), and `*_pdf` turns those into bytes with
ReportLab and nothing else, so the same data always gives the same bytes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, PageBreak, Table, TableStyle
from sqlalchemy.orm import Session

from . import accounts, alerts, charts, measures, notes, pdf, plans, progress, questionnaires
from . import answers as engine
from .models import Administration, Alert, Assignment, Plan, SessionNote, SubmissionStatus, User
from .timeutil import local_time

CONFIDENTIAL = "Confidential: contains health information about the person named."
ATTENDANCE_WORDS = {
    "attended": "Attended",
    "cancelled": "Cancelled",
    "did_not_attend": "Did not attend",
}
FORMAT_WORDS = {"in_person": "In person", "video": "Video", "phone": "Phone"}
NOTE_HEADINGS = (
    ("data", "Data"),
    ("assessment", "Assessment"),
    ("plan", "Plan"),
    ("homework_reviewed", "Homework reviewed"),
    ("homework_set", "Homework set for next week"),
)


# --- what both reports read -------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    practice: str
    therapist: str
    client: str
    plan_line: str  # e.g. "Week 4 of 12 · Foundations: ..." or "No plan"


@dataclass(frozen=True)
class HomeworkItem:
    week: int
    title: str
    due: dt.date
    state: str
    submitted_on: dt.date | None
    quotes: tuple[tuple[str, str], ...]
    figures: tuple[tuple[str, str], ...]
    review: str | None  # completion and quality, with the feedback


@dataclass(frozen=True)
class ScoreLine:
    instrument: str
    latest: int
    band: str
    on: dt.date
    change: str  # "baseline 18, change −6" or "first score"
    reliable: str  # reliable change words, or why there are none


@dataclass(frozen=True)
class AlertLine:
    opened: dt.date
    kind: str
    detail: str
    status: str


def _header(db: Session, client: User, plan: Plan | None, on: dt.date) -> Header:
    therapist = accounts.therapist_of(db, client)
    if plan is None:
        line = "No plan in progress"
    else:
        program = plans.program_of(db, plan)
        where = plans.position(plan, on)
        week = program.week(where.week)
        status = {"paused": " (paused)", "finished": " (finished)"}.get(plan.status, "")
        line = f"Week {where.week} of {plans.WEEKS}{status} · {week.phase}: {week.topic}"
    return Header(
        practice=client.practice.name,
        therapist=therapist.display_name if therapist else "No therapist in care",
        client=client.display_name,
        plan_line=line,
    )


def _homework_item(db: Session, client: User, assignment: Assignment, on: dt.date) -> HomeworkItem:
    sub = assignment.submission
    ws = plans.worksheet(db, assignment.worksheet_key, sub.worksheet_version if sub else None)
    quotes: tuple[tuple[str, str], ...] = ()
    figures: tuple[tuple[str, str], ...] = ()
    review = None
    submitted_on = None
    if sub is not None and sub.status != SubmissionStatus.DRAFT.value:
        quotes = tuple(engine.key_answers(ws, sub.answers))
        figures = tuple(
            (f.label, f"{f.value}{f'. {f.note}' if f.note else ''}")
            for f in engine.derived_figures(ws, sub.answers)
        )
        submitted_on = local_time(sub.submitted_at, client).date() if sub.submitted_at else None
        if sub.status == SubmissionStatus.REVIEWED.value:
            review = f"Done: {sub.completion or 'not rated'}; quality {sub.quality}/4"
            if sub.feedback:
                review += f". Feedback: {sub.feedback}"
    return HomeworkItem(
        week=assignment.week,
        title=ws.title,
        due=assignment.due_on,
        state=plans.THERAPIST_STATE_WORDS[plans.homework_state(assignment, on)],
        submitted_on=submitted_on,
        quotes=quotes,
        figures=figures,
        review=review,
    )


def _points_until(
    db: Session, client: User, start: dt.date | None, end: dt.date
) -> dict[str, list[tuple[dt.date, questionnaires.Point]]]:
    out: dict[str, list[tuple[dt.date, questionnaires.Point]]] = {}
    for code, points in questionnaires.series(db, client).items():
        for p in points:
            day = local_time(p.when, client).date()
            if day <= end and (start is None or day >= start):
                out.setdefault(code, []).append((day, p))
    return out


def _reliable_words(s: questionnaires.Summary) -> str:
    if s.latest is s.baseline:
        return "One score so far"
    if s.rc is None:
        return "No reliable change index: no verified standard deviation on file"
    category = progress.CATEGORY_WORDS[s.category or "unchanged"].split(":")[0]
    return f"{progress.RC_WORDS[s.rc.category]} (RCI {s.rc.rci:+.2f}); {category}"


def _chart(
    inst: measures.Instrument, dated: list[tuple[dt.date, questionnaires.Point]]
) -> charts.Chart:
    return charts.Chart(
        title=f"{inst.short_name} ({inst.min_total}–{inst.max_total})",
        y_label="Total score",
        y_min=inst.min_total,
        y_max=inst.max_total,
        points=tuple(charts.ChartPoint(d, p.value) for d, p in dated),
        bands=tuple(charts.ChartBand(b.low, b.high, b.label) for b in inst.bands),
        cutoff=inst.change.cutoff,
        cutoff_label=f"cut-off {inst.change.cutoff:g}",
        baseline=dated[0][1].value,
    )


def _alert_line(db: Session, client: User, alert: Alert) -> AlertLine:
    if alert.acknowledged_at is None:
        status = "Open"
    else:
        who = db.get(User, alert.acknowledged_by_id) if alert.acknowledged_by_id else None
        status = (
            f"Acknowledged {local_time(alert.acknowledged_at, client):%d %b %Y} by "
            f"{who.display_name if who else 'a former colleague'}: {alert.note}"
        )
    return AlertLine(
        opened=local_time(alert.opened_at, client).date(),
        kind=alerts.KIND_WORDS.get(alert.kind, alert.kind),
        detail=alert.detail,
        status=status,
    )


# --- session summary --------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteBlock:
    status: str  # "Signed by X on date" or "Draft, not signed"
    signed: bool
    attendance: str
    sections: tuple[tuple[str, str], ...]
    addenda: tuple[tuple[str, str], ...]  # (who and when, text)


@dataclass(frozen=True)
class SessionSummary:
    header: Header
    session_date: dt.date
    since: dt.date | None
    homework: tuple[HomeworkItem, ...]
    scores: tuple[ScoreLine, ...]
    charts: tuple[charts.Chart, ...]
    alerts: tuple[AlertLine, ...]
    note: NoteBlock | None
    next_homework: tuple[tuple[str, dt.date, str], ...]  # title, due, instruction


def gather_session_summary(
    db: Session, client: User, session_date: dt.date, note: SessionNote | None
) -> SessionSummary:
    """What the summary of one session shows, read from the record as it stands."""
    plan = plans.open_plan(db, client)
    plans.preload_homework(db, plan)
    since, due = notes.homework_window(db, client, plan, session_date)
    homework = tuple(_homework_item(db, client, a, session_date) for a in due)
    scores, drawn = [], []
    for code, dated in _points_until(db, client, None, session_date).items():
        inst = measures.instrument(code)
        s = questionnaires.summarise(code, [p for _, p in dated])
        scores.append(
            ScoreLine(
                instrument=inst.short_name,
                latest=s.latest.value,
                band=s.band,
                on=dated[-1][0],
                change="First score"
                if s.latest is s.baseline
                else f"Baseline {s.baseline.value}, change {s.change:+d}",
                reliable=_reliable_words(s),
            )
        )
        drawn.append(_chart(inst, dated))
    client_alerts = [
        a
        for a in alerts.client_alerts(db, client)
        if local_time(a.opened_at, client).date() <= session_date
        and (
            a.acknowledged_at is None
            or since is None
            or local_time(a.opened_at, client).date() > since
        )
    ]
    block = None
    if note is not None:
        author = db.get(User, note.therapist_id) if note.therapist_id else None
        signed = note.status == "signed" and note.signed_at is not None
        block = NoteBlock(
            status=(
                f"Signed by {author.display_name if author else 'a former colleague'} on "
                f"{local_time(note.signed_at, client):%d %b %Y at %H:%M %Z}"
                if signed and note.signed_at
                else "Draft: not signed"
            ),
            signed=signed,
            attendance=(
                f"{ATTENDANCE_WORDS.get(note.attendance, note.attendance)} · "
                f"{FORMAT_WORDS.get(note.format, note.format)} · {note.duration_minutes} minutes"
            ),
            sections=tuple((heading, getattr(note, name) or "") for name, heading in NOTE_HEADINGS),
            addenda=tuple(
                (
                    f"Addendum, {local_time(a.created_at, client):%d %b %Y %H:%M %Z}",
                    a.text,
                )
                for a in note.addenda
            ),
        )
    next_homework: tuple[tuple[str, dt.date, str], ...] = ()
    if plan is not None:
        week = plans.position(plan, session_date).week
        next_homework = tuple(
            (plans.worksheet(db, a.worksheet_key).title, a.due_on, a.instruction or "")
            for a in plan.assignments
            if a.week == week and a.removed_at is None
        )
    return SessionSummary(
        header=_header(db, client, plan, session_date),
        session_date=session_date,
        since=since,
        homework=homework,
        scores=tuple(scores),
        charts=tuple(drawn),
        alerts=tuple(_alert_line(db, client, a) for a in client_alerts),
        note=block,
        next_homework=next_homework,
    )


def _title_block(title: str, h: Header, when: str) -> list[Flowable]:
    return [
        pdf.para(title, "title"),
        pdf.gap(1),
        pdf.labelled("Client:", h.client),
        pdf.labelled("Practice:", f"{h.practice} · Therapist: {h.therapist}"),
        pdf.labelled("Plan:", h.plan_line),
        pdf.labelled("Date:", when),
        pdf.gap(2),
    ]


def _homework_flowables(items: tuple[HomeworkItem, ...]) -> list[Flowable]:
    out: list[Flowable] = []
    for item in items:
        head = f"Week {item.week} · {item.title} (due {item.due:%d %b %Y}): {item.state}"
        if item.submitted_on:
            head += f", sent {item.submitted_on:%d %b %Y}"
        block: list[Flowable] = [pdf.para(head, "h3")]
        for label, value in item.figures:
            block.append(pdf.labelled(f"{label}:", value, "quote"))
        for label, value in item.quotes:
            shown = value if value.isdigit() else f"“{value}”"
            block.append(pdf.labelled(f"{label}:", shown, "quote"))
        if item.review:
            block.append(pdf.para(item.review, "small"))
        out.append(pdf.keep(*block[:3]))
        out.extend(block[3:])
    return out


def _small_charts(drawn: tuple[charts.Chart, ...]) -> list[Flowable]:
    if not drawn:
        return []
    width = pdf.FRAME_WIDTH / 2 - 2 * mm
    cells = [charts.drawing(c, width=width, height=110) for c in drawn]
    rows = [cells[i : i + 2] + [""] * (2 - len(cells[i : i + 2])) for i in range(0, len(cells), 2)]
    t = Table(rows, colWidths=[pdf.FRAME_WIDTH / 2] * 2, hAlign="LEFT")
    t.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("FONTNAME", (0, 0), (-1, -1), pdf.BODY)])
    )
    return [t]


def session_summary_pdf(s: SessionSummary) -> bytes:
    """The session summary as PDF bytes."""
    story: list[Flowable] = _title_block(
        "Session summary", s.header, f"{s.session_date:%A %d %B %Y}"
    )
    window = f"since the last session ({s.since:%d %b %Y})" if s.since else "so far"
    story.append(pdf.para(f"Homework {window}", "h2"))
    story += _homework_flowables(s.homework) or [pdf.para("No homework was due or sent.")]
    story.append(pdf.para("Questionnaire scores", "h2"))
    if s.scores:
        story.append(
            pdf.table(
                ["Measure", "Latest", "Band", "Change since baseline", "Reliable change"],
                [
                    (x.instrument, f"{x.latest} ({x.on:%d %b})", x.band, x.change, x.reliable)
                    for x in s.scores
                ],
                widths=[22 * mm, 24 * mm, 30 * mm, 38 * mm, pdf.FRAME_WIDTH - 114 * mm],
            )
        )
        story.append(pdf.gap(2))
        story += _small_charts(s.charts)
        story.append(pdf.para(progress.RCI_CONVENTION + ".", "small"))
    else:
        story.append(pdf.para("No questionnaires answered yet."))
    story.append(pdf.para("Alerts", "h2"))
    if s.alerts:
        story.append(
            pdf.table(
                ["Opened", "Alert", "Detail", "Status"],
                [(f"{a.opened:%d %b %Y}", a.kind, a.detail, a.status) for a in s.alerts],
                widths=[22 * mm, 34 * mm, 40 * mm, pdf.FRAME_WIDTH - 96 * mm],
            )
        )
    else:
        story.append(pdf.para("No open alerts and none since the last session."))
    story.append(pdf.para("Session note", "h2"))
    if s.note is None:
        story.append(pdf.para("No session note has been written for this date."))
    else:
        story.append(pdf.para(f"{s.note.status} · {s.note.attendance}", "small"))
        for heading, body in s.note.sections:
            story.append(pdf.para(heading, "h3"))
            story.append(pdf.para(body or "(left blank)"))
        for when, body in s.note.addenda:
            story.append(pdf.para(when, "h3"))
            story.append(pdf.para(body))
    story.append(pdf.para("Homework set for the coming week", "h2"))
    if s.next_homework:
        for title, due, instruction in s.next_homework:
            story.append(pdf.labelled(f"{title}, due {due:%d %b %Y}.", instruction))
    else:
        story.append(pdf.para("No worksheet set in the plan for the coming week."))
    story.append(pdf.gap(10))
    signed = s.note is not None and s.note.signed
    story.append(
        pdf.para(
            s.note.status
            if signed and s.note
            else "Signature: ______________________    Date: ____________",
        )
    )
    return pdf.render(
        story,
        title=f"Session summary {s.session_date:%Y-%m-%d}",
        footer=f"{CONFIDENTIAL} Session summary · {s.session_date:%d %b %Y}",
    )


# --- progress report --------------------------------------------------------------------------


@dataclass(frozen=True)
class MeasureBlock:
    instrument: str
    name: str
    chart: charts.Chart
    rows: tuple[tuple[str, str, str, str], ...]  # label, date, score, band
    reliable: str
    words: str


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


def _midpoint(dated: list[tuple[dt.date, questionnaires.Point]]) -> int | None:
    """The mid-point score: the one given closest to week 6 (the program's mid-point battery),
    neither the first nor the last."""
    inner = [i for i in range(1, len(dated) - 1) if dated[i][1].week is not None]
    if not inner:
        return None
    return min(inner, key=lambda i: abs((dated[i][1].week or 0) - 6))


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
    plan = plans.open_plan(db, client) or plans.latest_plan(db, client)
    plans.preload_homework(db, plan)
    first = start or (plan.first_session if plan else None)
    last = end or today
    show_scores = not for_client or client.practice.clients_see_scores
    blocks, summary = [], []
    dated_series = _points_until(db, client, first, last)
    for code, inst in measures.instruments().items():
        dated = dated_series.get(code)
        if not dated:
            continue
        points = [p for _, p in dated]
        s = questionnaires.summarise(code, points)
        mid = _midpoint(dated)
        picks = [("Baseline", 0)] + ([("Mid-point", mid)] if mid is not None else [])
        if len(dated) > 1:
            picks.append(("Latest", len(dated) - 1))
        rows = tuple(
            (
                label,
                f"{dated[i][0]:%d %b %Y}",
                str(dated[i][1].value),
                inst.band_for(dated[i][1].value).label,
            )
            for label, i in picks
        )
        words = progress.client_words(inst, s) if for_client else progress.therapist_words(s)
        blocks.append(
            MeasureBlock(
                inst.short_name, inst.name, _chart(inst, dated), rows, _reliable_words(s), words
            )
        )
        if s.latest is s.baseline:
            summary.append(f"{inst.short_name}: one score so far, {s.latest.value} ({s.band}).")
        else:
            rc = "" if for_client else f" {_reliable_words(s)}."
            summary.append(
                f"{inst.short_name} ({inst.about}) went from {s.baseline.value} to "
                f"{s.latest.value} ({s.band}); {s.direction_words}.{rc}"
            )
    outcome = None
    phq, gad = dated_series.get("phq9", []), dated_series.get("gad7", [])
    if len(phq) > 1 and len(gad) > 1:
        o = measures.talking_therapies_outcome(
            phq[0][1].value, phq[-1][1].value, gad[0][1].value, gad[-1][1].value
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
    return ProgressReport(
        header=_header(db, client, plan, min(today, last)),
        start=first or last,
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
        statistics=statistics_notes() if show_scores else (),
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
    if o.recovery is not None:
        verdict.append("recovered" if o.recovery else "not recovered")
    if o.reliable_recovery:
        verdict.append("reliable recovery")
    return f"{start}: {', '.join(verdict)}."


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


def statistics_notes() -> tuple[StatisticNote, ...]:
    """How each figure is computed, with the numbers and sources used (from the definitions)."""
    out = []
    for inst in measures.instruments().values():
        c = inst.change
        if c.sd is None:
            rc = (
                "No reliable change index is computed: no verified standard deviation is on "
                f"file. ({c.sd_source})"
            )
        else:
            threshold = 1.96 * c.sd * (2 * (1 - c.reliability)) ** 0.5
            rc = (
                f"Reliable change (Jacobson & Truax 1991): S_diff = SD × √2 × √(1 − r) = "
                f"{c.sd:g} × √2 × √(1 − {c.reliability:g}) = {threshold / 1.96:.2f}; "
                f"RCI = (latest − baseline) / S_diff, reliable when |RCI| > 1.96, that is a "
                f"change of more than {threshold:.2f} points. SD source: {c.sd_source} "
                f"Reliability source: {c.reliability_source}"
            )
        out.append(
            StatisticNote(
                inst.short_name,
                f"{inst.name}: total {inst.min_total}–{inst.max_total}, "
                f"{'higher' if inst.higher_is_better else 'lower'} is better. Bands: "
                + ", ".join(f"{b.low}–{b.high} {b.label}" for b in inst.bands)
                + f". Clinical cut-off {c.cutoff:g} ({c.cutoff_source}) {rc} "
                f"Categories: recovered = reliable improvement and past the cut-off; improved = "
                f"reliable improvement only; unchanged; deteriorated = reliable deterioration. "
                f"Reference: {inst.citation}",
            )
        )
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


def progress_report_pdf(r: ProgressReport) -> bytes:
    """The progress report as PDF bytes: a summary page, then charts and tables, then the
    appendix on statistics."""
    title = "My progress report" if r.for_client else "Progress report"
    period = f"{r.start:%d %b %Y} to {r.end:%d %b %Y}"
    story = _title_block(title, r.header, period)
    story.append(pdf.para("What changed" if not r.for_client else "In short", "h2"))
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
        story.append(pdf.para("NHS Talking Therapies outcome", "h3"))
        story.append(pdf.para(r.talking_therapies))
        story.append(pdf.para(progress.NHS_CONVENTION + ".", "small"))
    story.append(PageBreak())
    if r.measures:
        story.append(pdf.para("Questionnaires", "h2"))
    for m in r.measures:
        story.append(
            pdf.keep(
                pdf.para(f"{m.instrument}: {m.name}", "h3"),
                charts.drawing(m.chart, width=pdf.FRAME_WIDTH, height=170),
                pdf.table(
                    ["", "Date", "Score", "Band"],
                    [list(row) for row in m.rows],
                    widths=[28 * mm, 32 * mm, 20 * mm, pdf.FRAME_WIDTH - 80 * mm],
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
                widths=[12 * mm, 56 * mm, 10 * mm, 11 * mm, 17 * mm, 30 * mm, None],
            )
        )
        story.append(
            pdf.para(
                "Quality is rated by the therapist at review (0 = not done to 4 = excellent; "
                "Kazantzis et al.'s homework rating).",
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
        story.append(pdf.para("Appendix: how the figures are worked out", "h2"))
        for note in r.statistics:
            story.append(pdf.para(note.instrument, "h3"))
            story.append(pdf.para(note.text, "small"))
    return pdf.render(
        story,
        title=f"{title} {r.start:%Y-%m-%d} to {r.end:%Y-%m-%d}",
        footer=f"{CONFIDENTIAL} {title} · {period}",
    )


def administrations_in(db: Session, client: User) -> list[Administration]:
    """Every completed questionnaire of a client, oldest first (for exports)."""
    return list(
        db.scalars(
            sa.select(Administration)
            .where(Administration.client_id == client.id, Administration.completed_at.is_not(None))
            .order_by(Administration.completed_at, Administration.id)
        )
    )
