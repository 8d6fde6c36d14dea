"""The session-summary PDF: homework since the last session with its key answers quoted, scores
with band and change, alerts, the note and its addenda, next week's homework and a signature
line."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Table, TableStyle
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
)
from ..models import SessionNote, User
from ..timeutil import local_time
from .common import (
    ATTENDANCE_WORDS,
    CONFIDENTIAL,
    FORMAT_WORDS,
    NOTE_HEADINGS,
    AlertLine,
    Header,
    HomeworkItem,
    ScoreLine,
    alert_line,
    chart,
    header,
    homework_flowables,
    homework_item,
    reliable_words,
    title_block,
)


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
    # The client's own goals as they stood on the session date.
    goals: tuple[goals.GoalView, ...] = ()


def gather_session_summary(
    db: Session, client: User, session_date: dt.date, note: SessionNote | None
) -> SessionSummary:
    """What the summary of one session shows, read from the record as it stands."""
    plan = episodes.episode(db, client, session_date)
    plans.preload_homework(db, plan)
    since, due = notes.homework_window(db, client, plan, session_date)
    homework = tuple(homework_item(db, client, a, session_date) for a in due)
    scores, drawn = [], []
    for code, course in episodes.courses(db, client, plan, until=session_date).items():
        inst = measures.instrument(code)
        s = questionnaires.summarise(course)
        dated = [(p.day, p) for p in course.scores]
        scores.append(
            ScoreLine(
                instrument=inst.short_name,
                latest=s.latest.shown,
                band=s.band,
                on=dated[-1][0],
                change="First score"
                if s.latest is s.baseline
                else f"Baseline {s.baseline.shown}, change {s.change:+d}",
                reliable=reliable_words(s),
            )
        )
        drawn.append(chart(inst, dated))
    client_alerts = [
        a
        for a in alerts.client_alerts(db, client)
        if local_time(a.opened_at, client).date() <= session_date
        and (
            a.acknowledged_at is None
            or local_time(a.acknowledged_at, client).date() > session_date  # open that day
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
        header=header(db, client, plan, session_date),
        session_date=session_date,
        since=since,
        homework=homework,
        scores=tuple(scores),
        charts=tuple(drawn),
        alerts=tuple(alert_line(db, client, a, as_of=session_date) for a in client_alerts),
        note=block,
        next_homework=next_homework,
        goals=tuple(g for g in goals.views(db, plan, as_of=session_date) if g.active),
    )


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
    story: list[Flowable] = title_block(
        "Session summary", s.header, f"{s.session_date:%A %d %B %Y}"
    )
    window = f"since the last session ({s.since:%d %b %Y})" if s.since else "so far"
    story.append(pdf.para(f"Homework {window}", "h2"))
    story += homework_flowables(s.homework) or [pdf.para("No homework was due or sent.")]
    story.append(pdf.para("Questionnaire scores", "h2"))
    if s.scores:
        story.append(
            pdf.table(
                [
                    "Measure",
                    "Latest",
                    "Band",
                    "Change since baseline",
                    f"Reliable change ({progress.JT})",
                ],
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
    if s.goals:
        story.append(pdf.para("The client's goals", "h2"))
        story.append(
            pdf.table(
                ["Goal", "First rating", "Latest rating", "Change"],
                [
                    (
                        f"{g.number}. {g.wording}",
                        f"{g.first.value} ({g.first.day:%d %b})" if g.first else "not rated",
                        f"{g.latest.value} ({g.latest.day:%d %b})" if g.latest else "",
                        "" if g.change is None else f"{g.change:+d}: {g.verdict}",
                    )
                    for g in s.goals
                ],
                widths=[None, 28 * mm, 28 * mm, 40 * mm],
            )
        )
        story.append(pdf.para(f"Ratings 0-10, the client's own. {goals.CONVENTION}.", "small"))
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
