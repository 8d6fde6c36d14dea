"""The reliable change index (Jacobson & Truax 1991): whether a change from one score to another is
larger than measurement error would explain."""

from __future__ import annotations

import math
from dataclasses import dataclass

# Jacobson & Truax (1991), J Consult Clin Psychol 59:12-19: a change is reliable when the
# reliable change index exceeds 1.96 in absolute value (p < .05, two-tailed).
RCI_CRITERION = 1.96


# The two conventions a change figure can follow; every figure names its own, next to it.
JACOBSON_TRUAX = "Jacobson–Truax"
NHS_TALKING_THERAPIES = "NHS Talking Therapies"


IMPROVEMENT = "reliable_improvement"


NO_CHANGE = "no_reliable_change"


DETERIORATION = "reliable_deterioration"


@dataclass(frozen=True)
class ReliableChange:
    s_diff: float
    rci: float
    category: str


def reliable_change(
    pre: float, post: float, sd: float, reliability: float, higher_is_better: bool
) -> ReliableChange:
    """Jacobson & Truax (1991), J Consult Clin Psychol 59:12-19, equations for the standard
    error of measurement SE = SD·√(1 − r), S_diff = √(2·SE²) = SD·√2·√(1 − r) and
    RCI = (post − pre) / S_diff. Reliable when |RCI| > 1.96, decided on the unrounded value."""
    for name, value in (("pre", pre), ("post", post), ("sd", sd), ("reliability", reliability)):
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise ValueError(f"{name} must be a number, not {value!r}.")
    if sd <= 0:
        raise ValueError("The standard deviation must be greater than 0.")
    if not 0 <= reliability < 1:
        raise ValueError("Reliability must be from 0 up to (not including) 1.")
    s_diff = sd * math.sqrt(2) * math.sqrt(1 - reliability)
    rci = (post - pre) / s_diff
    if abs(rci) > RCI_CRITERION:
        better = rci > 0 if higher_is_better else rci < 0
        category = IMPROVEMENT if better else DETERIORATION
    else:
        category = NO_CHANGE
    return ReliableChange(s_diff=s_diff, rci=rci, category=category)
