"""Outcome measures: instrument definitions, scoring, bands, reliable change and NHS Talking
Therapies outcomes. The public API (score, reliable_change, talking_therapies_outcome) is
used by the app itself and kept stable.

Sources for every rule are cited next to the code; the numbers that belong to one instrument
(bands, SD, reliability, cut-off and their sources) live in its TOML definition."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_app_context

from .library import CONTENT_DIR, IDENTIFIER, ContentError, Reader, digest, read_toml

# Jacobson & Truax (1991), J Consult Clin Psychol 59:12-19: a change is reliable when the
# reliable change index exceeds 1.96 in absolute value (p < .05, two-tailed).
RCI_CRITERION = 1.96
SHIPPED = ("phq9", "gad7", "wsas", "csi4")


# --- instrument definitions -----------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    value: int
    label: str
    loinc: str | None = None


@dataclass(frozen=True)
class Item:
    key: str
    text: str
    options: tuple[Option, ...]
    loinc: str | None = None
    reverse: bool = False

    @property
    def low(self) -> int:
        return min(o.value for o in self.options)

    @property
    def high(self) -> int:
        return max(o.value for o in self.options)

    def label_of(self, value: int | None) -> str:
        return next((o.label for o in self.options if o.value == value), "")


@dataclass(frozen=True)
class Band:
    low: int
    high: int
    label: str
    severe: bool = False


@dataclass(frozen=True)
class Change:
    sd: float | None  # None: no verified SD, so no reliable change index is computed
    sd_source: str
    reliability: float
    reliability_source: str
    cutoff: float
    cutoff_source: str


@dataclass(frozen=True)
class Subscale:
    key: str
    label: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Flag:
    name: str
    item: str
    at_least: int


@dataclass(frozen=True)
class Instrument:
    code: str
    version: int
    name: str
    short_name: str
    about: str
    instructions: str
    citation: str
    licence: str
    attribution: str
    higher_is_better: bool
    items: tuple[Item, ...]
    extra_items: tuple[Item, ...]
    bands: tuple[Band, ...]
    change: Change
    flags: tuple[Flag, ...]
    subscales: tuple[Subscale, ...]
    loinc_panel: str | None
    loinc_total: str | None
    battery: bool
    sha256: str
    body: dict[str, Any] = field(compare=False, repr=False)

    @property
    def min_total(self) -> int:
        return sum(i.low for i in self.items)

    @property
    def max_total(self) -> int:
        return sum(i.high for i in self.items)

    def band_for(self, total: int) -> Band:
        return next(b for b in self.bands if b.low <= total <= b.high)

    @property
    def has_reliable_change(self) -> bool:
        """Whether a verified SD is on file, so that a reliable change index can be computed."""
        return self.change.sd is not None

    def reliable_change(self, pre: float, post: float) -> ReliableChange | None:
        """Jacobson & Truax change from pre to post with this instrument's own parameters."""
        if self.change.sd is None:
            return None
        return reliable_change(
            pre, post, self.change.sd, self.change.reliability, self.higher_is_better
        )

    def in_clinical_range(self, total: float) -> bool:
        """Whether a total is on the clinical side of the cut-off."""
        if self.higher_is_better:
            return total < self.change.cutoff
        return total >= self.change.cutoff


def _options(raw: Any, where: str) -> tuple[Option, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        raise ContentError(f"{where}: 'options' needs at least two {{ value, label }} entries")
    out = []
    for i, data in enumerate(raw):
        if not isinstance(data, dict):
            raise ContentError(f"{where}: option {i + 1} must be a table")
        r = Reader(data, f"{where}: option {i + 1}")
        out.append(Option(r.get("value", int), r.get("label", str), r.get("loinc", str, None)))
        r.done()
    values = [o.value for o in out]
    if values != sorted(set(values)):
        raise ContentError(f"{where}: option values must rise without repeats, got {values}")
    return tuple(out)


def _item(data: Any, where: str, default: tuple[Option, ...] | None) -> Item:
    if not isinstance(data, dict):
        raise ContentError(f"{where}: must be a table")
    r = Reader(data, where)
    key = r.get("key", str)
    r.where = where = f"{where} '{key}'"
    options = _options(data["options"], where) if "options" in data else default
    r.used.add("options")
    if options is None:
        raise r.fail("has no options (and the instrument has no default 'options')")
    item = Item(
        key, r.get("text", str), options, r.get("loinc", str, None), r.get("reverse", bool, False)
    )
    r.done()
    return item


def parse_instrument(body: dict[str, Any], where: str) -> Instrument:
    """Build an instrument from its TOML document, checking it thoroughly."""
    r = Reader(body, where)
    code = r.identifier("code")
    default = _options(body["options"], f"{where}: options") if "options" in body else None
    r.used.add("options")
    raw_items = r.get("items", list)
    items = tuple(_item(d, f"{where}: item {i + 1}", default) for i, d in enumerate(raw_items))
    if not items:
        raise r.fail("has no items")
    keys = [i.key for i in items]
    if len(set(keys)) != len(keys):
        raise r.fail(f"item keys repeat: {keys}")
    extra = tuple(
        _item(d, f"{where}: extra item {i + 1}", default)
        for i, d in enumerate(r.get("extra_items", list, []))
    )
    if set(keys) & {e.key for e in extra}:
        raise r.fail("extra item keys must differ from item keys")
    low, high = sum(i.low for i in items), sum(i.high for i in items)
    bands = []
    for i, data in enumerate(r.get("bands", list)):
        b = Reader(data, f"{where}: band {i + 1}")
        bands.append(
            Band(
                b.get("min", int),
                b.get("max", int),
                b.get("label", str),
                b.get("severe", bool, False),
            )
        )
        b.done()
    expected = low
    for band in bands:
        if band.low != expected or band.high < band.low:
            raise r.fail(
                f"bands must cover {low}..{high} in order without gaps or overlaps; "
                f"band '{band.label}' starts at {band.low}, expected {expected}"
            )
        expected = band.high + 1
    if expected != high + 1:
        raise r.fail(f"bands end at {expected - 1} but the highest total is {high}")
    c = Reader(r.get("change", dict), f"{where}: change")
    sd = c.get("sd", (int, float), None)
    change = Change(
        sd=float(sd) if sd is not None else None,
        sd_source=c.get("sd_source", str),
        reliability=float(c.get("reliability", (int, float))),
        reliability_source=c.get("reliability_source", str),
        cutoff=float(c.get("cutoff", (int, float))),
        cutoff_source=c.get("cutoff_source", str),
    )
    c.done()
    if change.sd is not None and change.sd <= 0:
        raise c.fail("'sd' must be positive")
    if not 0 < change.reliability < 1:
        raise c.fail("'reliability' must be between 0 and 1")
    flags = []
    for i, data in enumerate(r.get("flags", list, [])):
        f = Reader(data, f"{where}: flag {i + 1}")
        flag = Flag(f.identifier("name"), f.get("item", str), f.get("at_least", int))
        f.done()
        if flag.item not in keys:
            raise f.fail(f"item '{flag.item}' does not exist")
        flags.append(flag)
    subscales = []
    for i, data in enumerate(r.get("subscales", list, [])):
        sr = Reader(data, f"{where}: subscale {i + 1}")
        sub = Subscale(sr.identifier("key"), sr.get("label", str), tuple(sr.get("items", list)))
        sr.done()
        unknown = [k for k in sub.items if k not in keys]
        if unknown or not sub.items:
            raise sr.fail(f"items {unknown or '[]'} are not items of this instrument")
        subscales.append(sub)
    instrument = Instrument(
        code=code,
        version=r.get("version", int),
        name=r.get("name", str),
        short_name=r.get("short_name", str),
        about=r.get("about", str),
        instructions=r.get("instructions", str, ""),
        citation=r.get("citation", str),
        licence=r.get("licence", str),
        attribution=r.get("attribution", str, ""),
        higher_is_better=r.get("higher_is_better", bool),
        items=items,
        extra_items=extra,
        bands=tuple(bands),
        change=change,
        flags=tuple(flags),
        subscales=tuple(subscales),
        loinc_panel=r.get("loinc_panel", str, None),
        loinc_total=r.get("loinc_total", str, None),
        battery=r.get("battery", bool, code in SHIPPED),
        sha256=digest(body),
        body=body,
    )
    r.done()
    return instrument


def load_instruments(*folders: Path) -> dict[str, Instrument]:
    """Every instrument in the given folders; a later folder cannot replace an earlier code."""
    found: dict[str, Instrument] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.toml")):
            instrument = parse_instrument(read_toml(path), str(path))
            if instrument.code != path.stem:
                raise ContentError(f"{path}: code {instrument.code!r} must match the file name")
            if instrument.code in found or not IDENTIFIER.match(instrument.code):
                raise ContentError(f"{path}: an instrument with code {instrument.code!r} exists")
            found[instrument.code] = instrument
    # Shipped instruments first, in the order therapists know them; practice ones after.
    order = {code: i for i, code in enumerate(SHIPPED)}
    return dict(sorted(found.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


@cache
def _packaged() -> dict[str, Instrument]:
    return load_instruments(CONTENT_DIR / "instruments")


def init_app(app: Flask) -> None:
    """Load the shipped instruments and any the practice supplies in instance/instruments/."""
    folders = [CONTENT_DIR / "instruments"]
    extra = Path(app.instance_path) / "instruments"
    if extra.is_dir():
        folders.append(extra)
    app.extensions["clinic.instruments"] = load_instruments(*folders)


def instruments() -> dict[str, Instrument]:
    """The instruments of the current app (or the shipped ones outside an app)."""
    if has_app_context() and "clinic.instruments" in current_app.extensions:
        found: dict[str, Instrument] = current_app.extensions["clinic.instruments"]
        return found
    return _packaged()


def instrument(code: str) -> Instrument:
    """One instrument by code; ValueError names the codes that exist."""
    found = instruments()
    if code not in found:
        raise ValueError(f"Unknown questionnaire {code!r}; known: {', '.join(sorted(found))}.")
    return found[code]


# --- scoring --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    code: str
    total: int
    band: str
    flags: frozenset[str]
    severe: bool
    subscales: dict[str, int] = field(default_factory=dict)


def _ordered_answers(inst: Instrument, answers: Sequence[int] | Mapping[str, int]) -> list[int]:
    if isinstance(answers, Mapping):
        missing = [i.key for i in inst.items if answers.get(i.key) is None]
        if missing:
            raise ValueError(
                f"{inst.short_name}: every question needs an answer; missing "
                f"question(s) {', '.join(missing)}."
            )
        values = [answers[i.key] for i in inst.items]
    else:
        values = list(answers)
        if len(values) != len(inst.items):
            raise ValueError(
                f"{inst.short_name} has {len(inst.items)} questions; got {len(values)} answers."
            )
    for item, value in zip(inst.items, values, strict=True):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{inst.short_name} question {item.key}: answers are whole numbers.")
        if value not in {o.value for o in item.options}:
            raise ValueError(
                f"{inst.short_name} question {item.key}: {value} is not an answer option "
                f"({item.low} to {item.high})."
            )
    return values


def score(code: str, answers: Sequence[int] | Mapping[str, int]) -> Score:
    """Total, band and flags of one completed questionnaire. Every item must be answered:
    incomplete questionnaires are not prorated (measures.md)."""
    inst = instrument(code)
    values = _ordered_answers(inst, answers)
    # Reverse-keyed items count from the other end of their scale (low + high - answer).
    scored = {
        item.key: (item.low + item.high - value) if item.reverse else value
        for item, value in zip(inst.items, values, strict=True)
    }
    total = sum(scored.values())
    band = inst.band_for(total)
    by_key = {item.key: value for item, value in zip(inst.items, values, strict=True)}
    flags = frozenset(f.name for f in inst.flags if by_key[f.item] >= f.at_least)
    subscales = {s.key: sum(scored[k] for k in s.items) for s in inst.subscales}
    return Score(code, total, band.label, flags, band.severe, subscales)


# --- reliable change (Jacobson & Truax 1991) ------------------------------------------------

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


# --- NHS Talking Therapies outcomes ---------------------------------------------------------

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
