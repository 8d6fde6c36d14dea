"""The client's own goals, rated over time: Goal Based Outcomes (GBO).

Up to three goals at a time, in the client's own words ("reply to my sister within a day"),
each rated from 0 (not at all close to reaching it) to 10 (reached) at the weekly check-in and
in session. Sources:

- Law D, Jacob J (2015). *Goals and Goal Based Outcomes (GBOs): some useful information*,
  3rd edition. London: CAMHS Press / Child Outcomes Research Consortium (CORC). Up to three
  goals agreed with the client, in their words; each rated 0-10 for how close they are to it.
- Edbrooke-Childs J, Jacob J, Law D, Deighton J, Wolpert M (2015). Interpreting standardized
  and idiographic outcome measures in CAMHS: what does change mean and how does it relate to
  functioning and experience? *Child and Adolescent Mental Health* 20(3), 142-148. The
  reliable change index of a GBO rating is 2.45 points: a change of 3 or more points (ratings
  are whole numbers) is reliable change.
- The Joint Commission (2018), Behavioral Health Care standard CTS.03.01.09: progress towards
  the individual's goals is measured as part of measurement-based care.

The first and latest rating of a goal are picked by episodes.course, the rule every measure
uses; "as of" a day nothing rated, set, reworded or retired after that day counts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import episodes, text
from .db import utcnow
from .errors import DomainError
from .models import CheckIn, Goal, GoalRating, GoalWording, Plan, User
from .timeutil import local_time

MAX_ACTIVE = 3
WORDING_MAX = 200
LOWEST, HIGHEST = 0, 10
# Edbrooke-Childs et al. (2015): reliable change index 2.45, so 3 whole points.
RELIABLE_CHANGE = 3
CONVENTION = "GBO reliable change: 3 points or more (Edbrooke-Childs et al. 2015)"
SCALE_WORDS = "0 = not at all close to the goal, 10 = goal reached"


class GoalError(DomainError):
    """A goal could not be set, reworded, retired or rated; the message says why."""


@dataclass(frozen=True)
class Rating:
    day: dt.date
    value: int
    context: str  # "check_in" or "session"
    week: int | None
    id: int = 0
    wording: str = ""  # the goal's words on that day


@dataclass(frozen=True)
class GoalView:
    """One goal as it stood on a day: its wording then, its ratings up to then, the first and
    latest (episodes.course) and whether the change is reliable (CONVENTION)."""

    id: int
    number: int  # 1, 2, 3 ... in the order the goals were set
    wording: str
    set_on: dt.date
    retired_on: dt.date | None
    ratings: tuple[Rating, ...]
    first: Rating | None
    latest: Rating | None

    @property
    def change(self) -> int | None:
        if self.first is None or self.latest is None or len(self.ratings) < 2:
            return None
        return self.latest.value - self.first.value

    @property
    def verdict(self) -> str:
        """'reliable improvement', 'no reliable change', 'reliable deterioration' or '' (fewer
        than two ratings), by CONVENTION."""
        change = self.change
        if change is None:
            return ""
        if change >= RELIABLE_CHANGE:
            return "reliable improvement"
        if change <= -RELIABLE_CHANGE:
            return "reliable deterioration"
        return "no reliable change"

    @property
    def active(self) -> bool:
        return self.retired_on is None


def _clean(wording: str | None) -> str:
    words = " ".join((wording or "").split())
    if not words:
        raise GoalError("Write the goal in a few words.", "wording")
    if len(words) > WORDING_MAX:
        raise GoalError(
            f"Keep the goal to {WORDING_MAX} characters (it has {len(words)}).", "wording"
        )
    if text.has_control_characters(words):
        raise GoalError("The goal contains characters that cannot be stored.", "wording")
    return words


def goals_of(db: Session, plan: Plan) -> list[Goal]:
    """Every goal of the plan, active and retired, in the order they were set."""
    query = sa.select(Goal).where(Goal.plan_id == plan.id).order_by(Goal.created_at, Goal.id)
    return list(db.scalars(query))


def active_goals(db: Session, plan: Plan) -> list[Goal]:
    return [g for g in goals_of(db, plan) if g.retired_at is None]


def add_goal(db: Session, client: User, plan: Plan, wording: str | None, by: User) -> Goal:
    """Set a new goal (the client, or the therapist in session); at most MAX_ACTIVE at a time."""
    words = _clean(wording)
    if len(active_goals(db, plan)) >= MAX_ACTIVE:
        raise GoalError(
            f"There are already {MAX_ACTIVE} goals. Retire one that no longer fits first.",
            "wording",
        )
    now = utcnow()
    goal = Goal(client_id=client.id, plan_id=plan.id, created_at=now, created_by_id=by.id)
    goal.wordings.append(GoalWording(wording=words, from_at=now, by_id=by.id))
    db.add(goal)
    db.flush()
    return goal


def wording_of(goal: Goal, until: dt.datetime | None = None) -> str:
    """The goal's words as they stood at a moment (the newest, without one)."""
    wordings = [w for w in goal.wordings if until is None or w.from_at <= until]
    return (wordings or goal.wordings)[-1].wording


def reword(db: Session, goal: Goal, wording: str | None, by: User) -> None:
    """New words for the same goal; earlier wordings and every rating are kept."""
    if goal.retired_at is not None:
        raise GoalError("This goal was retired; set a new one instead.", "wording")
    words = _clean(wording)
    if words == wording_of(goal):
        raise GoalError("That is how the goal is worded already.", "wording")
    goal.wordings.append(GoalWording(wording=words, from_at=utcnow(), by_id=by.id))
    db.flush()


def retire(db: Session, goal: Goal, by: User) -> None:
    """The goal no longer fits (reached, or replaced): kept with its ratings, no longer rated."""
    if goal.retired_at is None:
        goal.retired_at = utcnow()
        goal.retired_by_id = by.id
        db.flush()


def _rating_value(value: object) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise GoalError(f"Choose a number from {LOWEST} to {HIGHEST}.", "rating") from None
    if not LOWEST <= number <= HIGHEST:
        raise GoalError(f"Choose a number from {LOWEST} to {HIGHEST}.", "rating")
    return number


def rate_at_check_in(
    db: Session, check_in: CheckIn, ratings: Mapping[int, object], by: User
) -> list[GoalRating]:
    """The goal ratings given with a weekly check-in ({goal id: 0-10}); goals not active in
    the check-in's plan are refused."""
    goals = {g.id: g for g in active_goals(db, db.get(Plan, check_in.plan_id))}  # type: ignore[arg-type]
    client = db.get(User, check_in.client_id)
    assert client is not None
    day = local_time(check_in.created_at or utcnow(), client).date()
    out = []
    for goal_id, value in ratings.items():
        goal = goals.get(goal_id)
        if goal is None:
            raise GoalError("That goal is not one of this plan's current goals.", "rating")
        rating = GoalRating(
            goal_id=goal.id,
            rating=_rating_value(value),
            rated_on=day,
            context="check_in",
            check_in_id=check_in.id,
            week=check_in.week,
            entered_by_id=by.id,
        )
        goal.ratings.append(rating)
        out.append(rating)
    db.flush()
    return out


def rate_in_session(
    db: Session, goal: Goal, value: object, on: dt.date, week: int | None, by: User
) -> GoalRating:
    """A rating given in session on a day; a second one the same day replaces the first."""
    if goal.retired_at is not None:
        raise GoalError("This goal was retired; it is no longer rated.", "rating")
    number = _rating_value(value)
    same_day = next((r for r in goal.ratings if r.context == "session" and r.rated_on == on), None)
    if same_day is not None:
        same_day.rating = number
        same_day.entered_by_id = by.id
        db.flush()
        return same_day
    rating = GoalRating(
        goal_id=goal.id,
        rating=number,
        rated_on=on,
        context="session",
        week=week,
        entered_by_id=by.id,
    )
    goal.ratings.append(rating)
    db.flush()
    return rating


def _words_on(goal: Goal, day: dt.date, day_of: Callable[[dt.datetime], dt.date]) -> str:
    """The goal's words in force at the end of a day."""
    then = [w for w in goal.wordings if day_of(w.from_at) <= day]
    return (then or goal.wordings)[-1].wording


def client_views(db: Session, client: User) -> list[tuple[Plan, GoalView]]:
    """Every goal of every plan of the client (oldest plan first), as it stands now."""
    query = sa.select(Plan).where(Plan.client_id == client.id).order_by(Plan.created_at, Plan.id)
    return [(plan, view) for plan in db.scalars(query) for view in views(db, plan)]


def views(db: Session, plan: Plan | None, as_of: dt.date | None = None) -> list[GoalView]:
    """The plan's goals as they stood at the end of a day (today's state without one): only
    goals set by then, their wording then, ratings up to then; retired if retired by then."""
    if plan is None:
        return []
    client = db.get(User, plan.client_id)
    assert client is not None

    def day_of(moment: dt.datetime) -> dt.date:
        return local_time(moment, client).date()

    out = []
    for number, goal in enumerate(goals_of(db, plan), start=1):
        if as_of is not None and day_of(goal.created_at) > as_of:
            continue
        wordings = [w for w in goal.wordings if as_of is None or day_of(w.from_at) <= as_of]
        retired = goal.retired_at and day_of(goal.retired_at)
        if retired and as_of is not None and retired > as_of:
            retired = None
        kept = [r for r in goal.ratings if as_of is None or r.rated_on <= as_of]
        scores = [
            episodes.Score(
                # Ordered by the day it was given, then by when it was entered.
                when=dt.datetime.combine(r.rated_on, r.created_at.timetz()),
                day=r.rated_on,
                value=r.rating,
                week=r.week,
                slot="",
                id=r.id,
            )
            for r in kept
        ]
        course = episodes.course(f"goal-{goal.id}", scores)

        by_id = {
            r.id: Rating(
                r.rated_on, r.rating, r.context, r.week, r.id, _words_on(goal, r.rated_on, day_of)
            )
            for r in kept
        }
        ratings = tuple(by_id.values())
        out.append(
            GoalView(
                id=goal.id,
                number=number,
                wording=wordings[-1].wording if wordings else goal.wordings[0].wording,
                set_on=day_of(goal.created_at),
                retired_on=retired or None,
                ratings=tuple(sorted(ratings, key=lambda r: r.day)),
                first=by_id[course.baseline.id] if course else None,
                latest=by_id[course.latest.id] if course else None,
            )
        )
    return out
