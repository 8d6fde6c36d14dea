"""Standardised measures: instruments defined as TOML (items, bands, flags, change parameters),
scored on the server, reliable change (Jacobson & Truax 1991) and the NHS Talking Therapies
outcome conventions. Every rule cites its source next to the code.

change       the reliable change index and its categories
instruments  instrument definitions: reading, checking and finding them
scoring      totals, bands and flags; clinical categories; NHS Talking Therapies outcomes"""

from .change import (
    DETERIORATION,
    IMPROVEMENT,
    JACOBSON_TRUAX,
    NHS_TALKING_THERAPIES,
    NO_CHANGE,
    RCI_CRITERION,
    ReliableChange,
    reliable_change,
)
from .instruments import (
    NOT_APPLICABLE,
    SHIPPED,
    Band,
    Change,
    Flag,
    Instrument,
    Item,
    Option,
    Subscale,
    init_app,
    instrument,
    instruments,
    load_instruments,
    parse_instrument,
    total_words,
)
from .scoring import (
    GAD7_CASENESS,
    GAD7_RELIABLE,
    PHQ9_CASENESS,
    PHQ9_RELIABLE,
    Score,
    TalkingTherapiesOutcome,
    clinical_category,
    score,
    talking_therapies_outcome,
)

__all__ = [
    "Band",
    "Change",
    "DETERIORATION",
    "Flag",
    "GAD7_CASENESS",
    "GAD7_RELIABLE",
    "IMPROVEMENT",
    "JACOBSON_TRUAX",
    "NHS_TALKING_THERAPIES",
    "Instrument",
    "Item",
    "NO_CHANGE",
    "Option",
    "PHQ9_CASENESS",
    "PHQ9_RELIABLE",
    "RCI_CRITERION",
    "ReliableChange",
    "NOT_APPLICABLE",
    "SHIPPED",
    "Score",
    "Subscale",
    "TalkingTherapiesOutcome",
    "clinical_category",
    "init_app",
    "instrument",
    "instruments",
    "load_instruments",
    "parse_instrument",
    "total_words",
    "reliable_change",
    "score",
    "talking_therapies_outcome",
]
