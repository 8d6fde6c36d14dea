"""Instrument definitions: the shipped questionnaires and any a practice adds, read from TOML,
checked when the app starts, and found by code."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_app_context

from ..library import CONTENT_DIR, IDENTIFIER, ContentError, Reader, digest, read_toml
from .change import NO_CHANGE, ReliableChange, reliable_change

SHIPPED = ("phq9", "gad7", "wsas", "csi4")

# The stored answer of an item that does not apply to this person (the WSAS work item for someone
# retired or not working by choice): kept in the answers so that "not asked" reads as such.
NOT_APPLICABLE = "not_applicable"

# Item texts may name the person's problem as "my [problem]" (the WSAS, as Mundt et al. 2002
# print it); the plan's own words replace it (plans.problem_words).
PROBLEM = "[problem]"


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
    # The tick-box that says this item does not apply (empty: the item always applies).
    not_applicable: str = ""

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
    plain_name: str  # what clients read first ("Mood check"); the acronym follows it
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
    def client_title(self) -> str:
        """The title a client reads: plain words first, the acronym second."""
        if not self.plain_name:
            return self.short_name
        return f"{self.plain_name} ({self.short_name})"

    @property
    def min_total(self) -> int:
        return sum(i.low for i in self.items)

    @property
    def max_total(self) -> int:
        return sum(i.high for i in self.items)

    def severity(self, band: str) -> int:
        """How severe a band is, 0 (the mildest) to 3 (the most severe), whatever the number of
        bands and whichever way the scale runs: the colour of a score chip (never the chip's
        only signal: the band's name is written on it)."""
        labels = [b.label for b in self.bands]
        index = labels.index(band) if band in labels else 0
        if self.higher_is_better:
            index = len(labels) - 1 - index
        return round(3 * index / max(1, len(labels) - 1))

    def band_for(self, total: int, out_of: int | None = None) -> Band:
        """The band of a total; a total `out_of` fewer points than the full scale (an item did
        not apply) is banded on the full scale, prorated: each missing item counted at the mean
        of the answered ones. That is the NHS Data Dictionary's rule for the WSAS ("Work and
        Social Adjustment Scale Score": a 'not applicable' work item may be substituted with
        the average score of the non-missing items), and it keeps the published bands, which
        are for the 40-point total (Mundt et al. 2002), meaning the same thing for everyone.
        For the WSAS without the work item the 4-item total t reads as 5t/4: 0-7 subclinical,
        8-16 significant impairment, 17-32 moderately severe or worse."""
        return next(b for b in self.bands if b.low <= self.on_full_scale(total, out_of) <= b.high)

    def on_full_scale(self, total: int, out_of: int | None) -> int:
        """A total on the full scale, prorated when it is out of fewer points (half up)."""
        if out_of is None or out_of == self.max_total or out_of <= 0:
            return total
        return int(Fraction(total * self.max_total, out_of) + Fraction(1, 2))

    def item_text(self, item: Item, problem: str) -> str:
        """An item's text with the person's own words for "my [problem]"."""
        return item.text.replace(f"my {PROBLEM}", problem).replace(PROBLEM, problem)

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

    def smallest_reliable_change(self) -> int | None:
        """The smallest whole-number change this instrument classifies as reliable, found
        with the same function that classifies (so the appendix and the verdicts agree)."""
        if self.change.sd is None:
            return None
        low = self.min_total
        for points in range(1, self.max_total - low + 1):
            rc = self.reliable_change(low, low + points)
            if rc is not None and rc.category != NO_CHANGE:
                return points
        return None

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
        key,
        r.get("text", str),
        options,
        r.get("loinc", str, None),
        r.get("reverse", bool, False),
        r.get("not_applicable", str, ""),
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
        plain_name=r.get("plain_name", str, ""),
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


def total_words(total: int | None, out_of: int | None) -> str:
    """A stored total as people read it: "16", or "16 of 32" when an item did not apply."""
    if total is None:
        return ""
    return f"{total} of {out_of}" if out_of else str(total)
