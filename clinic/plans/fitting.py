"""Measures that fit the client: which battery instruments a plan leaves out, and the client's
own words for "[problem]" in the WSAS items. Both belong to one plan (one episode), so a client
referred again starts from the full battery and the default wording."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from .. import measures
from ..models import Plan
from .definitions import PlanError
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
