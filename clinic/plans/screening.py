"""The suitability and safety screen: recorded by the therapist before a plan may start, and
again at any time. The newest screen decides: no screen, or 'not suitable', and no plan starts;
'suitable with changes' leaves out or adapts the partner-facing weeks it names, in the plan
that starts and in an open plan's weeks still to come."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .. import answers
from ..db import utcnow
from ..library import WEEK_CHANGES, Worksheet, library, parse_screen
from ..models import Assignment, ContentSnapshot, Plan, PlanStatus, Screen, User
from .definitions import WEEKS, InvalidAnswers, PlanError, program_of, record_snapshot
from .schedule import default_due, position

OUTCOME_WORDS = {
    "suitable": "Suitable",
    "with_changes": "Suitable with changes",
    "not_suitable": "Not suitable",
}
CHANGE_WORDS = {"adapted": "adapted (not towards a partner)", "left_out": "left out"}
# Areas with a concern are listed first: a concern now, then not yet known, then the past.
CONCERN_ORDER = {"now": 0, "unknown": 1, "past": 2}

NO_SCREEN = (
    "Record the suitability and safety screen first: a plan cannot start until the screen is "
    "recorded."
)
NOT_SUITABLE = (
    "The latest suitability and safety screen found this plan not suitable, so it cannot "
    "start. Screen again if things have changed."
)


def definition(db: Session, version: int | None = None) -> Worksheet:
    """The screen's definition: the current one, or the exact version a screen was made with."""
    current = library().screen
    if version is None or version == current.version:
        return current
    snap = db.scalar(
        sa.select(ContentSnapshot).where(
            ContentSnapshot.kind == "screen",
            ContentSnapshot.key == current.key,
            ContentSnapshot.version == version,
        )
    )
    if snap is None:
        raise PlanError(f"The screen definition version {version} is not available.")
    return _parsed(snap.sha256, json.dumps(snap.body, sort_keys=True))


@lru_cache(maxsize=16)
def _parsed(sha: str, body_json: str) -> Worksheet:
    return parse_screen(json.loads(body_json), f"stored screen {sha[:12]}")


def latest(db: Session, client: User) -> Screen | None:
    """The client's newest screen, the one that decides."""
    return db.scalar(
        sa.select(Screen)
        .where(Screen.client_id == client.id)
        .order_by(Screen.screened_on.desc(), Screen.id.desc())
        .limit(1)
    )


def screens_of(db: Session, client: User) -> list[Screen]:
    """Every screen of the client, newest first."""
    return list(
        db.scalars(
            sa.select(Screen)
            .where(Screen.client_id == client.id)
            .order_by(Screen.screened_on.desc(), Screen.id.desc())
        )
    )


def find(db: Session, client_id: int, screen_id: int) -> Screen | None:
    """One screen of this client, or None (the ownership filter is in the query)."""
    return db.scalar(sa.select(Screen).where(Screen.id == screen_id, Screen.client_id == client_id))


def required_for_plan(db: Session, client: User) -> Screen:
    """The screen a new plan follows; refuses when there is none or it says 'not suitable'."""
    screen = latest(db, client)
    if screen is None:
        raise PlanError(NO_SCREEN, "screen")
    if screen.outcome == "not_suitable":
        raise PlanError(NOT_SUITABLE, "screen")
    return screen


def _week_changes(ws: Worksheet, clean: dict[str, Any]) -> dict[str, str]:
    outcome = clean.get("outcome") or {}
    if outcome.get("outcome") != "with_changes":
        return {}
    changes = {}
    for f in ws.section("outcome").fields:
        if f.key.startswith("week_") and outcome.get(f.key) in WEEK_CHANGES[1:]:
            changes[f.key.removeprefix("week_")] = outcome[f.key]
    return changes


def record(
    db: Session, client: User, therapist: User, raw: answers.Raw, today: dt.date
) -> tuple[Screen, list[str]]:
    """Record a screen made today and apply it to the client's open plan. Returns the screen
    and what changed in the plan, in words."""
    ws = definition(db)
    raw = answers.normalise_raw(ws, raw)
    errors = answers.check(ws, raw, final=True)
    review_on = raw["outcome"].get("review_on", "").strip()
    if not errors and review_on and dt.date.fromisoformat(review_on) <= today:
        errors["outcome-review_on"] = ["Choose a date after today, or leave it empty."]
    if errors:
        raise InvalidAnswers(errors, raw)
    clean = answers.clean(ws, raw)
    record_snapshot(db, "screen", ws.key, ws.version, ws.sha256, ws.body)
    screen = Screen(
        client_id=client.id,
        therapist_id=therapist.id,
        screened_on=today,
        content_key=ws.key,
        content_version=ws.version,
        answers=clean,
        outcome=clean["outcome"]["outcome"],
        week_changes=_week_changes(ws, clean),
    )
    db.add(screen)
    db.flush()
    plan = db.scalar(
        sa.select(Plan).where(Plan.client_id == client.id, Plan.status != PlanStatus.FINISHED.value)
    )
    done = [] if plan is None else adopt(db, plan, screen, today)
    return screen, done


def answers_for(
    ws: Worksheet, outcome: dict[str, str], areas: dict[str, dict[str, str]] | None = None
) -> answers.Raw:
    """Raw answers for a screen: every area 'no concern' unless `areas` says otherwise, and
    the outcome section as given (for the demo, seeding and tests)."""
    raw = answers.blank_raw(ws)
    for section in ws.sections:
        if section.key != "outcome":
            raw[section.key].update({"status": "no", **(areas or {}).get(section.key, {})})
    raw["outcome"].update(outcome)
    return raw


def week_change(plan: Plan | None, week: int) -> str | None:
    """'adapted' or 'left_out' when the plan's screen changes this week, else None."""
    if plan is None or plan.screen is None:
        return None
    return plan.screen.week_changes.get(str(week))


def adopt(db: Session, plan: Plan, screen: Screen, today: dt.date) -> list[str]:
    """An open plan follows a new screen in the weeks still to come: a week now left out loses
    its untouched homework (anything the client wrote stays); a week no longer left out gets
    the program's homework back. A 'not suitable' screen changes nothing by itself (the
    therapist pauses or finishes the plan)."""
    if screen.outcome == "not_suitable":
        return []
    plan.screen_id = screen.id
    plan.screen = screen
    now = position(plan, today)
    first_future = now.week + 1 if now.started else 1
    program = program_of(db, plan)
    done = []
    for week in range(first_future, WEEKS + 1):
        rows = [a for a in plan.assignments if a.week == week]
        if screen.week_changes.get(str(week)) == "left_out":
            untouched = [a for a in rows if a.removed_at is None and a.submission is None]
            for a in untouched:
                a.removed_at = utcnow()
                a.version += 1
            if untouched:
                done.append(f"week {week}: homework taken out")
        elif not any(a.removed_at is None for a in rows):
            keys = program.week(week).worksheets
            for position_, key in enumerate(keys):
                db.add(
                    Assignment(
                        plan_id=plan.id,
                        week=week,
                        worksheet_key=key,
                        due_on=default_due(plan, week),
                        position=position_,
                    )
                )
            if keys:
                done.append(f"week {week}: homework set again")
    db.flush()
    db.expire(plan, ["assignments"])
    return done


def changes_words(week_changes: dict[str, str]) -> str:
    """'week 5 adapted (not towards a partner); weeks 7 and 8 left out' (or '')."""
    parts = []
    for change in WEEK_CHANGES[1:]:
        weeks = sorted(int(w) for w, c in week_changes.items() if c == change)
        if weeks:
            listed = ", ".join(map(str, weeks[:-1])) + (" and " if len(weeks) > 1 else "")
            word = "weeks" if len(weeks) > 1 else "week"
            parts.append(f"{word} {listed}{weeks[-1]} {CHANGE_WORDS[change]}")
    return "; ".join(parts)


@dataclass(frozen=True)
class ScreenView:
    """A screen as pages and reports show it."""

    id: int
    screened_on: dt.date
    by: str
    outcome: str
    outcome_words: str
    changes: str  # the weeks changed, in words
    concerns: tuple[tuple[str, str, str], ...]  # area, what was found, notes
    cleared: tuple[str, ...]  # areas with no concern
    details: tuple[tuple[str, str], ...]  # the outcome's notes: the changes, the referral
    review_on: dt.date | None


def view(db: Session, screen: Screen) -> ScreenView:
    """What a screen says, in words: concerns first, then the areas with none."""
    ws = definition(db, screen.content_version)
    found, cleared = [], []
    for section in ws.sections:
        if section.key == "outcome":
            continue
        row = screen.answers.get(section.key) or {}
        status = row.get("status")
        if status in CONCERN_ORDER:
            label = section.field("status").choice_label(status)
            found.append((CONCERN_ORDER[status], section.title, label, row.get("notes") or ""))
        else:
            cleared.append(section.title)
    concerns = tuple(c[1:] for c in sorted(found, key=lambda c: c[0]))
    outcome = screen.answers.get("outcome") or {}
    details = tuple(
        (f.label, str(outcome[f.key]))
        for f in ws.section("outcome").fields
        if f.type == "textarea" and outcome.get(f.key)
    )
    review = outcome.get("review_on")
    therapist = db.get(User, screen.therapist_id) if screen.therapist_id else None
    return ScreenView(
        id=screen.id,
        screened_on=screen.screened_on,
        by=therapist.display_name if therapist else "a former colleague",
        outcome=screen.outcome,
        outcome_words=OUTCOME_WORDS[screen.outcome],
        changes=changes_words(screen.week_changes),
        concerns=concerns,
        cleared=tuple(cleared),
        details=details,
        review_on=dt.date.fromisoformat(review) if review else None,
    )
