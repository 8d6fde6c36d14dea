"""A worksheet on paper: blank, to fill in by hand (ruled lines, boxes to tick, room for
numbers and dates), or filled with the client's answers. For a session without a screen, and
for clients who would rather write than type."""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Flowable
from sqlalchemy.orm import Session

from .. import answers as engine
from .. import pdf, plans
from ..library import Field, Section, Worksheet
from ..models import Assignment, User
from ..timeutil import local_time

LINE_GAP = 8.5 * mm  # room for handwriting between ruled lines
# How many ruled lines each kind of field gets on a blank page.
LINES = {"textarea": 4, "text": 1}
BLANK_ROWS = 2  # rows of a repeating section printed blank (people can add a sheet)


@dataclass(frozen=True)
class WorksheetPrint:
    """What a printed worksheet shows: the definition, and answers (None: a blank copy)."""

    worksheet: Worksheet
    name: str | None  # the client's name, or None for a copy not yet anyone's
    week: int | None
    due: dt.date | None
    answers: dict[str, Any] | None
    state: str | None = None  # "Sent 3 Mar 2026", "Draft (not sent yet)"


class WriteLines(Flowable):
    """Ruled lines to write on, the frame's full width."""

    def __init__(self, count: int, gap: float = LINE_GAP) -> None:
        super().__init__()
        self.count, self.gap = count, gap

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self.width = available_width
        return available_width, self.count * self.gap

    def draw(self) -> None:
        c = self.canv
        c.setStrokeColor(pdf.RULE)
        c.setLineWidth(0.6)
        for i in range(self.count):
            y = i * self.gap
            c.line(0, y, self.width, y)


class Boxes(Flowable):
    """Small boxes to write a number or a date in, with a word after each group."""

    def __init__(self, groups: list[tuple[int, str]], size: float = 7 * mm) -> None:
        super().__init__()
        self.groups, self.size = groups, size

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return available_width, self.size + 2 * mm

    def draw(self) -> None:
        c = self.canv
        c.setStrokeColor(pdf.MUTED)
        c.setLineWidth(0.6)
        c.setFont(pdf.BODY, 8)
        c.setFillColor(pdf.MUTED)
        x = 0.0
        for count, after in self.groups:
            for _ in range(count):
                c.rect(x, 0, self.size, self.size)
                x += self.size
            if after:
                c.drawString(x + 1.5 * mm, 2 * mm, after)
                x += pdf.width(after, 8) + 4 * mm
            else:
                x += 3 * mm


def _blank_field(f: Field) -> list[Flowable]:
    if f.type == "choice":
        return [pdf.para(f"☐ {label}") for _, label in f.choices]
    if f.type == "date":
        return [Boxes([(2, "day"), (2, "month"), (4, "year")])]
    if f.type == "integer":
        span = f"from {f.min} to {f.max}" if f.min is not None and f.max is not None else ""
        digits = len(str(f.max)) if f.max is not None else 3
        return [Boxes([(digits, span)])]
    return [pdf.gap(2), WriteLines(LINES.get(f.type, 2))]


def _filled_field(f: Field, value: Any) -> list[Flowable]:
    text = str(value or "").strip()
    if f.type == "choice":
        return [
            pdf.para(f"{'☒' if key == value else '☐'} {label}", bold=key == value)
            for key, label in f.choices
        ]
    if not text:
        return [pdf.para("Not filled in", "small")]
    if f.type == "date":
        with contextlib.suppress(ValueError):  # otherwise kept as typed
            text = f"{dt.date.fromisoformat(text):%a %d %b %Y}"
    return [pdf.para(text, "quote")]


def _field(f: Field, value: Any, blank: bool) -> list[Flowable]:
    head = [pdf.para(f.label, bold=True)]
    if f.help and blank:
        head.append(pdf.para(f.help, "small"))
    body = _blank_field(f) if blank else _filled_field(f, value)
    return [pdf.keep(*head, *body[:2]), *body[2:], pdf.gap(3)]


def _section(section: Section, rows: list[dict[str, Any]] | None) -> list[Flowable]:
    story: list[Flowable] = [pdf.para(section.title, "h2")]
    if section.intro:
        story.append(pdf.para(section.intro))
    blank = rows is None
    if not section.repeat:
        row = {} if blank else (rows or [{}])[0]
        for f in section.fields:
            story += _field(f, row.get(f.key), blank)
        return story
    shown = rows if rows else [{}] * max(section.min_rows, BLANK_ROWS)
    for i, row in enumerate(shown, start=1):
        story.append(pdf.para(f"{section.row_label} {i}", "h3"))
        for f in section.fields:
            story += _field(f, row.get(f.key), blank or not rows)
    return story


def worksheet_pdf(item: WorksheetPrint) -> bytes:
    """The printable worksheet, blank or filled."""
    ws = item.worksheet
    story: list[Flowable] = [pdf.para(ws.title, "title"), pdf.gap(2)]
    who = item.name or "Name: ______________________________"
    when = []
    if item.week is not None:
        when.append(f"Week {item.week}")
    if item.due is not None:
        when.append(f"due {item.due:%a %d %b %Y}")
    if item.state:
        when.append(item.state)
    story.append(pdf.para(" · ".join([who, *when])))
    story += [pdf.gap(2), pdf.para(ws.summary), pdf.gap(1), pdf.para(ws.instructions, "small")]
    answers = engine.normalise_raw(ws, item.answers) if item.answers else None
    for section in ws.sections:
        rows: list[dict[str, Any]] | None = None
        if answers is not None:
            found = answers.get(section.key)
            if not section.repeat:
                rows = [found or {}]
            else:  # the rows with something written in them
                rows = [r for r in found or [] if any(str(v or "").strip() for v in r.values())]
        story += _section(section, rows)
    kind = "filled in" if item.answers else "to fill in by hand"
    return pdf.render(
        story,
        title=f"{ws.title} ({kind})",
        footer=f"Bedrock · {ws.title} · {kind} · private: keep it somewhere safe",
    )


def for_assignment(
    db: Session, client: User, assignment: Assignment, *, blank: bool, drafts: bool
) -> WorksheetPrint:
    """One piece of homework to print: with the answers as they stand (a draft only when
    `drafts`, i.e. for the client who wrote it), or blank with the client's name on it."""
    sub = assignment.submission
    ws = plans.worksheet(db, assignment.worksheet_key, sub.worksheet_version if sub else None)
    shown = sub is not None and not blank and (drafts or sub.status != "draft")
    state = None
    if shown and sub is not None:
        if sub.status == "draft":
            state = "Draft, not sent yet"
        elif sub.submitted_at is not None:
            state = f"Sent {local_time(sub.submitted_at, client):%d %b %Y}"
    return WorksheetPrint(
        worksheet=ws,
        name=client.display_name,
        week=assignment.week,
        due=assignment.due_on,
        answers=sub.answers if shown and sub is not None and sub.answers else None,
        state=state,
    )
