"""The client's own goals: write up to three in their own words, sharpen the words later, and
see how their ratings have moved."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from .. import audit, goals, plans, progress
from .. import db as database
from ..models import Goal, Plan
from ..web.forms import Form
from ..web.gates import signed_in_user
from ..web.goal_forms import ClientGoalWordingForm
from .blueprint import bp, current_plan


def _plan_or_404() -> Plan:
    plan = current_plan()
    if plan is None:
        abort(404)
    return plan


def _page(plan: Plan, add: Form | None = None, reword: dict[int, Form] | None = None,
          status: int = 200) -> tuple[str, int]:  # fmt: skip
    db = database.session()
    shown = goals.views(db, plan)
    reword = reword or {}
    return (
        render_template(
            "client/goals.html",
            plan=plan,
            open=plan.status != "finished",
            goals=shown,
            charts=progress.goal_charts(shown, for_client=True),
            add=add or ClientGoalWordingForm(formdata=None),
            reword={
                g.id: reword.get(g.id) or ClientGoalWordingForm(formdata=None, prefix=f"g{g.id}")
                for g in shown
                if g.active
            },
            max_active=goals.MAX_ACTIVE,
            scale=goals.SCALE_WORDS,
        ),
        status,
    )


@bp.get("/goals")
def goals_page() -> tuple[str, int]:
    plan = current_plan()
    if plan is None:
        return render_template("client/goals.html", plan=None, goals=[], open=False), 200
    return _page(plan)


@bp.post("/goals")
def add_goal() -> Response | tuple[str, int]:
    plan = _plan_or_404()
    client = signed_in_user()
    form = ClientGoalWordingForm()
    if plans.open_plan(database.session(), client) is None:
        abort(404)
    if form.validate_on_submit():
        try:
            goal = goals.add_goal(database.session(), client, plan, form.wording.data, client)
        except goals.GoalError as error:
            form.wording.errors = [error.message]
        else:
            audit.record("create", "goal", goal.id, subject_id=client.id)
            flash("Your goal is saved. You will rate it at each weekly check-in.", "success")
            return redirect(url_for("client.goals_page"))
    return _page(plan, add=form, status=422)


@bp.post("/goals/<int:goal_id>/wording")
def reword_goal(goal_id: int) -> Response | tuple[str, int]:
    plan = _plan_or_404()
    client = signed_in_user()
    db = database.session()
    goal = db.get(Goal, goal_id)
    if goal is None or goal.client_id != client.id or plans.open_plan(db, client) is None:
        audit.denied("goal", goal_id)
        abort(404)
    form = ClientGoalWordingForm(prefix=f"g{goal.id}")
    if form.validate_on_submit():
        try:
            goals.reword(db, goal, form.wording.data, client)
        except goals.GoalError as error:
            form.wording.errors = [error.message]
        else:
            audit.record("change", "goal", goal.id, subject_id=client.id)
            flash("Your goal's new words are saved.", "success")
            return redirect(url_for("client.goals_page"))
    return _page(plan, reword={goal.id: form}, status=422)
