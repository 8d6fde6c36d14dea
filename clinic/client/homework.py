"""One piece of homework: the form with its draft, saving, adding rows, sending, and settling
a save that collided with another tab or device."""

from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .. import alerts, audit, plans
from .. import answers as engine
from .. import db as database
from ..models import (
    Assignment,
    PlanStatus,
    Submission,
    SubmissionRevision,
    SubmissionStatus,
)
from ..timeutil import local_time, local_today
from ..web.downloads import download
from ..web.forms import version_arg
from ..web.gates import signed_in_user
from ..web.worksheet_form import apply_errors, build_form, raw_from_form
from .blueprint import bp, get_assignment_or_404, get_revision_or_404


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
        and ctx["assignment"].plan.status != PlanStatus.FINISHED.value
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
            red_flag=_open_red_flag(sub),
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


@bp.get("/homework/<int:assignment_id>/worksheet.pdf")
def homework_print(assignment_id: int) -> Response:
    """This homework on paper: blank to write on by hand (?blank=1), or with my answers."""
    from ..reports import worksheet_pdf  # ReportLab loads on the first PDF

    assignment = get_assignment_or_404(assignment_id)
    client = signed_in_user()
    blank = request.args.get("blank") == "1"
    item = worksheet_pdf.for_assignment(
        database.session(), client, assignment, blank=blank, drafts=True
    )
    audit.record("export", "worksheet", assignment.id, subject_id=client.id)
    kind = "my-answers" if item.answers else "blank"
    return download(
        worksheet_pdf.worksheet_pdf(item),
        f"bedrock-{assignment.worksheet_key}-{kind}.pdf",
        "application/pdf",
    )


@bp.post("/homework/<int:assignment_id>")
def save_homework(assignment_id: int) -> Response | tuple[str, int]:
    """Save a draft, add or remove a row, or submit (and correct until reviewed)."""
    assignment = get_assignment_or_404(assignment_id)
    ctx = _form_context(assignment)
    client = signed_in_user()
    raw = raw_from_form(ctx["ws"], build_form(ctx["ws"], formdata=request.form))
    action, base = request.form.get("action", "save"), version_arg(request.form.get("version"))
    out = plans.act_on_answers(
        database.session(), assignment, client, raw, action, base, replacing=_replacing()
    )
    if out.keep:
        database.keep_changes()  # the typing is kept although the page reports a problem
    if out.kind == "sent" and out.submission is not None:
        audit.record("change", "submission", out.submission.id, subject_id=client.id)
    return _after_answers(ctx, out)


def _after_answers(ctx: dict[str, Any], out: plans.AnswersOutcome) -> Response | tuple[str, int]:
    """Where a save, a row change or a send leads: back to the homework, the conflict page,
    or the form again with what needs fixing."""
    assignment = ctx["assignment"]
    if out.kind in ("sent", "saved"):
        done: dict[str, Any] = {"sent": 1} if out.kind == "sent" else {"saved": 1}
        return redirect(url_for("client.homework", assignment_id=assignment.id, **done))
    if out.kind == "conflict" and out.submission and out.revision:
        return _conflict_page(assignment, out.submission, out.revision)
    status = {"invalid": 422, "refused": 409, "unknown": 400}.get(out.kind, 200)
    ctx["submission"] = out.submission
    return _render(
        ctx,
        out.raw,
        out.errors,
        status=status,
        notice=out.message,
        version=out.version,
        focus_id=out.focus,
    )


def _open_red_flag(sub: Submission | None) -> bool:
    """Whether these sent answers raised an alert that is still open."""
    if sub is None or sub.status == SubmissionStatus.DRAFT.value:
        return False
    raised = alerts.raised_by(database.session(), submission_id=sub.id)
    return any(a.acknowledged_at is None for a in raised)


def _replacing() -> bool:
    """The person saw a conflict and chose their own version (the other is kept)."""
    return request.form.get("replacing") == "1"


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
    revision = get_revision_or_404(assignment, revision_id)
    db = database.session()
    back = url_for("client.homework", assignment_id=assignment.id)
    if request.form.get("keep") != "mine":
        flash("The saved answers are kept. What you typed is kept as an earlier version.", "info")
        return redirect(back)
    try:
        plans.keep_set_aside(
            db, assignment, signed_in_user(), revision, version_arg(request.form.get("version"))
        )
    except plans.SaveConflict as conflict:
        db.refresh(conflict.submission)
        return _conflict_page(assignment, conflict.submission, revision)
    except plans.PlanError as error:
        flash(error.message, "error")
        return redirect(back)
    flash("Your answers are kept. The other version is kept as an earlier version.", "success")
    return redirect(back)


@bp.post("/homework/<int:assignment_id>/autosave")
def autosave(assignment_id: int) -> tuple[Response, int]:
    """Save a draft in the background while the client types (JSON for the page's script)."""
    assignment = get_assignment_or_404(assignment_id)
    ws = _form_context(assignment)["ws"]
    raw = raw_from_form(ws, build_form(ws, formdata=request.form))
    client = signed_in_user()
    out = plans.act_on_answers(
        database.session(),
        assignment,
        client,
        raw,
        "save",
        version_arg(request.form.get("version")),
        replacing=_replacing(),
        background=True,
    )
    if out.kind == "invalid":  # too long to keep: the page's own save shows where
        return jsonify(status="invalid", message=out.message), 422
    if out.kind != "saved" or out.submission is None:
        status = "conflict" if out.kind == "conflict" else "locked"
        return jsonify(status=status, message=out.message), 409
    when = local_time(out.submission.saved_at, client).strftime("%H:%M")
    return jsonify(status="saved", version=out.version, saved_at=when), 200
