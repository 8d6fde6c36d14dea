"""What both reports read and draw: the header, homework with its key answers, score lines with
reliable change, alerts, charts and the title block."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from reportlab.platypus import Flowable
from sqlalchemy.orm import Session

from .. import (
    accounts,
    alerts,
    charts,
    episodes,
    measures,
    pdf,
    plans,
    progress,
    questionnaires,
    tracking,
)
from .. import answers as engine
from ..models import Administration, Alert, Assignment, Plan, User
from ..timeutil import local_time

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
    latest: str  # "16", or "16 of 32" when an item did not apply
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


def header(db: Session, client: User, plan: Plan | None, on: dt.date) -> Header:
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


def homework_item(db: Session, client: User, assignment: Assignment, on: dt.date) -> HomeworkItem:
    sub = assignment.submission
    ws = plans.worksheet(db, assignment.worksheet_key, sub.worksheet_version if sub else None)
    quotes: tuple[tuple[str, str], ...] = ()
    figures: tuple[tuple[str, str], ...] = ()
    review = None
    submitted_on = None
    state = plans.homework_state_on(assignment, on, client)  # nothing sent after `on` shows
    if sub is not None and state in ("submitted", "reviewed"):
        # As sent by that day: a later correction is not quoted in an earlier summary.
        sent = plans.answers_as_of(sub, on, client)
        quotes = tuple(engine.key_answers(ws, sent))
        figures = tuple(
            (f.label, f"{f.value}{f'. {f.note}' if f.note else ''}")
            for f in engine.derived_figures(ws, sent)
        )
        submitted_on = local_time(sub.submitted_at, client).date() if sub.submitted_at else None
        if state == "reviewed":
            review = f"Done: {sub.completion or 'not rated'}; quality {sub.quality}/4"
            if sub.feedback:
                review += f". Feedback: {sub.feedback}"
    return HomeworkItem(
        week=assignment.week,
        title=ws.title,
        due=assignment.due_on,
        state=plans.THERAPIST_STATE_WORDS[state],
        submitted_on=submitted_on,
        quotes=quotes,
        figures=figures,
        review=review,
    )


def reliable_words(s: questionnaires.Summary) -> str:
    """The change verdict with its convention named: 'Jacobson–Truax: reliable improvement
    (RCI −2.31); recovered'."""
    if s.latest is s.baseline:
        return "One score so far"
    if s.rc is None:
        return "No reliable change index: no verified standard deviation on file"
    category = progress.CATEGORY_WORDS[s.category or "unchanged"].split(":")[0].lower()
    verdict = progress.RC_WORDS[s.rc.category].lower()
    return f"{progress.JT}: {verdict} (RCI {s.rc.rci:+.2f}); {category}"


def chart(
    inst: measures.Instrument,
    dated: list[tuple[dt.date, episodes.Score]],
    markers: tuple[tuple[dt.date, str], ...] = (),
    baseline: int | None = None,
    verdict: tracking.Verdict | None = None,
    plan: Plan | None = None,
) -> charts.Chart:
    return progress.instrument_chart(
        inst,
        dated,
        baseline=baseline,
        title=f"{inst.short_name} ({inst.min_total}–{inst.max_total})",
        cutoff_label=f"cut-off {inst.change.cutoff:g}",
        markers=markers,
        verdict=verdict,
        plan=plan,
    )


def alert_line(db: Session, client: User, alert: Alert, as_of: dt.date | None = None) -> AlertLine:
    """An alert and how it was handled, as it stood at the end of `as_of` (if given)."""
    acked = alert.acknowledged_at
    if acked is None or (as_of is not None and local_time(acked, client).date() > as_of):
        status = "Open"
    else:
        who = db.get(User, alert.acknowledged_by_id) if alert.acknowledged_by_id else None
        status = (
            f"Acknowledged {local_time(acked, client):%d %b %Y} by "
            f"{who.display_name if who else 'a former colleague'}: "
            + "; ".join(x for x in (alerts.acknowledgement_words(alert), alert.note) if x)
        )
    return AlertLine(
        opened=local_time(alert.opened_at, client).date(),
        kind=alerts.KIND_WORDS.get(alert.kind, alert.kind),
        detail=alert.detail,
        status=status,
    )


def title_block(title: str, h: Header, when: str) -> list[Flowable]:
    return [
        pdf.para(title, "title"),
        pdf.gap(1),
        pdf.labelled("Client:", h.client),
        pdf.labelled("Practice:", f"{h.practice} · Therapist: {h.therapist}"),
        pdf.labelled("Plan:", h.plan_line),
        pdf.labelled("Date:", when),
        pdf.gap(2),
    ]


def homework_flowables(items: tuple[HomeworkItem, ...]) -> list[Flowable]:
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


def administrations_in(db: Session, client: User) -> list[Administration]:
    """Every completed questionnaire of a client, oldest first (for exports)."""
    return list(
        db.scalars(
            sa.select(Administration)
            .where(Administration.client_id == client.id, Administration.completed_at.is_not(None))
            .order_by(Administration.completed_at, Administration.id)
        )
    )
