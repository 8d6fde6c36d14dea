"""The plan and its homework: start, pause, resume and finish; add, move, remove homework; review what was sent."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .. import answers as engine
from .. import (
    audit,
    plans,
)
from .. import db as database
from ..models import (
    SubmissionStatus,
)
from ..timeutil import local_today
from ..web.forms import int_arg
from ..web.gates import signed_in_user
from .blueprint import (
    bp,
    get_assignment_or_404,
    get_client_or_404,
    open_plan_or_404,
)
from .forms import (
    AssignmentForm,
    EditAssignmentForm,
    ReviewForm,
    StartPlanForm,
    with_worksheets,
)


@bp.route("/clients/<int:client_id>/plan/start", methods=["GET", "POST"])
def start_plan(client_id: int) -> Response | str | tuple[str, int]:
    """Start the 12-week plan: first session date and the weekday of the sessions."""
    client = get_client_or_404(client_id)
    form = StartPlanForm()
    if request.method == "GET":
        today = local_today(signed_in_user())
        form.start.data = today
        form.session_weekday.data = str(today.weekday())
    elif form.validate_on_submit():
        try:
            plan = plans.start_plan(
                database.session(),
                client,
                signed_in_user(),
                form.start.data,
                int(form.session_weekday.data or 0),
            )
            audit.record("create", "plan", plan.id, subject_id=client.id)
        except plans.PlanError as error:
            target = getattr(form, error.field or "", None)
            if target is not None:
                target.errors = [error.message]
            else:
                form.form_errors.append(error.message)
        else:
            flash("The plan has started. All 12 weeks of homework are scheduled.", "success")
            return redirect(url_for("therapist.client_record", client_id=client.id))
    status = 422 if request.method == "POST" else 200
    return render_template("therapist/start_plan.html", form=form, client=client), status


@bp.post("/clients/<int:client_id>/plan/<any(pause, resume, finish):change>")
def change_plan(client_id: int, change: str) -> Response:
    """Pause, resume or finish the client's plan (as of the version the page showed)."""
    client = get_client_or_404(client_id)
    plan = open_plan_or_404(client)
    db = database.session()
    today = local_today(signed_in_user())
    version = int_arg(request.form.get("version"))
    try:
        if change == "pause":
            plans.pause_plan(db, plan, today, version)
            flash("The plan is paused. Weeks and due dates wait until you resume it.", "info")
        elif change == "resume":
            days = plans.resume_plan(db, plan, today, version)
            flash(f"The plan is running again; open homework moved {days} day(s) later.", "info")
        else:
            plans.finish_plan(db, plan, version)
            flash("The plan is finished. Everything stays readable.", "info")
    except plans.PlanError as error:
        db.rollback()  # nothing of a refused change is kept
        flash(error.message, "error")
    else:
        audit.record("change", "plan", plan.id, subject_id=client.id)
    return redirect(url_for("therapist.client_record", client_id=client.id))


@bp.route("/clients/<int:client_id>/assignments/new", methods=["GET", "POST"])
def new_assignment(client_id: int) -> Response | str | tuple[str, int]:
    """Add any worksheet from the library to any week of this client's plan."""
    client = get_client_or_404(client_id)
    plan = open_plan_or_404(client)
    form = with_worksheets(AssignmentForm())
    if request.method == "GET":
        form.week.data = (
            request.args.get("week", type=int)
            or plans.position(plan, local_today(signed_in_user())).week
        )
        form.version.data = str(plan.version)
    elif form.validate_on_submit():
        try:
            added = plans.add_assignment(
                database.session(),
                plan,
                form.worksheet.data or "",
                form.week.data or 0,
                form.due_on.data,
                form.instruction.data,
                version=int_arg(form.version.data),
            )
            audit.record("create", "assignment", added.id, subject_id=client.id)
        except plans.StaleChange:
            flash(
                "The plan changed after this form was opened (perhaps this homework was "
                "already added by a double click), so nothing was added. Here is the plan as "
                "it stands; add the homework again if it is still missing.",
                "info",
            )
            return redirect(url_for("therapist.client_record", client_id=client.id, _anchor="plan"))
        except plans.PlanError as error:
            getattr(form, error.field or "worksheet").errors = [error.message]
        else:
            flash("Homework added.", "success")
            return redirect(url_for("therapist.client_record", client_id=client.id))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "therapist/assignment_form.html", form=form, client=client, assignment=None
    ), status


@bp.route("/clients/<int:client_id>/assignments/<int:assignment_id>", methods=["GET", "POST"])
def edit_assignment(client_id: int, assignment_id: int) -> Response | str | tuple[str, int]:
    """Move homework to another week, change its due date or personal instruction."""
    client = get_client_or_404(client_id)
    assignment = get_assignment_or_404(client, assignment_id)
    form = EditAssignmentForm(obj=assignment if request.method == "GET" else None)
    stale = None
    if request.method == "GET":
        form.version.data = str(assignment.version)
    elif form.validate_on_submit():
        db = database.session()
        try:
            plans.update_assignment(
                db,
                assignment,
                week=form.week.data or 0,
                due_on=form.due_on.data,
                instruction=form.instruction.data,
                version=int_arg(form.version.data),
            )
            audit.record("change", "assignment", assignment.id, subject_id=client.id)
        except plans.StaleChange as error:
            # The typing stays in the form; the page shows how the homework stands now, and
            # saving again (with the current version) applies it deliberately.
            stale = error.message
            form.version.data = str(assignment.version)
        except plans.PlanError as error:
            getattr(form, error.field or "week").errors = [error.message]
        else:
            flash("Homework updated.", "success")
            return redirect(url_for("therapist.client_record", client_id=client.id))
    status = (409 if stale else 422) if request.method == "POST" else 200
    return render_template(
        "therapist/assignment_form.html",
        form=form,
        client=client,
        assignment=assignment,
        stale=stale,
    ), status


@bp.post("/clients/<int:client_id>/assignments/<int:assignment_id>/<any(remove, restore):change>")
def change_assignment(client_id: int, assignment_id: int, change: str) -> Response:
    """Take homework out of the plan (answers are kept) or put it back."""
    client = get_client_or_404(client_id)
    assignment = get_assignment_or_404(client, assignment_id)
    db = database.session()
    version = int_arg(request.form.get("version"))
    try:
        if change == "remove":
            plans.remove_assignment(db, assignment, version)
            flash("Homework taken out of the plan. Anything already written is kept.", "info")
        else:
            plans.restore_assignment(db, assignment, version)
            flash("Homework put back into the plan.", "info")
        audit.record("change", "assignment", assignment.id, subject_id=client.id)
    except plans.PlanError as error:
        db.rollback()
        flash(error.message, "error")
    return redirect(url_for("therapist.client_record", client_id=client.id))


@bp.route("/clients/<int:client_id>/homework/<int:assignment_id>", methods=["GET", "POST"])
def review(client_id: int, assignment_id: int) -> Response | str | tuple[str, int]:
    """Read one piece of homework in a clean layout and rate and answer it."""
    client = get_client_or_404(client_id)
    assignment = get_assignment_or_404(client, assignment_id)
    sub = assignment.submission
    db = database.session()
    ws = plans.worksheet(db, assignment.worksheet_key, sub.worksheet_version if sub else None)
    audit.record(
        "view" if request.method == "GET" else "change",
        "submission",
        assignment.id,
        subject_id=client.id,
    )
    form = ReviewForm(obj=sub if request.method == "GET" and sub else None)
    if request.method == "GET" and sub is not None and sub.quality is not None:
        form.quality.data = str(sub.quality)
    status = 200
    if request.method == "POST":
        status = 422
        if sub is None or sub.status == SubmissionStatus.DRAFT.value:
            status = 409  # nothing to review yet; the page says so
        elif form.validate_on_submit():
            plans.review(
                db,
                sub,
                signed_in_user(),
                completion=form.completion.data or "",
                quality=int(form.quality.data or 0),
                feedback=form.feedback.data,
            )
            flash("Review saved. Your client can now read your feedback.", "success")
            return redirect(url_for("therapist.client_record", client_id=client.id))
    shown = sub is not None and sub.status != SubmissionStatus.DRAFT.value
    return render_template(
        "therapist/review.html",
        client=client,
        assignment=assignment,
        submission=sub if shown else None,
        ws=ws,
        figures=engine.derived_figures(ws, sub.answers) if shown and sub else [],
        form=form,
    ), status
