"""The WTForms half of a worksheet: a form class built from its definition (cached per
definition), filled from what was posted or from stored answers, and the errors of
`answers.check()` attached to its fields. The answers themselves (shape, checks, cleaning,
figures) are form-free, in clinic/answers.py."""

from __future__ import annotations

from functools import cache
from typing import Any

from werkzeug.datastructures import MultiDict
from wtforms import Form, RadioField, StringField, TextAreaField
from wtforms.fields import FieldList, FormField
from wtforms.fields.core import Field as WTField

from ..answers import DRAFT_ROW_CAP, DRAFT_TEXT_CAP, Errors, Raw, blank_raw, normalise_raw
from ..library import Field, Section, Worksheet
from .forms import Form as PageForm
from .forms import options


def _wt_field(f: Field) -> WTField:
    kwargs: dict[str, Any] = {"label": f.label, "description": f.help}
    if f.type == "textarea":
        return TextAreaField(**kwargs)
    if f.type == "choice":
        return RadioField(choices=options(f.choices), validate_choice=False, **kwargs)
    render_kw: dict[str, Any] = {}
    if f.type == "integer":
        render_kw = {
            "type": "number",
            "inputmode": "numeric",
            "min": f.min,
            "max": f.max,
            "step": 1,
        }
    elif f.type == "date":
        render_kw = {"type": "date"}
    return StringField(render_kw=render_kw, **kwargs)


def _section_form(section: Section) -> type[Form]:
    attrs = {f.key: _wt_field(f) for f in section.fields}
    return type(f"{section.key.title()}Section", (Form,), attrs)


@cache
def form_class(ws: Worksheet) -> type[PageForm]:
    """The WTForms class for one worksheet definition (cached per definition)."""
    attrs: dict[str, Any] = {}
    for section in ws.sections:
        sub = _section_form(section)
        attrs[section.key] = (
            FieldList(FormField(sub), min_entries=0) if section.repeat else FormField(sub)
        )
    return type(f"{ws.key.title()}Form", (PageForm,), attrs)


def build_form(
    ws: Worksheet, raw: Raw | None = None, formdata: MultiDict | None = None
) -> PageForm:
    """A form filled from submitted form data, or else from stored raw answers."""
    cls = form_class(ws)
    if formdata is not None:
        return cls(formdata=formdata)
    data = normalise_raw(ws, raw or blank_raw(ws))
    form = cls(formdata=None, data=data)
    return form


def raw_from_form(ws: Worksheet, form: PageForm) -> Raw:
    """What the person typed, as strings, in the shape of the worksheet."""
    raw: Raw = {}
    for s in ws.sections:
        if s.repeat:
            rows = [_row_values(s, entry.form) for entry in form[s.key].entries]
            raw[s.key] = rows[:DRAFT_ROW_CAP]
        else:
            raw[s.key] = _row_values(s, form[s.key].form)
    return raw


def _row_values(section: Section, sub: Form) -> dict[str, str]:
    values = {}
    for f in section.fields:
        value = sub[f.key].data
        values[f.key] = ("" if value is None else str(value))[:DRAFT_TEXT_CAP]
    return values


def apply_errors(form: PageForm, errors: Errors) -> None:
    """Attach errors from check() to the form's fields so the template shows them in place."""
    for field_id, messages in errors.items():
        target = _find_field(form, field_id)
        if target is not None:
            target.errors = list(messages)


def _find_field(form: Form, field_id: str) -> WTField | None:
    for field in form:
        if field.id == field_id:
            return field
        if isinstance(field, FormField):
            found = _find_field(field.form, field_id)
            if found is not None:
                return found
        if isinstance(field, FieldList):
            for entry in field.entries:
                found = _find_field(entry.form, field_id)
                if found is not None:
                    return found
    return None
