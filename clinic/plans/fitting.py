"""Measures that fit the client: which battery instruments a plan leaves out, the client's own
words for "[problem]" in the WSAS items, and the client's own questionnaire schedule (an
instrument given in other weeks than the program's, before every session, or a
practice-supplied instrument added). All belong to one plan (one episode), so a client referred
again starts from the program's battery, schedule and wording."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from .. import measures
from ..models import Plan
from .definitions import WEEKS, PlanError
from .tailoring import _require_changeable

# PHQ-9 and GAD-7 are never left out: PHQ-9 item 9 is the safety question behind the self-harm
# alert, and the pair is the NHS Talking Therapies outcome (caseness, reliable change, recovery;
# clinic/measures/scoring.py) that every episode is judged by. Any other battery instrument can
# be left out where it does not fit (CSI-4 for a client with no current partner, say).
ALWAYS_GIVEN = ("phq9", "gad7")

# Said in place of "my [problem]" in the WSAS items unless the therapist words it for the client.
DEFAULT_PROBLEM = "my difficulties with trust"
PROBLEM_MAX = 80


def optional_measures() -> dict[str, measures.Instrument]:
    """The battery instruments a plan may leave out, in instrument order."""
    return {
        code: inst
        for code, inst in measures.instruments().items()
        if inst.battery and code not in ALWAYS_GIVEN
    }


def problem_words(plan: Plan | None) -> str:
    """What the WSAS items say for "my [problem]" in this plan."""
    return (plan.problem_wording if plan is not None else None) or DEFAULT_PROBLEM


def left_out(plan: Plan | None) -> frozenset[str]:
    """The battery instruments this plan does not give."""
    return frozenset(plan.left_out_measures or ()) if plan is not None else frozenset()


def fit_measures(db: Session, plan: Plan, *, left_out: Iterable[str], problem: str | None) -> None:
    """Set which battery instruments the plan leaves out and its wording for "[problem]";
    checks everything before it writes."""
    _require_changeable(plan)
    codes = list(dict.fromkeys(left_out))
    if any(code in ALWAYS_GIVEN for code in codes):
        raise PlanError(
            "PHQ-9 and GAD-7 are always given: they hold the safety question and the NHS "
            "Talking Therapies outcome.",
            "left_out",
        )
    optional = optional_measures()
    unknown = [code for code in codes if code not in optional]
    if unknown:
        raise PlanError(f"{', '.join(unknown)} is not a battery questionnaire.", "left_out")
    words = " ".join((problem or "").split())  # one line, as the items read it
    if len(words) > PROBLEM_MAX:
        raise PlanError(f"Use at most {PROBLEM_MAX} characters.", "problem")
    plan.left_out_measures = [code for code in optional if code in codes]
    plan.problem_wording = words or None
    db.flush()


# --- the client's own questionnaire schedule -------------------------------------------------

# How a therapist can schedule an instrument for one client. "sessions" follows the plan's
# session calendar (plans.session_date: one session a week on the plan's weekday, moved back by
# pauses); each week's questionnaires are due the day before the next session
# (plans.default_due), so the answers are there when the therapist opens that session.
# "program" (follow the program) and "none" (not given) are choices, never stored.
RULES = {
    "program": "As the program schedules it",
    "weeks": "In the weeks I choose",
    "every": "Every few weeks",
    "sessions": "Before every session",
    "none": "Not given",
}
STORED_RULES = ("weeks", "every", "sessions")


@dataclass(frozen=True)
class MeasureSchedule:
    """The weeks one plan gives one instrument, as the therapist set them."""

    rule: str  # weeks, every or sessions
    weeks: tuple[int, ...] = ()  # rule "weeks"
    every: int = 0  # rule "every": weeks 1, 1 + every, ...

    def gives(self, week: int) -> bool:
        """Whether the instrument is given in this plan week."""
        return week in self.all_weeks()

    def all_weeks(self) -> tuple[int, ...]:
        """Every plan week the instrument is given in, in order."""
        if self.rule == "sessions":
            return tuple(range(1, WEEKS + 1))
        if self.rule == "every":
            return tuple(range(1, WEEKS + 1, self.every))
        return self.weeks

    def words(self) -> str:
        """The schedule as the therapist reads it."""
        if self.rule == "sessions":
            return "before every session (every week)"
        if self.rule == "every":
            if self.every == 1:
                return "every week"
            return f"every {self.every} weeks (weeks {_week_list(self.all_weeks())})"
        return f"week{'s' if len(self.weeks) > 1 else ''} {_week_list(self.weeks)}"

    def stored(self) -> dict[str, object]:
        """The JSON kept on the plan."""
        if self.rule == "weeks":
            return {"rule": "weeks", "weeks": list(self.weeks)}
        if self.rule == "every":
            return {"rule": "every", "every": self.every}
        return {"rule": self.rule}


def _week_list(weeks: Iterable[int]) -> str:
    return ", ".join(str(w) for w in weeks)


def schedules(plan: Plan | None) -> dict[str, MeasureSchedule]:
    """The client's own schedules of this plan, per instrument code (others follow the
    program). Anything stored that no longer reads as a schedule is ignored."""
    out: dict[str, MeasureSchedule] = {}
    for code, raw in (plan.measure_schedules or {} if plan is not None else {}).items():
        rule = raw.get("rule") if isinstance(raw, dict) else None
        weeks = raw.get("weeks") if isinstance(raw, dict) else None
        every = raw.get("every") if isinstance(raw, dict) else None
        if rule == "sessions":
            out[code] = MeasureSchedule("sessions")
        elif rule == "every" and isinstance(every, int) and 1 <= every <= WEEKS:
            out[code] = MeasureSchedule("every", every=every)
        elif rule == "weeks" and isinstance(weeks, list) and weeks:
            out[code] = MeasureSchedule("weeks", weeks=tuple(sorted(set(weeks))))
    return out


WEEKS_MESSAGE = f"Write the weeks as whole numbers from 1 to {WEEKS}, for example 1, 4, 8, 12."


def parse_weeks(text: str | None) -> tuple[int, ...]:
    """Plan weeks from what a therapist types ("1, 4, 8, 12" or "1 4 8 12"), in order."""
    parts = [p for p in re.split(r"[\s,;]+", text or "") if p]
    if not parts:
        raise PlanError("Write at least one week, for example 1, 6, 12.", "weeks")
    if not all(p.isdecimal() and len(p) <= 2 and 1 <= int(p) <= WEEKS for p in parts):
        raise PlanError(WEEKS_MESSAGE, "weeks")
    return tuple(sorted({int(p) for p in parts}))


def schedule_choices(code: str) -> list[str]:
    """The rules a therapist may choose for an instrument: the program's schedule only for
    the battery, and never "not given" for PHQ-9 and GAD-7."""
    inst = measures.instrument(code)
    return [
        rule
        for rule in RULES
        if not (rule == "program" and not inst.battery)
        and not (rule == "none" and code in ALWAYS_GIVEN)
    ]


def set_schedule(
    db: Session,
    plan: Plan,
    code: str,
    rule: str,
    *,
    weeks: str | None = None,
    every: int | None = None,
) -> None:
    """Change how this plan gives one instrument: as the program schedules it, in chosen
    weeks, every few weeks, before every session, or not at all. A battery instrument left
    out is the same fact as on the measures form (plan.left_out_measures); a practice-supplied
    instrument is added by giving it a schedule and dropped with "not given". PHQ-9 and GAD-7
    are never dropped and always keep week 1 (the baseline of the safety question and of the
    NHS Talking Therapies outcome). Checks everything before it writes."""
    _require_changeable(plan)
    inst = measures.instruments().get(code)
    if inst is None:
        raise PlanError("This questionnaire is not one the practice has.", "rule")
    if rule not in schedule_choices(code):
        if rule == "none":
            raise PlanError(
                f"{inst.short_name} is always given: PHQ-9 and GAD-7 hold the safety question "
                "and the NHS Talking Therapies outcome.",
                "rule",
            )
        raise PlanError("Choose one of the schedules shown.", "rule")
    schedule: MeasureSchedule | None = None
    if rule == "weeks":
        schedule = MeasureSchedule("weeks", weeks=parse_weeks(weeks))
    elif rule == "every":
        if every is None or not 1 <= every <= WEEKS - 1:
            raise PlanError(f"Choose a number of weeks from 1 to {WEEKS - 1}.", "every")
        schedule = MeasureSchedule("every", every=every)
    elif rule == "sessions":
        schedule = MeasureSchedule("sessions")
    if schedule is not None and code in ALWAYS_GIVEN and not schedule.gives(1):
        raise PlanError(
            f"{inst.short_name} is given in week 1 whatever else you choose: it is the "
            "baseline of the safety question and of the NHS Talking Therapies outcome.",
            "weeks",
        )
    stored = dict(plan.measure_schedules or {})
    stored.pop(code, None)
    if schedule is not None:
        stored[code] = schedule.stored()
    left = [c for c in (plan.left_out_measures or []) if c != code]
    if rule == "none" and inst.battery:
        left.append(code)
    # New objects, so that the JSON columns are seen as changed.
    plan.measure_schedules = stored
    plan.left_out_measures = [c for c in optional_measures() if c in left]
    db.flush()
