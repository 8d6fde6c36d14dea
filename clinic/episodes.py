"""An episode of care and its scores, defined once.

An episode is one plan: a client referred again starts a new plan, and nothing mixes two.
Within an episode, each measure has a *course*: every score, oldest first, and three picks
that every surface uses (record page, charts, note pre-fill, session summary, progress report,
deterioration alerts, dashboard, CSV):

- the **baseline** is the administration given in the plan's baseline slot (the first, if
  there are several), or else the first score of the episode, whatever its date relative to
  the first session;
- the **mid-point** is the administration of the mid-point slot, or else the score closest to
  week 6 strictly between baseline and latest; there is none with fewer than three scores;
- the **latest** is the most recent score.

"As of" a day, only scores completed on or before that day (in the client's time zone) count,
so a note, a summary or a report never shows what came after its date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import measures
from .models import Administration, Plan, User
from .timeutil import local_time

MIDPOINT_WEEK = 6


@dataclass(frozen=True)
class Score:
    """One completed administration, as the course of a measure reads it."""

    when: dt.datetime  # completed, UTC
    day: dt.date  # completed, the client's local date
    value: int
    week: int | None
    slot: str
    id: int = 0
    out_of: int | None = None  # what `value` is out of when an item did not apply

    @property
    def shown(self) -> str:
        """The score as people read it: "16", or "16 of 32" when an item did not apply."""
        return measures.total_words(self.value, self.out_of)

    def on_full_scale(self, inst: measures.Instrument) -> int:
        """The score on the instrument's full scale (prorated when an item did not apply), so
        that it sits in its band on a chart and compares with full-scale scores."""
        return inst.on_full_scale(self.value, self.out_of)


@dataclass(frozen=True)
class Course:
    """One measure over an episode (up to an as-of day): every score and the three picks."""

    code: str
    scores: tuple[Score, ...]
    baseline: Score
    midpoint: Score | None
    latest: Score

    @property
    def single(self) -> bool:
        """Only one score so far: no change can be worked out."""
        return self.latest is self.baseline

    def role(self, score: Score) -> str:
        """'baseline', 'midpoint', 'latest' or '' for one of this course's scores."""
        if score is self.baseline:
            return "baseline"
        if score is self.midpoint:
            return "midpoint"
        return "latest" if score is self.latest else ""


def course(code: str, scores: Iterable[Score]) -> Course | None:
    """The course of one measure from its scores (any order): the one rule for baseline,
    mid-point and latest."""
    ordered = sorted(scores, key=lambda s: (s.when, s.id))
    if not ordered:
        return None
    baseline = next((s for s in ordered if s.slot == "baseline"), ordered[0])
    latest = ordered[-1]
    inner = ordered[ordered.index(baseline) + 1 : -1]
    midpoint = next((s for s in inner if s.slot == "midpoint"), None)
    if midpoint is None:
        midpoint = min(
            (s for s in inner if s.week is not None),
            key=lambda s: abs((s.week or 0) - MIDPOINT_WEEK),
            default=None,
        )
    return Course(code, tuple(ordered), baseline, midpoint, latest)


def episode(db: Session, client: User, on: dt.date | None = None) -> Plan | None:
    """The plan a day belongs to: the newest plan started on or before it (the open or the
    latest plan, without a day)."""
    plans = db.scalars(
        sa.select(Plan).where(Plan.client_id == client.id).order_by(Plan.created_at, Plan.id)
    ).all()
    if on is not None:
        plans = [p for p in plans if local_time(p.created_at, client).date() <= on]
    open_ = [p for p in plans if p.status != "finished"]
    candidates = open_ or plans
    return candidates[-1] if candidates else None


def score_rows(
    db: Session,
    client_ids: Sequence[int] | sa.ScalarSelect[int],
    codes: Sequence[str] | None = None,
) -> sa.Result[int, int | None, str, int, dt.datetime, int | None, str, int, int | None]:
    """Every completed administration of these clients (ids, or a subquery that selects them)
    (client, plan, instrument, total, completed, week, slot, id, out of), oldest first, in one
    query."""
    stmt = sa.select(
        Administration.client_id,
        Administration.plan_id,
        Administration.instrument_code,
        Administration.total,
        Administration.completed_at,
        Administration.week,
        Administration.slot,
        Administration.id,
        Administration.out_of,
    ).where(Administration.client_id.in_(client_ids), Administration.completed_at.is_not(None))
    if codes is not None:
        stmt = stmt.where(Administration.instrument_code.in_(codes))
    # Columns through the connection: Core rows, without the ORM's per-row bookkeeping.
    return db.connection().execute(stmt.order_by(Administration.completed_at, Administration.id))


def scores_of(
    db: Session, clients: Sequence[User], plan_ids: dict[int, int | None]
) -> dict[int, dict[str, list[Score]]]:
    """Every completed score of each client's episode (plan id, or None for scores outside
    any plan), per measure, oldest first: one query for any number of clients."""
    if not clients:
        return {}
    by_id = {c.id: c for c in clients}
    out: dict[int, dict[str, list[Score]]] = {c.id: {} for c in clients}
    for client_id, plan_id, code, total, when, week, slot, row_id, out_of in score_rows(
        db, list(by_id)
    ):
        if plan_id != plan_ids.get(client_id):
            continue
        day = local_time(when, by_id[client_id]).date()
        score = Score(when, day, total, week, slot, row_id, out_of)
        out[client_id].setdefault(code, []).append(score)
    return out


def courses(
    db: Session,
    client: User,
    plan: Plan | None,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> dict[str, Course]:
    """The course of every measure the client answered in an episode, in instrument order;
    with `until`, as of that day; with `since`, from that day."""
    found = scores_of(db, [client], {client.id: plan.id if plan else None})[client.id]
    out = {}
    for code in measures.instruments():
        kept = [
            s
            for s in found.get(code, [])
            if (until is None or s.day <= until) and (since is None or s.day >= since)
        ]
        c = course(code, kept)
        if c is not None:
            out[code] = c
    return out
