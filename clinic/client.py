"""Client blueprint: the client's own pages. Everything here is the signed-in client's own."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from . import accounts, audit, exports, mail, measures, plans, questionnaires, reports
from . import db as database
from . import worksheets as engine
from .auth import require_fresh_sign_in, require_role, signed_in_user
from .forms import CheckInForm, ClientSettingsForm, options, time_zones
from .models import (
    Administration,
    Alert,
    Assignment,
    Plan,
    Role,
    Submission,
    SubmissionRevision,
    SubmissionStatus,
)
from .progress import measure_charts
from .timeutil import local_time, local_today

bp = Blueprint("client", __name__, url_prefix="/me")
require_role(bp, Role.CLIENT)


def get_assignment_or_404(assignment_id: int) -> Assignment:
    """Homework in one of the signed-in client's own plans; anything else is 404."""
    assignment = plans.find_assignment(database.session(), signed_in_user().id, assignment_id)
    if assignment is None:
        audit.denied("assignment", assignment_id)
        abort(404)
    return assignment


def _current_plan() -> Plan | None:
    db = database.session()
    client = signed_in_user()
    plan = plans.open_plan(db, client)
    if plan is None:  # show the most recent finished plan, if any
        plan = db.scalar(
            sa.select(Plan).where(Plan.client_id == client.id).order_by(Plan.id.desc()).limit(1)
        )
    return plan


@bp.get("/")
def home() -> str:
    """This week: the phase and week, the week's idea, and the homework as cards."""
    client = signed_in_user()
    db = database.session()
    therapist = accounts.therapist_of(db, client)
    plan = _current_plan()
    if plan is None:
        return render_template(
            "client/home.html",
            client=client,
            therapist=therapist,
            plan=None,
            requests=questionnaires.pending_requests(db, client),
            instruments=measures.instruments(),
        )
    today = local_today(client)
    where = plans.position(plan, today)
    program = plans.program_of(db, plan)
    live = [a for a in plan.assignments if a.removed_at is None]
    this_week = [a for a in live if a.week == where.week]
    earlier = [
        a
        for a in live
        if a.week < where.week
        and plans.homework_state(a, today) in ("draft", "overdue", "not_started")
    ]
    next_week = [a for a in live if a.week == where.week + 1]
    library = {a.worksheet_key: plans.worksheet(db, a.worksheet_key) for a in live}
    dues, check_in_due = ([], False)
    if plan.status != "finished":
        dues, check_in_due = questionnaires.scheduled(db, plan, where.week)
        if where.week > 1:  # last week's questionnaires stay open for a week
            dues += [d for d in questionnaires.scheduled(db, plan, where.week - 1)[0] if not d.done]
    return render_template(
        "client/home.html",
        dues=dues,
        check_in_due=check_in_due,
        check_in_done=questionnaires.check_in_for(db, plan, where.week) if check_in_due else None,
        requests=questionnaires.pending_requests(db, client),
        instruments=measures.instruments(),
        client=client,
        therapist=therapist,
        plan=plan,
        where=where,
        week=program.week(where.week),
        upcoming=program.week(where.week + 1) if where.week < plans.WEEKS else None,
        this_week=this_week,
        earlier=earlier,
        next_week=next_week,
        library=library,
        state=lambda a: plans.homework_state(a, today),
        today=today,
    )


@bp.get("/history")
def history() -> str:
    """Everything the client has sent, newest week first."""
    client = signed_in_user()
    db = database.session()
    rows = db.execute(
        sa.select(Submission, Assignment)
        .join(Assignment, Assignment.id == Submission.assignment_id)
        .where(
            Submission.client_id == client.id,
            Submission.status != SubmissionStatus.DRAFT.value,
        )
        .order_by(Assignment.week.desc(), Submission.submitted_at.desc())
    ).all()
    titles = {a.worksheet_key: plans.worksheet(db, a.worksheet_key).title for _, a in rows}
    return render_template("client/history.html", rows=rows, titles=titles)


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
    form = engine.build_form(ws, raw)
    engine.apply_errors(form, errors)
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
    form = engine.build_form(ws, formdata=request.form)
    raw = engine.raw_from_form(ws, form)
    action = request.form.get("action", "save")
    base = _int(request.form.get("version"))
    replacing = request.form.get("replacing") == "1"
    kind, _, rest = action.partition(":")
    if kind == "add":
        raw = engine.add_row(ws, raw, rest)
    elif kind == "remove":
        section, _, index = rest.partition(":")
        raw = engine.remove_row(ws, raw, section, _int(index, -1))
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
            db, assignment, signed_in_user(), revision, _int(request.form.get("version"))
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
    form = engine.build_form(ws, formdata=request.form)
    raw = engine.raw_from_form(ws, form)
    base = _int(request.form.get("version"))
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


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int(value or default)
    except ValueError:
        return default


# --- questionnaires and the weekly check-in -------------------------------------------------


def _plan_week_or_404(week: int) -> Plan:
    """The client's open plan, for a week that has already begun."""
    db = database.session()
    client = signed_in_user()
    plan = plans.open_plan(db, client)
    if plan is None or not 1 <= week <= plans.position(plan, local_today(client)).week:
        abort(404)
    return plan


def get_request_or_404(administration_id: int) -> Administration:
    """A questionnaire sent to the signed-in client; anything else is 404."""
    row = database.session().scalar(
        sa.select(Administration).where(
            Administration.id == administration_id,
            Administration.client_id == signed_in_user().id,
        )
    )
    if row is None:
        audit.denied("administration", administration_id)
        abort(404)
    return row


def _questionnaire_page(
    code: str, errors: dict[str, str], answers: dict[str, Any], status: int = 200
):  # type: ignore[no-untyped-def]
    inst = measures.instrument(code)
    return render_template(
        "client/questionnaire.html", inst=inst, errors=errors, answers=answers
    ), status


def _complete(code: str, **where: Any) -> Response | tuple[str, int]:
    """Validate and store a questionnaire, then show the thank-you (and safety) page."""
    client = signed_in_user()
    try:
        answers = questionnaires.parse_answers(code, request.form)
        row, _ = questionnaires.complete(database.session(), client, code, answers, client, **where)
        audit.record("create", "administration", row.id, subject_id=client.id)
    except questionnaires.Unanswered as missing:
        return _questionnaire_page(code, missing.errors, request.form.to_dict(), 422)
    except questionnaires.QuestionnaireError as error:
        flash(error.message, "info")
        return redirect(url_for("client.home"))
    return redirect(url_for("client.answered", administration_id=row.id))


@bp.route("/questionnaires/week/<int:week>/<code>", methods=["GET", "POST"])
def scheduled_questionnaire(week: int, code: str) -> Response | tuple[str, int]:
    """A questionnaire the plan schedules for this week (or an earlier one)."""
    plan = _plan_week_or_404(week)
    db = database.session()
    slot = questionnaires.slot_for(db, plan, week, code)
    if slot is None:
        abort(404)
    done = next(
        (d.done for d in questionnaires.scheduled(db, plan, week)[0] if d.code == code), None
    )
    if done is not None:
        return redirect(url_for("client.answered", administration_id=done.id))
    if request.method == "POST":
        return _complete(code, plan=plan, week=week, slot=slot)
    return _questionnaire_page(code, {}, {})


@bp.route("/questionnaires/<int:administration_id>", methods=["GET", "POST"])
def requested_questionnaire(administration_id: int) -> Response | tuple[str, int]:
    """A questionnaire the therapist sent."""
    row = get_request_or_404(administration_id)
    if row.completed_at is not None:
        return redirect(url_for("client.answered", administration_id=row.id))
    if request.method == "POST":
        return _complete(row.instrument_code, request_row=row)
    return _questionnaire_page(row.instrument_code, {}, {})


@bp.get("/questionnaires/<int:administration_id>/answered")
def answered(administration_id: int) -> str:
    """Thank you; the score in plain words if the practice shows scores; the safety message
    with the practice's crisis contacts if the answers raised an alert."""
    row = get_request_or_404(administration_id)
    if row.completed_at is None:
        abort(404)
    client = signed_in_user()
    raised = (
        database.session().scalars(sa.select(Alert).where(Alert.administration_id == row.id)).all()
    )
    return render_template(
        "client/answered.html",
        inst=measures.instrument(row.instrument_code),
        row=row,
        show_scores=client.practice.clients_see_scores,
        safety=bool(raised),
        practice=client.practice,
    )


@bp.route("/check-in/<int:week>", methods=["GET", "POST"])
def check_in(week: int) -> Response | tuple[str, int]:
    """The weekly check-in: three quick ratings and an optional note."""
    plan = _plan_week_or_404(week)
    client = signed_in_user()
    db = database.session()
    done = questionnaires.check_in_for(db, plan, week)
    form = CheckInForm()
    raised: list[Alert] = []
    if done is None and form.validate_on_submit():
        try:
            done, raised = questionnaires.record_check_in(
                db,
                client,
                plan,
                week,
                client,
                trust=int(form.trust.data or 0),
                distress=int(form.distress.data or 0),
                helpfulness=int(form.helpfulness.data) if form.helpfulness.data else None,
                note=form.note.data,
            )
        except questionnaires.QuestionnaireError as error:
            getattr(form, error.field or "trust").errors = [error.message]
        else:
            audit.record("create", "check_in", done.id, subject_id=client.id)
            return redirect(url_for("client.check_in", week=week, done=1))
    if done is not None:
        raised = list(db.scalars(sa.select(Alert).where(Alert.check_in_id == done.id)))
    status = 422 if request.method == "POST" and done is None else 200
    return render_template(
        "client/check_in.html",
        form=form,
        week=week,
        done=done,
        safety=bool(raised),
        practice=client.practice,
    ), status


@bp.get("/progress")
def progress() -> str:
    """The client's own scores over time, in friendly words (unless the practice hides them)."""
    client = signed_in_user()
    if not client.practice.clients_see_scores:
        return render_template("client/progress.html", hidden=True)
    db = database.session()
    charts = measure_charts(db, client, for_client=True)
    return render_template("client/progress.html", hidden=False, charts=charts)


@bp.get("/access")
def access_log() -> str:
    """Who else has looked at or downloaded the client's record, and when."""
    client = signed_in_user()
    lines = audit.access_log(database.session(), client)
    return render_template("client/access_log.html", lines=lines, zone_of=local_time, client=client)


@bp.get("/progress-report.pdf")
def progress_report_pdf() -> Response:
    """The client's own progress report (no therapist notes; scores only if the practice
    shows them)."""
    client = signed_in_user()
    db = database.session()
    data = reports.gather_progress_report(db, client, local_today(client), for_client=True)
    audit.record("export", "progress_report", subject_id=client.id)
    return exports.download(
        reports.progress_report_pdf(data), "my-progress-report.pdf", "application/pdf"
    )


@bp.get("/my-record.zip")
@require_fresh_sign_in
def record_bundle() -> Response:
    """A copy of the client's own record: progress report, CSV files and FHIR bundle."""
    client = signed_in_user()
    data = exports.record_bundle(
        database.session(), client, local_today(client), database.utcnow(), for_client=True
    )
    audit.record("export", "record_bundle", subject_id=client.id)
    return exports.download(data, "my-bedrock-record.zip", "application/zip")


@bp.route("/settings", methods=["GET", "POST"])
def settings() -> Response | tuple[str, int]:
    """The client's own settings: email reminders on or off, and their time zone."""
    client = signed_in_user()
    practice_zone = client.practice.time_zone
    form = ClientSettingsForm(reminders=client.reminders_wanted, time_zone=client.time_zone or "")
    form.time_zone.choices = options(
        [("", f"The same as my practice ({practice_zone.replace('_', ' ')})")]
        + [(z, z.replace("_", " ")) for z in time_zones()]
    )
    if form.validate_on_submit():
        client.reminders_wanted = bool(form.reminders.data)
        client.time_zone = form.time_zone.data or None
        flash("Your settings are saved.", "success")
        return redirect(url_for("client.settings"))
    return render_template(
        "client/settings.html",
        form=form,
        email_on=mail.configured(),
        allowed=client.reminders_allowed,
        has_email=bool(client.email),
    ), (422 if request.method == "POST" else 200)
