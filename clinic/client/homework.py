"""One piece of homework: the form with its draft, saving, adding rows, sending, and settling a save that collided with another tab or device."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .. import answers as engine
from .. import audit, plans
from .. import db as database
from ..models import (
    Assignment,
    Submission,
    SubmissionRevision,
    SubmissionStatus,
)
from ..timeutil import local_time, local_today
from ..web.forms import int_arg
from ..web.gates import signed_in_user
from .blueprint import bp, get_assignment_or_404
from .worksheet_form import apply_errors, build_form, raw_from_form


def _form_context(assignment: Assignment) -> dict[str, Any]:
    db = database.session()
    sub = assignment.submission
    ws = plans.worksheet(db, assignment.worksheet_key, sub.worksheet_version if sub else None)
    return {"assignment": assignment, "submission": sub, "ws": ws}


def _render(
    ctx: dict[str, Any],
    raw: engine.Raw,
    errors: engine.Errors,
    *,
    status: int = 200,
    notice: str | None = None,
    version: int | None = None,
    replacing: bool = False,
    focus_id: str | None = None,
) -> tuple[str, int]:
    ws = ctx["ws"]
    sub: Submission | None = ctx["submission"]
    form = build_form(ws, raw)
    apply_errors(form, errors)
    editable = (
        ctx["assignment"].removed_at is None
        and ctx["assignment"].plan.status != "finished"
        and (sub is None or sub.status != SubmissionStatus.REVIEWED.value)
    )
    return (
        render_template(
            "client/homework.html",
            form=form,
            raw=engine.normalise_raw(ws, raw),
            errors=errors,
            error_places=engine.error_places(ws, errors),
            section_errors={s.key: errors.get(s.key, []) for s in ws.sections},
            figures=engine.derived_figures(ws, raw),
            version=version if version is not None else (sub.version if sub else 0),
            replacing=replacing,
            notice=notice,
            focus_id=focus_id,
            editable=editable,
            state=plans.homework_state(ctx["assignment"], local_today(signed_in_user())),
            saved_at=local_time(sub.saved_at, signed_in_user()) if sub else None,
            **ctx,
        ),
        status,
    )


@bp.get("/homework/<int:assignment_id>")
def homework(assignment_id: int) -> tuple[str, int]:
    """One piece of homework: the form (with the saved draft), or the sent answers."""
    assignment = get_assignment_or_404(assignment_id)
    ctx = _form_context(assignment)
    sub, ws = ctx["submission"], ctx["ws"]
    raw = sub.answers if sub is not None else engine.blank_raw(ws)
    errors = engine.check(ws, engine.normalise_raw(ws, raw), final=False) if sub else {}
    return _render(ctx, raw, errors)


@bp.post("/homework/<int:assignment_id>")
def save_homework(assignment_id: int) -> Response | tuple[str, int]:
    """Save a draft, add or remove a row, or submit (and correct until reviewed)."""
    assignment = get_assignment_or_404(assignment_id)
    ctx = _form_context(assignment)
    ws, sub = ctx["ws"], ctx["submission"]
    db = database.session()
    client = signed_in_user()
    form = build_form(ws, formdata=request.form)
    raw = raw_from_form(ws, form)
    action = request.form.get("action", "save")
    base = int_arg(request.form.get("version"))
    replacing = request.form.get("replacing") == "1"
    kind, _, rest = action.partition(":")
    if kind == "add":
        raw = engine.add_row(ws, raw, rest)
    elif kind == "remove":
        section, _, index = rest.partition(":")
        raw = engine.remove_row(ws, raw, section, int_arg(index, -1))
    try:
        if kind == "submit":
            sent = plans.submit(db, assignment, client, raw, base)
            audit.record("change", "submission", sent.id, subject_id=client.id)
            return redirect(url_for("client.homework", assignment_id=assignment.id, sent=1))
        if sub is not None and sub.status != SubmissionStatus.DRAFT.value:
            # Correcting sent answers: rows change on screen only, nothing is saved until sent.
            if kind in ("add", "remove"):
                return _render(ctx, raw, {}, version=base, focus_id=_row_focus(ws, raw, kind, rest))
            raise plans.Locked("These answers have already been sent. Use 'Send changes'.")
        saved = plans.save_draft(db, assignment, client, raw, base, replacing=replacing)
    except plans.InvalidAnswers as invalid:
        raw = invalid.raw
        if sub is None or sub.status == SubmissionStatus.DRAFT.value:
            try:  # keep the typing as a draft while the page says what needs fixing
                saved = plans.save_draft(db, assignment, client, raw, base, replacing=replacing)
                database.keep_changes()
                ctx["submission"] = saved
                base = saved.version
            except plans.PlanError:
                pass
        return _render(
            ctx,
            raw,
            invalid.errors,
            status=422,
            version=base,
            notice="Some answers need a look before you send them.",
        )
    except plans.SaveConflict as conflict:
        current = conflict.submission
        db.refresh(current)
        # Both versions are kept: the typed one is filed now, and the person chooses.
        revision = plans.set_aside(db, current, raw, client)
        database.keep_changes()
        return _conflict_page(assignment, current, revision)
    except plans.PlanError as error:
        return _render(ctx, raw, {}, status=409, notice=error.message, version=base)
    if kind in ("add", "remove"):
        return _render(
            ctx | {"submission": saved},
            raw,
            {},
            version=saved.version,
            focus_id=_row_focus(ws, raw, kind, rest),
        )
    return redirect(url_for("client.homework", assignment_id=assignment.id, saved=1))


def _conflict_page(
    assignment: Assignment, current: Submission, revision: SubmissionRevision
) -> tuple[str, int]:
    """Both versions side by side: the one saved now and the one just typed."""
    client = signed_in_user()
    ws = plans.worksheet(database.session(), assignment.worksheet_key, current.worksheet_version)
    return render_template(
        "client/conflict.html",
        assignment=assignment,
        ws=ws,
        current=current,
        revision=revision,
        saved_at=local_time(current.saved_at, client),
        typed_at=local_time(revision.saved_at, client),
    ), 409


@bp.post("/homework/<int:assignment_id>/conflict/<int:revision_id>")
def resolve_conflict(assignment_id: int, revision_id: int) -> Response | tuple[str, int]:
    """Keep the answers just typed, or the ones saved elsewhere; the other stays on file."""
    assignment = get_assignment_or_404(assignment_id)
    sub = assignment.submission
    db = database.session()
    revision = db.scalar(
        sa.select(SubmissionRevision).where(
            SubmissionRevision.id == revision_id,
            SubmissionRevision.submission_id == (sub.id if sub else None),
            SubmissionRevision.reason == "conflict",
        )
    )
    if sub is None or revision is None:
        abort(404)
    if request.form.get("keep") != "mine":
        flash("The saved answers are kept. What you typed is kept as an earlier version.", "info")
        return redirect(url_for("client.homework", assignment_id=assignment.id))
    try:
        plans.keep_set_aside(
            db, assignment, signed_in_user(), revision, int_arg(request.form.get("version"))
        )
    except plans.SaveConflict as conflict:
        db.refresh(conflict.submission)
        return _conflict_page(assignment, conflict.submission, revision)
    except plans.PlanError as error:
        flash(error.message, "error")
        return redirect(url_for("client.homework", assignment_id=assignment.id))
    flash("Your answers are kept. The other version is kept as an earlier version.", "success")
    return redirect(url_for("client.homework", assignment_id=assignment.id))


@bp.post("/homework/<int:assignment_id>/autosave")
def autosave(assignment_id: int) -> tuple[Response, int]:
    """Save a draft in the background while the client types (JSON for the page's script)."""
    assignment = get_assignment_or_404(assignment_id)
    ctx = _form_context(assignment)
    ws = ctx["ws"]
    form = build_form(ws, formdata=request.form)
    raw = raw_from_form(ws, form)
    base = int_arg(request.form.get("version"))
    client = signed_in_user()
    try:
        saved = plans.save_draft(
            database.session(),
            assignment,
            client,
            raw,
            base,
            replacing=request.form.get("replacing") == "1",
        )
    except plans.SaveConflict as conflict:
        return jsonify(status="conflict", message=conflict.message), 409
    except plans.PlanError as error:
        return jsonify(status="locked", message=error.message), 409
    when = local_time(saved.saved_at, client)
    return jsonify(status="saved", version=saved.version, saved_at=when.strftime("%H:%M")), 200


def _row_focus(ws, raw: engine.Raw, kind: str, rest: str) -> str | None:  # type: ignore[no-untyped-def]
    """After adding a row, put the cursor in it (the page reloads without JavaScript)."""
    section_key = rest.partition(":")[0]
    if kind != "add" or section_key not in raw or not isinstance(raw[section_key], list):
        return None
    section = ws.section(section_key)
    return f"{section.key}-{len(raw[section_key]) - 1}-{section.fields[0].key}"
