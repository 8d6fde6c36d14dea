"""What the note editor shows beside the note: the week's homework answers, scores, check-ins
and alerts to quote from, and the homework the plan sets for the week ahead. As of the session
date, like the session summary it is read from: nothing after that date shows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from .. import episodes, questionnaires
from ..models import User
from ..timeutil import local_time


@dataclass(frozen=True)
class Quote:
    """One thing to quote: what the panel shows, the text it inserts and where by default."""

    label: str
    text: str
    target: str = "data"  # the note field it goes to unless the therapist is in another


@dataclass(frozen=True)
class SourceGroup:
    heading: str
    quotes: tuple[Quote, ...]
    empty: str  # what to say when there is nothing


@dataclass(frozen=True)
class NoteSources:
    session_date: dt.date
    since: dt.date | None
    groups: tuple[SourceGroup, ...]


def note_sources(db: Session, client: User, session_date: dt.date) -> NoteSources:
    """The week's material for a note of the session on `session_date`."""
    # session_summary loads ReportLab: on the first note page, not at start (clinic.warm)
    from .session_summary import gather_session_summary

    summary = gather_session_summary(db, client, session_date, None)
    homework = []
    for item in summary.homework:
        head = f"Week {item.week} · {item.title}: {item.state}"
        lines = [head, *(f"  {label}: {text}" for label, text in item.quotes)]
        lines += [f"  {label}: {text}" for label, text in item.figures]
        shown = head if not item.quotes else f"{head} ({len(item.quotes)} answers)"
        homework.append(Quote(shown, "\n".join(lines), "homework_reviewed"))
    scores = tuple(
        Quote(
            f"{s.instrument} {s.latest} ({s.band}), {s.on:%d %b}",
            f"{s.instrument} {s.latest} ({s.band}) on {s.on:%d %b %Y}; "
            + ("first score" if s.change == "First score" else f"{s.change}; {s.reliable}"),
        )
        for s in summary.scores
    )
    plan = episodes.episode(db, client, session_date)
    check_ins = []
    for c in questionnaires.check_in_series(db, client):
        day = local_time(c.created_at, client).date()
        if day > session_date or (plan is not None and c.plan_id != plan.id):
            continue
        if summary.since is not None and day <= summary.since:
            continue
        helpful = f", homework helpfulness {c.helpfulness}/4" if c.helpfulness is not None else ""
        words = (
            f"Check-in {day:%d %b} (week {c.week}): trust {c.trust}/10, distress {c.distress}/10"
        )
        text = words + helpful + (f'. "{c.note}"' if c.note else "")
        check_ins.append(Quote(words, text))
    alert_quotes = tuple(
        Quote(
            f"{a.kind}, {a.opened:%d %b}: {a.status.split(':')[0]}",
            f"Alert ({a.kind}) opened {a.opened:%d %b %Y}: {a.detail}. {a.status}.",
        )
        for a in summary.alerts
    )
    ahead = tuple(
        Quote(
            f"{title}, due {due:%d %b}",
            f"{title}, due {due:%d %b %Y}" + (f": {instruction}" if instruction else ""),
            "homework_set",
        )
        for title, due, instruction in summary.next_homework
    )
    since = f" since {summary.since:%d %b}" if summary.since else ""
    return NoteSources(
        session_date=session_date,
        since=summary.since,
        groups=(
            SourceGroup(f"Homework{since}", tuple(homework), "No homework due or sent."),
            SourceGroup("Scores", scores, "No questionnaire answered yet."),
            SourceGroup(f"Check-ins{since}", tuple(check_ins), "No check-in."),
            SourceGroup("Alerts", alert_quotes, "No alert."),
            SourceGroup("Homework the plan sets for the week ahead", ahead, "None planned."),
        ),
    )
