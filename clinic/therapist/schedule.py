"""The client's questionnaire schedule: per instrument, the program's weeks, chosen weeks, every
few weeks, before every session, or not given; practice-supplied instruments added."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from .. import audit, measures, plans, questionnaires
from .. import db as database
from ..models import User
from ..web.forms import show_error
from .blueprint import bp, get_client_or_404, open_plan_or_404
from .forms import ScheduleForm, schedule_form


def _page(client: User, sent: ScheduleForm | None = None, code: str = "") -> str:
    """The schedule page; `sent` is the form of instrument `code` sent with something to fix."""
    db = database.session()
    plan = open_plan_or_404(client)
    rows = questionnaires.plan_schedule(db, plan)
    forms = {}
    for row in rows:
        if sent is not None and row.code == code:
            forms[row.code] = sent
            continue
        form = schedule_form(row.code, formdata=None)
        form.rule.data = row.rule
        if row.own is not None and row.own.rule == "weeks":
            form.weeks.data = ", ".join(map(str, row.own.weeks))
        if row.own is not None and row.own.rule == "every":
            form.every.data = row.own.every
        forms[row.code] = form
    return render_template(
        "therapist/schedule.html",
        client=client,
        plan=plan,
        rows=rows,
        forms=forms,
        always_given=plans.ALWAYS_GIVEN,
    )


@bp.get("/clients/<int:client_id>/plan/schedule")
def measure_schedule(client_id: int) -> str:
    """The client's questionnaire schedule, instrument by instrument."""
    client = get_client_or_404(client_id)
    audit.record("view", "plan", open_plan_or_404(client).id, subject_id=client.id)
    return _page(client)


@bp.post("/clients/<int:client_id>/plan/schedule/<code>")
def change_schedule(client_id: int, code: str) -> Response | tuple[str, int]:
    """Change how the client's plan gives one instrument."""
    client = get_client_or_404(client_id)
    plan = open_plan_or_404(client)
    if code not in measures.instruments():
        abort(404)
    form = schedule_form(code)
    if form.validate_on_submit():
        try:
            plans.set_schedule(
                database.session(), plan, code, form.rule.data or "",
                weeks=form.weeks.data, every=form.every.data,
            )  # fmt: skip
        except plans.PlanError as error:
            show_error(form, error, "rule")
        else:
            audit.record("change", "plan", plan.id, subject_id=client.id)
            name = measures.instrument(code).short_name
            flash(f"{name}'s schedule for {client.display_name} is saved.", "success")
            return redirect(
                url_for("therapist.measure_schedule", client_id=client.id, _anchor=f"m-{code}")
            )
    return _page(client, form, code), 422
