"""The content library: programs and worksheets as TOML, read with the standard library and
validated strictly at start-up. A broken file stops the app with a message naming the file,
the field and the problem."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, current_app

CONTENT_DIR = Path(__file__).resolve().parent / "content"
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
FIELD_TYPES = ("text", "textarea", "integer", "date", "choice")
DEFAULT_MAX_LENGTH = {"text": 200, "textarea": 2000}
LENGTH_CEILING = {"text": 300, "textarea": 5000}
DERIVED = ("positive_ratio", "thought_change", "ladder")
MEASURE_SLOTS = (
    "baseline_battery",
    "midpoint_battery",
    "end_battery",
    "weekly_checkin",
    "phq9",
    "gad7",
)
WEEKS = 12


class ContentError(Exception):
    """A content definition is broken. The message names the file, the field and the problem."""


@dataclass(frozen=True)
class Field:
    key: str
    type: str
    label: str
    help: str
    required: bool
    max_length: int | None
    min: int | None
    max: int | None
    choices: tuple[tuple[str, str], ...]
    show_with: str | None
    required_when: tuple[str, str] | None
    # Choice values that raise an alert for the treating therapist when the worksheet is sent
    # (a "red flag" answer): a flag in the content, so a practice's own worksheets can have it.
    alert_on: tuple[str, ...] = ()

    def choice_label(self, value: Any) -> str:
        """The label of a stored choice value."""
        return dict(self.choices).get(value, "" if value is None else str(value))


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    intro: str
    repeat: bool
    min_rows: int
    max_rows: int
    row_label: str
    order_by: str | None
    fields: tuple[Field, ...]

    def field(self, key: str) -> Field:
        return next(f for f in self.fields if f.key == key)


@dataclass(frozen=True)
class Worksheet:
    key: str
    version: int
    title: str
    summary: str
    instructions: str
    derived: str | None
    sections: tuple[Section, ...]
    sha256: str
    body: dict[str, Any] = field(compare=False, repr=False)
    # The answers a session summary quotes, as (section, field) pairs.
    key_fields: tuple[tuple[str, str], ...] = ()

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)


@dataclass(frozen=True)
class Week:
    number: int
    phase: str
    topic: str
    idea: str
    text: str
    worksheets: tuple[str, ...]
    measures: tuple[str, ...]
    # Weeks that ask the client to act towards a partner (lower their guard, raise a worry,
    # set a boundary). The suitability screen may leave them out or adapt them; `adapted` is
    # what the client reads in an adapted week, `therapist_note` what only the therapist sees.
    partner_facing: bool = False
    adapted: str = ""
    therapist_note: str = ""


@dataclass(frozen=True)
class Program:
    key: str
    version: int
    title: str
    description: str
    weeks: tuple[Week, ...]
    sha256: str
    body: dict[str, Any] = field(compare=False, repr=False)

    def week(self, number: int) -> Week:
        return self.weeks[number - 1]


@dataclass(frozen=True)
class Library:
    programs: dict[str, Program]
    worksheets: dict[str, Worksheet]
    # The suitability and safety screen: shaped like a worksheet, filled in by the therapist.
    screen: Worksheet


class Reader:
    """Reads one table of a definition, naming where it is in every error."""

    def __init__(self, data: dict[str, Any], where: str) -> None:
        self.data = data
        self.where = where
        self.used: set[str] = set()

    def fail(self, problem: str) -> ContentError:
        return ContentError(f"{self.where}: {problem}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is ...:
                raise self.fail(f"'{key}' is missing")
            return default
        value = self.data[key]
        if isinstance(value, bool) and kind is int:
            raise self.fail(f"'{key}' must be a whole number, not {value!r}")
        if not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise self.fail(f"'{key}' must be {names}, not {type(value).__name__}")
        if isinstance(value, str) and default is ... and not value.strip():
            raise self.fail(f"'{key}' is empty")
        return value

    def identifier(self, key: str) -> str:
        value = self.get(key, str)
        if not IDENTIFIER.match(value):
            raise self.fail(f"'{key}' = {value!r} must be lowercase letters, digits and _")
        return value

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.fail(f"unknown setting(s) {', '.join(map(repr, unknown))}")


def digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _parse_field(data: Any, where: str) -> Field:
    if not isinstance(data, dict):
        raise ContentError(f"{where}: must be a table")
    r = Reader(data, where)
    key = r.identifier("key")
    r.where = f"{where} '{key}'"
    kind = r.get("type", str)
    if kind not in FIELD_TYPES:
        raise r.fail(f"type {kind!r} is not one of {', '.join(FIELD_TYPES)}")
    max_length = low = high = None
    choices: tuple[tuple[str, str], ...] = ()
    if kind in DEFAULT_MAX_LENGTH:
        max_length = r.get("max_length", int, DEFAULT_MAX_LENGTH[kind])
        if not 1 <= max_length <= LENGTH_CEILING[kind]:
            raise r.fail(f"max_length must be from 1 to {LENGTH_CEILING[kind]}")
    if kind == "integer":
        low, high = r.get("min", int), r.get("max", int)
        if low >= high:
            raise r.fail(f"min ({low}) must be less than max ({high})")
    if kind == "choice":
        raw = r.get("choices", list)
        if len(raw) < 2:
            raise r.fail("choices needs at least two [value, label] pairs")
        for pair in raw:
            if (
                not isinstance(pair, list)
                or len(pair) != 2
                or not all(isinstance(p, str) and p for p in pair)
                or not IDENTIFIER.match(pair[0])
            ):
                raise r.fail(f"choice {pair!r} must be [value, label] with an identifier value")
        choices = tuple((v, label) for v, label in raw)
        if len({v for v, _ in choices}) != len(choices):
            raise r.fail("choice values repeat")
    required_when = None
    if "required_when" in data:
        cond = r.get("required_when", dict)
        if set(cond) != {"field", "equals"} or not all(isinstance(v, str) for v in cond.values()):
            raise r.fail('required_when must be { field = "...", equals = "..." }')
        required_when = (cond["field"], cond["equals"])
    alert_on = tuple(r.get("alert_on", list, []))
    if alert_on and (kind != "choice" or not set(alert_on) <= {v for v, _ in choices}):
        raise r.fail("alert_on must list choice values of a choice field")
    field = Field(
        key=key,
        type=kind,
        label=r.get("label", str),
        help=r.get("help", str, ""),
        required=r.get("required", bool, False),
        max_length=max_length,
        min=low,
        max=high,
        choices=choices,
        show_with=r.get("show_with", str, None),
        required_when=required_when,
        alert_on=alert_on,
    )
    r.done()
    return field


def _parse_section(data: Any, where: str) -> Section:
    if not isinstance(data, dict):
        raise ContentError(f"{where}: must be a table")
    r = Reader(data, where)
    key = r.identifier("key")
    r.where = where = f"{where} '{key}'"
    repeat = r.get("repeat", bool, False)
    min_rows = r.get("min_rows", int, 1)
    max_rows = r.get("max_rows", int, 1)
    if repeat and not 1 <= min_rows <= max_rows <= 50:
        raise r.fail(f"rows must satisfy 1 <= min_rows ({min_rows}) <= max_rows ({max_rows}) <= 50")
    if not repeat and ({"min_rows", "max_rows", "row_label", "order_by"} & set(data)):
        raise r.fail("min_rows, max_rows, row_label and order_by need repeat = true")
    raw_fields = r.get("fields", list)
    if not raw_fields:
        raise r.fail("has no fields")
    fields = tuple(_parse_field(f, f"{where} field {i + 1}") for i, f in enumerate(raw_fields))
    keys = [f.key for f in fields]
    if len(set(keys)) != len(keys):
        raise r.fail(f"field keys repeat: {keys}")
    for i, f in enumerate(fields):
        if f.show_with is not None and f.show_with not in keys[:i]:
            raise r.fail(f"field '{f.key}': show_with '{f.show_with}' is not an earlier field")
        if f.required_when is not None:
            other = f.required_when[0]
            if other not in keys or other == f.key:
                raise r.fail(f"field '{f.key}': required_when names unknown field '{other}'")
            target = next(x for x in fields if x.key == other)
            if target.choices and f.required_when[1] not in dict(target.choices):
                raise r.fail(f"field '{f.key}': required_when value is not a choice of '{other}'")
    order_by = r.get("order_by", str, None)
    if order_by is not None:
        by = next((f for f in fields if f.key == order_by), None)
        if by is None or by.type != "integer":
            raise r.fail(f"order_by '{order_by}' must name an integer field of this section")
    section = Section(
        key=key,
        title=r.get("title", str),
        intro=r.get("intro", str, ""),
        repeat=repeat,
        min_rows=min_rows if repeat else 1,
        max_rows=max_rows if repeat else 1,
        row_label=r.get("row_label", str, "Entry"),
        order_by=order_by,
        fields=fields,
    )
    r.done()
    return section


def parse_worksheet(body: dict[str, Any], where: str) -> Worksheet:
    """Build a worksheet definition from a TOML (or snapshot) document."""
    r = Reader(body, where)
    key = r.identifier("key")
    version = r.get("version", int)
    if version < 1:
        raise r.fail("'version' must be 1 or more")
    derived = r.get("derived", str, None)
    if derived is not None and derived not in DERIVED:
        raise r.fail(f"derived {derived!r} is not one of {', '.join(DERIVED)}")
    raw_sections = r.get("sections", list)
    if not raw_sections:
        raise r.fail("has no sections")
    sections = tuple(
        _parse_section(s, f"{where}: section {i + 1}") for i, s in enumerate(raw_sections)
    )
    keys = [s.key for s in sections]
    if len(set(keys)) != len(keys):
        raise r.fail(f"section keys repeat: {keys}")
    key_fields = []
    for entry in r.get("key_fields", list, []):
        section_key, _, field_key = str(entry).partition(".")
        section = next((s for s in sections if s.key == section_key), None)
        if section is None or field_key not in {f.key for f in section.fields}:
            raise r.fail(f"key_fields names {entry!r}, which is not a 'section.field' here")
        key_fields.append((section_key, field_key))
    worksheet = Worksheet(
        key=key,
        version=version,
        title=r.get("title", str),
        summary=r.get("summary", str),
        instructions=r.get("instructions", str, ""),
        derived=derived,
        sections=sections,
        body=body,
        sha256=digest(body),
        key_fields=tuple(key_fields),
    )
    r.done()
    _check_derived(worksheet, where)
    return worksheet


# Each derived figure reads these fields; a definition that offers it must have them.
_DERIVED_NEEDS = {
    "positive_ratio": ("days", ("positive", "negative")),
    "thought_change": ("entries", ("belief_before", "intensity_before", "intensity_after")),
    "ladder": ("steps", ("expected_discomfort", "done", "actual_discomfort")),
}


def _check_derived(ws: Worksheet, where: str) -> None:
    if ws.derived is None:
        return
    section_key, needed = _DERIVED_NEEDS[ws.derived]
    section = next((s for s in ws.sections if s.key == section_key and s.repeat), None)
    if section is None:
        raise ContentError(f"{where}: derived '{ws.derived}' needs a repeating '{section_key}'")
    missing = set(needed) - {f.key for f in section.fields}
    if missing:
        raise ContentError(f"{where}: derived '{ws.derived}' needs fields {sorted(missing)}")


def parse_program(body: dict[str, Any], where: str, worksheets: dict[str, Worksheet]) -> Program:
    """Build a program definition, checking every worksheet it names exists."""
    r = Reader(body, where)
    key = r.identifier("key")
    version = r.get("version", int)
    raw_weeks = r.get("weeks", list)
    weeks = []
    for i, data in enumerate(raw_weeks):
        if not isinstance(data, dict):
            raise r.fail(f"weeks[{i}] must be a table")
        w = Reader(data, f"{where}: week {data.get('number', i + 1)}")
        number = w.get("number", int)
        if number != i + 1:
            raise w.fail(f"weeks must be numbered 1 to {WEEKS} in order; found {number}")
        names = tuple(w.get("worksheets", list))
        for name in names:
            if name not in worksheets:
                raise w.fail(f"worksheet {name!r} does not exist")
        measures = tuple(w.get("measures", list, []))
        for slot in measures:
            if slot not in MEASURE_SLOTS:
                raise w.fail(f"measure {slot!r} is not one of {', '.join(MEASURE_SLOTS)}")
        weeks.append(
            Week(
                number=number,
                phase=w.get("phase", str),
                topic=w.get("topic", str),
                idea=w.get("idea", str),
                text=w.get("text", str),
                worksheets=names,
                measures=measures,
                partner_facing=w.get("partner_facing", bool, False),
                adapted=w.get("adapted", str, ""),
                therapist_note=w.get("therapist_note", str, ""),
            )
        )
        if weeks[-1].adapted and not weeks[-1].partner_facing:
            raise w.fail("'adapted' is only for a week marked partner_facing = true")
        w.done()
    if len(weeks) != WEEKS:
        raise r.fail(f"a program has {WEEKS} weeks; this one has {len(weeks)}")
    program = Program(
        key=key,
        version=version,
        title=r.get("title", str),
        description=r.get("description", str, ""),
        weeks=tuple(weeks),
        body=body,
        sha256=digest(body),
    )
    r.done()
    return program


SCREEN_KEY = "suitability"
SCREEN_OUTCOMES = ("suitable", "with_changes", "not_suitable")
WEEK_CHANGES = ("as_written", "adapted", "left_out")
SCREEN_STATUSES = ("no", "past", "now", "unknown")
_WEEK_FIELD = re.compile(r"^week_([0-9]+)$")


def parse_screen(body: dict[str, Any], where: str) -> Worksheet:
    """The screen: a worksheet whose 'outcome' section has an 'outcome' choice (suitable,
    with_changes, not_suitable) and may have week_<n> choices (as_written, adapted, left_out)."""
    ws = parse_worksheet(body, where)
    if ws.key != SCREEN_KEY:
        raise ContentError(f"{where}: the screen's key must be {SCREEN_KEY!r}")
    outcome = next((s for s in ws.sections if s.key == "outcome" and not s.repeat), None)
    field_ = next((f for f in outcome.fields if f.key == "outcome"), None) if outcome else None
    if field_ is None or field_.type != "choice" or not field_.required:
        raise ContentError(f"{where}: needs a section 'outcome' with a required choice 'outcome'")
    if {v for v, _ in field_.choices} != set(SCREEN_OUTCOMES):
        raise ContentError(f"{where}: the outcome's choices must be {', '.join(SCREEN_OUTCOMES)}")
    for section in ws.sections:
        status = next((f for f in section.fields if f.key == "status"), None)
        if section.key != "outcome" and (
            section.repeat
            or status is None
            or status.type != "choice"
            or not {v for v, _ in status.choices} <= set(SCREEN_STATUSES)
        ):
            raise ContentError(
                f"{where}: section {section.key!r} must be a single section with a choice "
                f"'status' offering only {', '.join(SCREEN_STATUSES)}"
            )
    for f in outcome.fields:  # type: ignore[union-attr]
        match = _WEEK_FIELD.match(f.key)
        if match is None:
            continue
        if not 1 <= int(match.group(1)) <= WEEKS:
            raise ContentError(f"{where}: '{f.key}' names no week of the plan")
        if f.type != "choice" or not {v for v, _ in f.choices} <= set(WEEK_CHANGES):
            raise ContentError(f"{where}: '{f.key}' must offer {', '.join(WEEK_CHANGES)}")
    return ws


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as error:
        raise ContentError(f"{path}: not valid TOML: {error}") from None


def load_library(*roots: Path) -> Library:
    """Read every worksheet and program under the given content folders (later roots may add
    definitions but not silently replace one with the same key)."""
    worksheets: dict[str, Worksheet] = {}
    program_files: list[Path] = []
    screen: Worksheet | None = None
    for root in roots:
        # One screen per practice: the practice's own file replaces the one shipped.
        screen_file = root / "screens" / f"{SCREEN_KEY}.toml"
        if screen_file.is_file():
            screen = parse_screen(read_toml(screen_file), str(screen_file))
        for path in sorted((root / "worksheets").glob("*.toml")):
            ws = parse_worksheet(read_toml(path), str(path))
            if ws.key != path.stem:
                raise ContentError(f"{path}: key {ws.key!r} must match the file name")
            if ws.key in worksheets:
                raise ContentError(f"{path}: a worksheet with key {ws.key!r} already exists")
            worksheets[ws.key] = ws
        program_files.extend(sorted((root / "programs").glob("*.toml")))
    programs: dict[str, Program] = {}
    for path in program_files:
        program = parse_program(read_toml(path), str(path), worksheets)
        if program.key != path.stem:
            raise ContentError(f"{path}: key {program.key!r} must match the file name")
        if program.key in programs:
            raise ContentError(f"{path}: a program with key {program.key!r} already exists")
        programs[program.key] = program
    if not programs:
        raise ContentError(f"no program definitions found under {', '.join(map(str, roots))}")
    if screen is None:
        raise ContentError(f"no screens/{SCREEN_KEY}.toml under {', '.join(map(str, roots))}")
    return Library(programs=programs, worksheets=worksheets, screen=screen)


def init_app(app: Flask) -> None:
    """Load and validate the content once, at start-up."""
    roots = [CONTENT_DIR]
    extra = Path(app.instance_path) / "content"
    if extra.is_dir():
        roots.append(extra)
    app.extensions["clinic.library"] = load_library(*roots)


def library() -> Library:
    """The current app's content library."""
    lib: Library = current_app.extensions["clinic.library"]
    return lib


DEFAULT_PROGRAM = "trust12"
