"""Worksheet answers without a form: their shape, checking, cleaning and derived figures.

Answers move through two shapes. *Raw* answers are what the person typed, as strings, kept
exactly (drafts store them, so nothing typed is ever lost). *Clean* answers are typed values
(int, ISO date string, text, choice value or None) made by `clean()` from raw answers that
passed `check(final=True)`; a submission stores those. Both shapes are
{section: {field: value}} for ordinary sections and {section: [{field: value}, ...]} for
repeating ones."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from . import text as text_module
from .library import Field, Section, Worksheet

# A draft may hold answers that are not ready to send (the person is still editing), but it is
# bounded like a submission: each text at most its field's max_length, each number, date or
# choice at most DRAFT_SHORT_CAP characters, each repeating section at most its max_rows
# filled rows (draft_problems). A form value is read as at most DRAFT_TEXT_CAP characters and
# a repeating section as at most DRAFT_ROW_CAP rows, so that the page can show the typing again.
DRAFT_TEXT_CAP = 20_000
DRAFT_SHORT_CAP = 100
DRAFT_ROW_CAP = 60

Raw = dict[str, Any]
Errors = dict[str, list[str]]


# --- shape ---------------------------------------------------------------------------------


def blank_raw(ws: Worksheet) -> Raw:
    """Empty answers: each repeating section starts with its minimum number of rows."""
    raw: Raw = {}
    for s in ws.sections:
        empty = {f.key: "" for f in s.fields}
        raw[s.key] = [dict(empty) for _ in range(max(s.min_rows, 1))] if s.repeat else empty
    return raw


def normalise_raw(ws: Worksheet, raw: Raw) -> Raw:
    """Raw answers in exactly the worksheet's shape (stored data from an older definition or
    a hand-made request may lack sections or have extra keys)."""
    out: Raw = {}
    for s in ws.sections:
        value = raw.get(s.key)
        if s.repeat:
            rows = value if isinstance(value, list) else []
            out[s.key] = [_norm_row(s, r) for r in rows[:DRAFT_ROW_CAP] if isinstance(r, dict)]
        else:
            out[s.key] = _norm_row(s, value if isinstance(value, dict) else {})
    return out


def _norm_row(section: Section, row: dict[str, Any]) -> dict[str, str]:
    return {f.key: "" if row.get(f.key) is None else str(row.get(f.key)) for f in section.fields}


@dataclass(frozen=True)
class Action:
    """What a button of the worksheet form asks for: "save", "submit", "add" a row to a
    repeating section, or "remove" the row at `index` from one."""

    kind: str
    section: str = ""
    index: int = -1


def parse_action(ws: Worksheet, action: str) -> Action | None:
    """The worksheet form's buttons: "save", "submit", "add:<section>" and
    "remove:<section>:<index>" for a repeating section of this worksheet. Anything else (a
    section it does not have, an index that is not a number) is None: no button sends it."""
    if action in ("save", "submit"):
        return Action(action)
    kind, _, rest = action.partition(":")
    key, _, index = rest.partition(":")
    section = next((s for s in ws.sections if s.key == key and s.repeat), None)
    if section is None:
        return None
    if kind == "add" and not index:
        return Action("add", key)
    number = text_module.whole_number(index)
    if kind == "remove" and number is not None:
        return Action("remove", key, number)
    return None


def add_row(ws: Worksheet, raw: Raw, section_key: str) -> Raw:
    """One more empty row in a repeating section (up to its maximum)."""
    s = ws.section(section_key)
    if s.repeat and len(raw[s.key]) < s.max_rows:
        raw[s.key] = [*raw[s.key], {f.key: "" for f in s.fields}]
    return raw


def remove_row(ws: Worksheet, raw: Raw, section_key: str, index: int) -> Raw:
    """Drop one row of a repeating section."""
    s = ws.section(section_key)
    if s.repeat and 0 <= index < len(raw[s.key]):
        raw[s.key] = raw[s.key][:index] + raw[s.key][index + 1 :]
    return raw


def row_focus(ws: Worksheet, raw: Raw, section_key: str) -> str | None:
    """The first field of the last row of a repeating section: where the cursor goes after
    a row was added (the page reloads without JavaScript)."""
    if section_key not in raw or not isinstance(raw[section_key], list) or not raw[section_key]:
        return None
    section = ws.section(section_key)
    return f"{section.key}-{len(raw[section_key]) - 1}-{section.fields[0].key}"


# --- checking and cleaning -------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or str(value).strip() == ""


def _is_empty_row(row: dict[str, Any]) -> bool:
    return all(_blank(v) for v in row.values())


def _parse_int(value: str) -> int | None:
    text = value.strip().replace("\u2212", "-")
    # Any answer's range is a few digits; thousands of them would not even convert.
    if text.lstrip("-").isdecimal() and len(text) <= DRAFT_SHORT_CAP:
        return int(text)
    return None


def _field_problem(f: Field, value: str, row: dict[str, str], final: bool) -> str | None:
    if _blank(value):
        needed = f.required
        if f.required_when is not None:
            other, equals = f.required_when
            needed = row.get(other, "").strip() == equals
        return "Please answer this before you submit." if needed and final else None
    text = value.strip()
    if f.type in ("text", "textarea") and text_module.has_control_characters(
        value, multiline=f.type == "textarea"
    ):
        return text_module.CONTROL_MESSAGE
    if f.type in ("text", "textarea") and f.max_length is not None and len(text) > f.max_length:
        return f"Use at most {f.max_length} characters (you have {len(text)})."
    if f.type == "integer":
        number = _parse_int(text)
        if number is None or not (f.min is not None and f.max is not None):
            return f"Enter a whole number from {f.min} to {f.max}."
        if not f.min <= number <= f.max:
            return f"Enter a whole number from {f.min} to {f.max} (you entered {text})."
    if f.type == "date":
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            return "Enter a real date, for example 2026-03-14."
        if not text_module.within_range(day):
            return text_module.DATE_RANGE_MESSAGE
    if f.type == "choice" and text not in dict(f.choices):
        return "Choose one of the options."
    return None


def sort_rows(ws: Worksheet, raw: Raw) -> Raw:
    """Keep ordered sections (the trust ladder) sorted by their order field, blanks last."""
    for s in ws.sections:
        if s.repeat and s.order_by:
            key = s.order_by

            def rank(row: dict[str, str], key: str = key) -> tuple[int, int]:
                number = _parse_int(row.get(key, "") or "")
                return (0, number) if number is not None else (1, 0)

            raw[s.key] = sorted(raw[s.key], key=rank)
    return raw


def check(ws: Worksheet, raw: Raw, *, final: bool) -> Errors:
    """Problems with raw answers, keyed by the form field id (e.g. 'entries-0-situation') or
    by the section key for row-count problems. Drafts (final=False) are only checked for
    values that are wrong, not for answers that are still missing."""
    errors: Errors = {}
    for s in ws.sections:
        if s.repeat:
            rows = raw[s.key]
            filled = [r for r in rows if not _is_empty_row(r)]
            if final and len(filled) < s.min_rows:
                rows_word = "row" if s.min_rows == 1 else "rows"
                errors[s.key] = [f"Please fill in at least {s.min_rows} {rows_word}."]
            if len(filled) > s.max_rows:
                errors[s.key] = [f"There is room for at most {s.max_rows} rows here."]
            for i, row in enumerate(rows):
                if final and _is_empty_row(row):
                    continue  # empty rows are dropped on submission
                for f in s.fields:
                    problem = _field_problem(f, row.get(f.key, ""), row, final)
                    if problem:
                        errors[f"{s.key}-{i}-{f.key}"] = [problem]
        else:
            row = raw[s.key]
            for f in s.fields:
                problem = _field_problem(f, row.get(f.key, ""), row, final)
                if problem:
                    errors[f"{s.key}-{f.key}"] = [problem]
    return errors


def _draft_cap(f: Field) -> int:
    if f.type in ("text", "textarea"):
        return f.max_length or DRAFT_TEXT_CAP
    return DRAFT_SHORT_CAP


def draft_problems(ws: Worksheet, raw: Raw) -> Errors:
    """What a draft may not hold (keyed like check()): text longer than its field allows, a
    number, date or choice longer than any real one, more filled rows than a section has room
    for. Such a draft is not stored; the person shortens it first."""
    errors: Errors = {}
    for s in ws.sections:
        rows = raw[s.key] if s.repeat else [raw[s.key]]
        if s.repeat and sum(1 for r in rows if not _is_empty_row(r)) > s.max_rows:
            errors[s.key] = [f"There is room for at most {s.max_rows} rows here."]
        for i, row in enumerate(rows):
            for f in s.fields:
                value = row.get(f.key, "")
                if len(value.strip()) > _draft_cap(f):
                    key = f"{s.key}-{i}-{f.key}" if s.repeat else f"{s.key}-{f.key}"
                    problem = _field_problem(f, value, row, final=False)
                    errors[key] = [problem or f"Use at most {_draft_cap(f)} characters."]
    return errors


def _clean_value(f: Field, value: str) -> Any:
    if _blank(value):
        return None
    text = value.strip()
    if f.type == "integer":
        return _parse_int(text)
    if f.type == "date":
        return dt.date.fromisoformat(text).isoformat()
    return text


def clean(ws: Worksheet, raw: Raw) -> Raw:
    """Typed answers from raw answers that passed check(final=True); empty rows are dropped."""
    out: Raw = {}
    raw = sort_rows(ws, normalise_raw(ws, raw))
    for s in ws.sections:
        if s.repeat:
            out[s.key] = [
                {f.key: _clean_value(f, row.get(f.key, "")) for f in s.fields}
                for row in raw[s.key]
                if not _is_empty_row(row)
            ]
        else:
            out[s.key] = {f.key: _clean_value(f, raw[s.key].get(f.key, "")) for f in s.fields}
    return out


def error_places(ws: Worksheet, errors: Errors) -> dict[str, str]:
    """Where each problem is, in the words on the page ('Moment 1: What I felt'), keyed like
    the errors, for the summary at the top of the form."""
    places: dict[str, str] = {}
    labels = [f.label for s in ws.sections for f in s.fields]
    for s in ws.sections:
        if s.key in errors:
            places[s.key] = s.title
        for f in s.fields:
            if not s.repeat:
                if f"{s.key}-{f.key}" in errors:  # a label used in several parts names its part
                    shared = labels.count(f.label) > 1
                    places[f"{s.key}-{f.key}"] = f"{s.title}: {f.label}" if shared else f.label
                continue
            for key in errors:
                index = key.removeprefix(f"{s.key}-").removesuffix(f"-{f.key}")
                if key.startswith(f"{s.key}-") and key.endswith(f"-{f.key}") and index.isdecimal():
                    places[key] = f"{s.row_label} {int(index) + 1}: {f.label}"
    return places


# --- derived figures (computed on the server from stored answers) ----------------------------


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    note: str = ""


def _ints(rows: list[dict[str, Any]], key: str) -> list[int]:
    out = []
    for row in rows:
        v = row.get(key)
        if isinstance(v, int):
            out.append(v)
        elif isinstance(v, str) and _parse_int(v) is not None:
            out.append(_parse_int(v))  # type: ignore[arg-type]
    return out


def derived_figures(ws: Worksheet, answers: Raw) -> list[Figure]:
    """The figures a worksheet offers, from raw or clean answers."""
    answers = normalise_raw(ws, answers) if answers else blank_raw(ws)
    if ws.derived == "positive_ratio":
        return _positive_ratio(answers["days"])
    if ws.derived == "thought_change":
        return _thought_change(answers["entries"])
    if ws.derived == "ladder":
        return _ladder(answers["steps"])
    return []


def positive_ratio(positive: int, negative: int) -> float | None:
    """Positive to negative interactions; None when there were no negative ones."""
    return None if negative == 0 else positive / negative


def _positive_ratio(rows: list[dict[str, Any]]) -> list[Figure]:
    # Gottman's observational studies of couples found that stable relationships showed about
    # five positive interactions for every negative one during conflict (Gottman 1994, "What
    # Predicts Divorce?"); the worksheet uses 5:1 as a gentle reference point, not a test.
    pos, neg = sum(_ints(rows, "positive")), sum(_ints(rows, "negative"))
    days = sum(1 for r in rows if not _is_empty_row(r))
    if pos == 0 and neg == 0:
        return [Figure("Positive to negative this week", "Nothing logged yet")]
    ratio = positive_ratio(pos, neg)
    if ratio is None:
        return [
            Figure(
                "Positive to negative this week",
                f"{pos} : 0",
                f"{pos} positive and no negative moments over {days} day(s). Above 5 : 1.",
            )
        ]
    where = "at or above" if ratio >= 5 else "below"
    return [
        Figure(
            "Positive to negative this week",
            f"{ratio:.1f} : 1",
            f"{pos} positive and {neg} negative over {days} day(s); {where} the 5 : 1 guide.",
        )
    ]


def _thought_change(rows: list[dict[str, Any]]) -> list[Figure]:
    figures = []
    for i, row in enumerate(r for r in rows if not _is_empty_row(r)):
        before, after = _ints([row], "intensity_before"), _ints([row], "intensity_after")
        belief, balanced = _ints([row], "belief_before"), _ints([row], "belief_balanced")
        parts = []
        if before and after:
            parts.append(f"emotion {before[0]} → {after[0]} ({after[0] - before[0]:+d})")
        if belief and balanced:
            parts.append(f"belief: automatic thought {belief[0]}, balanced thought {balanced[0]}")
        if parts:
            figures.append(Figure(f"Thought {i + 1}", "; ".join(parts)))
    return figures


def _ladder(rows: list[dict[str, Any]]) -> list[Figure]:
    steps = [r for r in rows if not _is_empty_row(r)]
    if not steps:
        return []
    done = [r for r in steps if r.get("done") == "yes"]
    figures = [Figure("Steps taken", f"{len(done)} of {len(steps)}")]
    upcoming = next((r for r in steps if r.get("done") != "yes"), None)
    if upcoming is not None:
        figures.append(Figure("Next step", str(upcoming.get("step") or "(unnamed step)")))
    diffs = []
    for r in done:
        expected, actual = _ints([r], "expected_discomfort"), _ints([r], "actual_discomfort")
        if expected and actual:
            diffs.append(actual[0] - expected[0])
    if diffs:
        mean = sum(diffs) / len(diffs)
        figures.append(
            Figure(
                "Actual minus expected discomfort",
                f"{mean:+.0f} on average",
                "Negative means the steps felt easier than expected.",
            )
        )
    return figures


def key_answers(ws: Worksheet, answers: Raw, limit: int = 400) -> list[tuple[str, str]]:
    """The answers a summary quotes (the worksheet's key_fields), as (label, text) pairs in
    row order; long text is shortened with an ellipsis, choices show their labels."""
    answers = normalise_raw(ws, answers) if answers else blank_raw(ws)
    quoted: list[tuple[str, str]] = []
    for section in ws.sections:
        keys = [f for s, f in ws.key_fields if s == section.key]
        if not keys:
            continue
        rows = answers[section.key] if section.repeat else [answers[section.key]]
        rows = [r for r in rows if not _is_empty_row(r)]
        for i, row in enumerate(rows, start=1):
            for key in keys:
                f = section.field(key)
                value = str(row.get(key) or "").strip()
                if not value:
                    continue
                if f.type == "choice":
                    value = f.choice_label(value)
                if len(value) > limit:
                    value = value[: limit - 1].rstrip() + "…"
                label = f"{section.row_label} {i}: {f.label}" if section.repeat else f.label
                quoted.append((label, value))
    return quoted
