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
    "DETERIORATION",
    "GAD7_CASENESS",
    "GAD7_RELIABLE",
    "IMPROVEMENT",
    "JACOBSON_TRUAX",
    "NHS_TALKING_THERAPIES",
    "NOT_APPLICABLE",
    "NO_CHANGE",
    "PHQ9_CASENESS",
    "PHQ9_RELIABLE",
    "RCI_CRITERION",
    "SHIPPED",
    "Band",
    "Change",
    "Flag",
    "Instrument",
    "Item",
    "Option",
    "ReliableChange",
    "Score",
    "Subscale",
    "TalkingTherapiesOutcome",
    "clinical_category",
    "init_app",
    "instrument",
    "instruments",
    "load_instruments",
    "parse_instrument",
    "reliable_change",
    "score",
    "talking_therapies_outcome",
    "total_words",
]
