"""Valid and invalid form data for any worksheet definition, made from the definition itself."""

from __future__ import annotations

from clinic.library import Field, Section, Worksheet


def valid_value(f: Field, row: int = 0) -> str:
    if f.type == "integer":
        assert f.min is not None and f.max is not None
        return str(min(f.max, f.min + 10 * (row + 1)))  # increasing, so ordered sections stay put
    if f.type == "date":
        return f"2026-03-{row + 1:02d}"
    if f.type == "choice":
        return f.choices[0][0]
    return f"{f.label} – answer {row + 1}"[: f.max_length or 200]


def field_name(section: Section, f: Field, row: int | None) -> str:
    return f"{section.key}-{row}-{f.key}" if section.repeat else f"{section.key}-{f.key}"


def valid_formdata(ws: Worksheet, rows: int | None = None) -> dict[str, str]:
    """Every field answered with an acceptable value; repeating sections get min_rows rows."""
    data: dict[str, str] = {}
    for s in ws.sections:
        if s.repeat:
            for i in range(rows if rows is not None else s.min_rows):
                for f in s.fields:
                    data[field_name(s, f, i)] = valid_value(f, i)
        else:
            for f in s.fields:
                data[field_name(s, f, None)] = valid_value(f)
    return data


def bad_values(f: Field) -> list[tuple[str, str]]:
    """(typed value, a fragment of the message it should get) for each bound of a field."""
    if f.type == "integer":
        return [
            (str((f.min or 0) - 1), f"from {f.min} to {f.max}"),
            (str((f.max or 0) + 1), f"from {f.min} to {f.max}"),
            ("lots", "whole number"),
        ]
    if f.type in ("text", "textarea"):
        assert f.max_length is not None
        return [("é" * (f.max_length + 1), f"at most {f.max_length} characters")]
    if f.type == "date":
        return [("2026-02-30", "real date")]
    if f.type == "choice":
        return [("maybe_not_an_option", "Choose one of the options")]
    raise AssertionError(f.type)
