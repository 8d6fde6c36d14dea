"""The plan and its homework: start, pause, resume and finish; add, move and remove homework;
review what was sent."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .. import answers, audit, plans
from .. import db as database
from ..models import Assignment, Submission, SubmissionStatus, User
from ..timeutil import local_today
from ..web.forms import int_arg, show_error, status_of, version_arg
from ..web.gates import signed_in_user
from .blueprint import bp, get_assignment_or_404, get_client_or_404, open_plan_or_404
from .forms import (
    AssignmentForm,
    DischargeForm,
    EditAssignmentForm,
    MeasuresForm,
    ReviewForm,
    StartPlanForm,
    with_optional_measures,
    with_worksheets,
)
from .record import record_page

STALE_ADD = (
    "The plan changed after this form was opened (perhaps this homework was already added by "
    "a double click), so nothing was added. Here is the plan as it stands; add the homework "
    "again if it is still missing."
)


def _to_record(client: User, anchor: str | None = None) -> Response:
    return redirect(url_for("therapist.client_record", client_id=client.id, _anchor=anchor))


def _record_refusing(client: User, message: str, category: str = "error") -> tuple[str, int]:
    """The record as it stands, saying why nothing was changed (409: the page the request
    came from was out of date, or sent a version that cannot be one)."""
    flash(message, category)
    return record_page(client), 409


@bp.route("/clients/<int:client_id>/plan/start", methods=["GET", "POST"])
def start_plan(client_id: int) -> Response | tuple[str, int]:
    """Start the 12-week plan: first session date and the weekday of the sessions."""
    client = get_client_or_404(client_id)
    form = StartPlanForm()
    if request.method == "GET":
        today = local_today(signed_in_user())
        form.start.data, form.session_weekday.data = today, str(today.weekday())
    elif form.validate_on_submit():
        weekday = int_arg(form.session_weekday.data)
        start = form.start.data
        assert start is not None  # InputRequired
        try:
            plan = plans.start_plan(database.session(), client, signed_in_user(), start, weekday)
        except plans.PlanError as error:
            show_error(form, error)
        else:
            audit.record("create", "plan", plan.id, subject_id=client.id)
            flash("The plan has started. All 12 weeks of homework are scheduled.", "success")
            return _to_record(client)
    screen = plans.screening.latest(database.session(), client)
    changes = plans.screening.changes_words(screen.week_changes) if screen else ""
    page = render_template(
        "therapist/start_plan.html", form=form, client=client, screen=screen, changes=changes
    )
    return page, status_of(form)


@bp.post("/clients/<int:client_id>/plan/<any(pause, resume):change>")
def change_plan(client_id: int, change: str) -> Response | tuple[str, int]:
    """Pause or resume the client's plan (as of the version the page showed)."""
    client = get_client_or_404(client_id)
    plan = open_plan_or_404(client)
    db = database.session()
    today = local_today(signed_in_user())
    version = version_arg(request.form.get("version"))
    try:  # each rule checks before it writes: a refused change leaves nothing behind
        if change == "pause":
            plans.pause_plan(db, plan, today, version)
            flash("The plan is paused. Weeks and due dates wait until you resume it.", "info")
        else:
            days = plans.resume_plan(db, plan, today, version)
            flash(f"The plan is running again; open homework moved {days} day(s) later.", "info")
    except plans.StaleChange as error:
        return _record_refusing(client, error.message)
    except plans.PlanError as error:
        flash(error.message, "error")
    else:
        audit.record("change", "plan", plan.id, subject_id=client.id)
    return _to_record(client)


@bp.route("/clients/<int:client_id>/plan/finish", methods=["GET", "POST"])
def finish_plan(client_id: int) -> Response | tuple[str, int]:
    """Finish the plan with its discharge: why, the risk at discharge, recommendations."""
    client = get_client_or_404(client_id)
    plan = open_plan_or_404(client)
    form = DischargeForm()
    if request.method == "GET":
        form.version.data = str(plan.version)
    elif form.validate_on_submit():
        discharge = plans.Discharge(
            form.reason.data or "", form.risk.data or "", form.recommendations.data or ""
        )
        try:
            plans.finish_plan(database.session(), plan, version_arg(form.version.data), discharge)
        except plans.StaleChange as error:  # typing kept; the version now shown is current
            show_error(form, error)
            form.version.data = str(plan.version)
            page = render_template(
                "therapist/finish_plan.html", form=form, client=client, plan=plan
            )
            return page, 409
        except plans.PlanError as error:
            show_error(form, error)
        else:
            audit.record("change", "plan", plan.id, subject_id=client.id)
            flash("The plan is finished, with its discharge. Everything stays readable.", "info")
            return _to_record(client)
    page = render_template("therapist/finish_plan.html", form=form, client=client, plan=plan)
    return page, status_of(form)


@bp.post("/clients/<int:client_id>/plan/measures")
def plan_measures(client_id: int) -> Response | tuple[str, int]:
    """Which battery measures the plan leaves out, and the WSAS wording for "[problem]"."""
    client = get_client_or_404(client_id)
    plan = open_plan_or_404(client)
    form = with_optional_measures(MeasuresForm())
    if form.validate_on_submit():
        try:
            plans.fit_measures(
                database.session(), plan, left_out=form.left_out.data or [],
                problem=form.problem.data,
            )  # fmt: skip
        except plans.PlanError as error:
            show_error(form, error, "left_out")
        else:
            audit.record("change", "plan", plan.id, subject_id=client.id)
            flash("The plan's measures are saved.", "success")
            return _to_record(client, "measures-fit")
    return record_page(client, form), 422


@bp.route("/clients/<int:client_id>/assignments/new", methods=["GET", "POST"])
def new_assignment(client_id: int) -> Response | tuple[str, int]:
    """Add any worksheet from the library to any week of this client's plan."""
    client = get_client_or_404(client_id)
    plan = open_plan_or_404(client)
    form = with_worksheets(AssignmentForm())
    if request.method == "GET":
        here = plans.position(plan, local_today(signed_in_user())).week
        form.week.data = request.args.get("week", type=int) or here
        form.version.data = str(plan.version)
    elif form.validate_on_submit():
        try:
            added = plans.add_assignment(
                database.session(), plan, form.worksheet.data or "", form.week.data or 0,
                form.due_on.data, form.instruction.data, version=version_arg(form.version.data),
            )  # fmt: skip
        except plans.StaleChange:
            return _record_refusing(client, STALE_ADD, "info")
        except plans.PlanError as error:
            show_error(form, error, "worksheet")
        else:
            audit.record("create", "assignment", added.id, subject_id=client.id)
            flash("Homework added.", "success")
            return _to_record(client)
    return _assignment_page(form, client, None), status_of(form)


def _assignment_page(
    form: EditAssignmentForm, client: User, assignment: Assignment | None, stale: str | None = None
) -> str:
    return render_template(
        "therapist/assignment_form.html",
        form=form,
        client=client,
        assignment=assignment,
        stale=stale,
    )


@bp.route("/clients/<int:client_id>/assignments/<int:assignment_id>", methods=["GET", "POST"])
def edit_assignment(client_id: int, assignment_id: int) -> Response | tuple[str, int]:
    """Move homework to another week, change its due date or personal instruction."""
    client = get_client_or_404(client_id)
    assignment = get_assignment_or_404(client, assignment_id)
    form = EditAssignmentForm(obj=assignment if request.method == "GET" else None)
    if request.method == "GET":
        form.version.data = str(assignment.version)
    elif form.validate_on_submit():
        try:
            plans.update_assignment(
                database.session(), assignment, week=form.week.data or 0, due_on=form.due_on.data,
                instruction=form.instruction.data, version=version_arg(form.version.data),
            )  # fmt: skip
        except plans.StaleChange as error:
            # The typing stays in the form; the page shows how the homework stands now, and
            # saving again (with the current version) applies it deliberately.
            form.version.data = str(assignment.version)
            return _assignment_page(form, client, assignment, error.message), 409
        except plans.PlanError as error:
            show_error(form, error, "week")
        else:
            audit.record("change", "assignment", assignment.id, subject_id=client.id)
            flash("Homework updated.", "success")
            return _to_record(client)
    return _assignment_page(form, client, assignment), status_of(form)


@bp.post("/clients/<int:client_id>/assignments/<int:assignment_id>/<any(remove, restore):change>")
def change_assignment(
    client_id: int, assignment_id: int, change: str
) -> Response | tuple[str, int]:
    """Take homework out of the plan (answers are kept) or put it back."""
    client = get_client_or_404(client_id)
    assignment = get_assignment_or_404(client, assignment_id)
    db = database.session()
    version = version_arg(request.form.get("version"))
    try:  # the rules check before they write: a refused change leaves nothing behind
        if change == "remove":
            plans.remove_assignment(db, assignment, version)
            flash("Homework taken out of the plan. Anything already written is kept.", "info")
        else:
            plans.restore_assignment(db, assignment, version)
            flash("Homework put back into the plan.", "info")
        audit.record("change", "assignment", assignment.id, subject_id=client.id)
    except plans.StaleChange as error:
        return _record_refusing(client, error.message)
    except plans.PlanError as error:
        flash(error.message, "error")
    return _to_record(client)


@bp.route("/clients/<int:client_id>/homework/<int:assignment_id>", methods=["GET", "POST"])
def review(client_id: int, assignment_id: int) -> Response | tuple[str, int]:
    """Read one piece of homework in a clean layout and rate and answer it."""
    client = get_client_or_404(client_id)
    assignment = get_assignment_or_404(client, assignment_id)
    sub = assignment.submission
    action = "view" if request.method == "GET" else "change"
    audit.record(action, "submission", assignment.id, subject_id=client.id)
    form = ReviewForm(obj=sub if request.method == "GET" and sub else None)
    if request.method == "GET" and sub is not None and sub.quality is not None:
        form.quality.data = str(sub.quality)
    sent = sub is not None and sub.status != SubmissionStatus.DRAFT.value
    if request.method == "POST" and not sent:
        return _review_page(client, assignment, None, form), 409  # nothing to review yet
    if sub is not None and sent and form.validate_on_submit():
        plans.review(
            database.session(), sub, signed_in_user(), completion=form.completion.data or "",
            quality=int_arg(form.quality.data), feedback=form.feedback.data,
        )  # fmt: skip
        flash("Review saved. Your client can now read your feedback.", "success")
        return _to_record(client)
    return _review_page(client, assignment, sub if sent else None, form), status_of(form)


def _review_page(
    client: User, assignment: Assignment, sub: Submission | None, form: ReviewForm
) -> str:
    ws = plans.worksheet(
        database.session(), assignment.worksheet_key, sub.worksheet_version if sub else None
    )
    return render_template(
        "therapist/review.html",
        client=client,
        assignment=assignment,
        submission=sub,
        ws=ws,
        figures=answers.derived_figures(ws, sub.answers) if sub else [],
        form=form,
    )
