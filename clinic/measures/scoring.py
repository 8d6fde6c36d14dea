"""Scoring on the server: totals, bands, subscales and flags; the clinical category of a change;
and the NHS Talking Therapies caseness, reliable change and recovery conventions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .change import DETERIORATION, NO_CHANGE
from .instruments import NOT_APPLICABLE, Instrument, instrument


@dataclass(frozen=True)
class Score:
    code: str
    total: int
    band: str
    flags: frozenset[str]
    severe: bool
    subscales: dict[str, int] = field(default_factory=dict)
    out_of: int | None = None  # set when an item did not apply: what the total is out of


def _ordered_answers(
    inst: Instrument, answers: Sequence[int] | Mapping[str, int | str]
) -> list[int | str]:
    if isinstance(answers, Mapping):
        missing = [i.key for i in inst.items if answers.get(i.key) is None]
        if missing:
            raise ValueError(
                f"{inst.short_name}: every question needs an answer; missing "
                f"question(s) {', '.join(missing)}."
            )
        values: list[int | str] = [answers[i.key] for i in inst.items]
    else:
        values = list(answers)
        if len(values) != len(inst.items):
            raise ValueError(
                f"{inst.short_name} has {len(inst.items)} questions; got {len(values)} answers."
            )
    for item, value in zip(inst.items, values, strict=True):
        if value == NOT_APPLICABLE and item.not_applicable:
            continue  # an item that may not apply (the WSAS work item), marked as such
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{inst.short_name} question {item.key}: answers are whole numbers.")
        if value not in {o.value for o in item.options}:
            raise ValueError(
                f"{inst.short_name} question {item.key}: {value} is not an answer option "
                f"({item.low} to {item.high})."
            )
    return values


def score(code: str, answers: Sequence[int] | Mapping[str, int | str]) -> Score:
    """Total, band and flags of one completed questionnaire. Every item must be answered:
    incomplete questionnaires are not prorated (measures.md). The one exception is an item the
    instrument lets a person mark as not applying to them: the WSAS work item, which Mundt et
    al. (2002) have skipped by people who are retired or not working by choice (not because of
    their problem). The total is then the sum of the items that apply, `out_of` their highest
    total (32 for the WSAS), and the band is read on the full scale (Instrument.band_for)."""
    inst = instrument(code)
    values = _ordered_answers(inst, answers)
    applying = [
        (item, value)
        for item, value in zip(inst.items, values, strict=True)
        if isinstance(value, int)
    ]
    # Reverse-keyed items count from the other end of their scale (low + high - answer).
    scored = {
        item.key: (item.low + item.high - value) if item.reverse else value
        for item, value in applying
    }
    total = sum(scored.values())
    out_of = sum(item.high for item, _ in applying) if len(applying) < len(inst.items) else None
    band = inst.band_for(total, out_of)
    by_key = dict((item.key, value) for item, value in applying)
    flags = frozenset(
        f.name for f in inst.flags if f.item in by_key and by_key[f.item] >= f.at_least
    )
    subscales = {s.key: sum(scored[k] for k in s.items if k in scored) for s in inst.subscales}
    return Score(code, total, band.label, flags, band.severe, subscales, out_of)


def clinical_category(inst: Instrument, pre: float, post: float) -> str | None:
    """Jacobson & Truax (1991) classification: recovered (reliable improvement that also
    crosses the clinical cut-off from the clinical to the non-clinical side), improved,
    unchanged or deteriorated. None when the instrument has no verified SD."""
    rc = inst.reliable_change(pre, post)
    if rc is None:
        return None
    if rc.category == DETERIORATION:
        return "deteriorated"
    if rc.category == NO_CHANGE:
        return "unchanged"
    if inst.in_clinical_range(pre) and not inst.in_clinical_range(post):
        return "recovered"
    return "improved"


# The NHS Talking Therapies (formerly IAPT) conventions: National Collaborating Centre for
# Mental Health, "The Improving Access to Psychological Therapies Manual" (2018; continued as
# the NHS Talking Therapies for anxiety and depression Manual, 2023), appendix on outcome
# measures; applied in Gyani, Shafran, Layard & Clark (2013), Behav Res Ther 51:597-606.
# Caseness: PHQ-9 >= 10 or GAD-7 >= 8. Reliable change: 6 or more points on PHQ-9, 4 or
# more on GAD-7. Recovery: a case at the start and below caseness on both at the end.
PHQ9_CASENESS = 10


GAD7_CASENESS = 8


PHQ9_RELIABLE = 6


GAD7_RELIABLE = 4


@dataclass(frozen=True)
class TalkingTherapiesOutcome:
    caseness_pre: bool
    reliable_improvement: bool
    reliable_deterioration: bool
    recovery: bool | None
    reliable_recovery: bool | None


def _check_total(name: str, value: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise ValueError(f"{name} must be a whole-number total from 0 to {high}, not {value!r}.")


def talking_therapies_outcome(
    phq9_pre: int, phq9_post: int, gad7_pre: int, gad7_post: int
) -> TalkingTherapiesOutcome:
    """First versus last PHQ-9 and GAD-7 totals, by the NHS Talking Therapies conventions:
    reliable improvement when either measure falls by its reliable-change amount and neither
    rises by it; reliable deterioration is the mirror; recovery (only for clients who were a
    case at the start) when both end scores are below caseness; reliable recovery when both
    recovery and reliable improvement hold. Thresholds are inclusive."""
    _check_total("PHQ-9 first score", phq9_pre, 27)
    _check_total("PHQ-9 last score", phq9_post, 27)
    _check_total("GAD-7 first score", gad7_pre, 21)
    _check_total("GAD-7 last score", gad7_post, 21)
    caseness_pre = phq9_pre >= PHQ9_CASENESS or gad7_pre >= GAD7_CASENESS
    phq_down = phq9_pre - phq9_post >= PHQ9_RELIABLE
    gad_down = gad7_pre - gad7_post >= GAD7_RELIABLE
    phq_up = phq9_post - phq9_pre >= PHQ9_RELIABLE
    gad_up = gad7_post - gad7_pre >= GAD7_RELIABLE
    improvement = (phq_down or gad_down) and not (phq_up or gad_up)
    deterioration = (phq_up or gad_up) and not (phq_down or gad_down)
    if not caseness_pre:
        return TalkingTherapiesOutcome(False, improvement, deterioration, None, None)
    recovery = phq9_post < PHQ9_CASENESS and gad7_post < GAD7_CASENESS
    return TalkingTherapiesOutcome(
        caseness_pre=True,
        reliable_improvement=improvement,
        reliable_deterioration=deterioration,
        recovery=recovery,
        reliable_recovery=recovery and improvement,
    )
