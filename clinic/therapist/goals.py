"""The client's own goals, from the therapist's side: set or reword them in session, retire
one that no longer fits, and rate each in session; the page shows every goal's course."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .. import audit, goals, plans, progress
from .. import db as database
from ..models import Goal, Plan, User
from ..timeutil import local_today
from ..web.forms import ConfirmForm, Form
from ..web.gates import signed_in_user
from ..web.goal_forms import (
    GoalWordingForm,
    SessionRatingForm,
    ratings_from,
    with_goal_ratings,
)
from .blueprint import bp, get_client_or_404


def _plan_or_404(client: User) -> Plan:
    plan = plans.open_plan(database.session(), client)
    if plan is None:
        abort(404)
    return plan


def _goal_or_404(client: User, goal_id: int) -> Goal:
    goal = database.session().get(Goal, goal_id)
    if goal is None or goal.client_id != client.id:
        audit.denied("goal", goal_id)
        abort(404)
    return goal


def _rating_form(plan: Plan, formdata: Any = None) -> Form:
    active = goals.active_goals(database.session(), plan)
    form_class = with_goal_ratings(SessionRatingForm, active, required=False, who="therapist")
    form = form_class(formdata=formdata)
    if formdata is None:
        form.session_date.data = local_today(signed_in_user())
    return form


def _page(
    client: User,
    plan: Plan,
    *,
    add: Form | None = None,
    rate: Form | None = None,
    reword: dict[int, Form] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    db = database.session()
    shown = goals.views(db, plan)
    active = [g for g in goals.goals_of(db, plan) if g.retired_at is None]
    reword = reword or {}
    return (
        render_template(
            "therapist/goals.html",
            client=client,
            plan=plan,
            goals=shown,
            charts=progress.goal_charts(shown),
            add=add or GoalWordingForm(formdata=None),
            rate=rate or _rating_form(plan),
            reword={
                g.id: reword.get(g.id) or GoalWordingForm(formdata=None, prefix=f"g{g.id}")
                for g in active
            },
            retire=ConfirmForm(formdata=None),
            max_active=goals.MAX_ACTIVE,
            convention=goals.CONVENTION,
            scale=goals.SCALE_WORDS,
        ),
        status,
    )


@bp.get("/clients/<int:client_id>/goals")
def client_goals(client_id: int) -> tuple[str, int]:
    client = get_client_or_404(client_id)
    plan = _plan_or_404(client)
    audit.record("view", "goals", subject_id=client.id)
    return _page(client, plan)


@bp.post("/clients/<int:client_id>/goals")
def add_goal(client_id: int) -> Response | tuple[str, int]:
    client = get_client_or_404(client_id)
    plan = _plan_or_404(client)
    form = GoalWordingForm()
    if form.validate_on_submit():
        try:
            goal = goals.add_goal(
                database.session(), client, plan, form.wording.data, signed_in_user()
            )
        except goals.GoalError as error:
            form.wording.errors = [error.message]
        else:
            audit.record("create", "goal", goal.id, subject_id=client.id)
            flash("The goal is set.", "success")
            return redirect(url_for("therapist.client_goals", client_id=client.id))
    return _page(client, plan, add=form, status=422)


@bp.post("/clients/<int:client_id>/goals/<int:goal_id>/wording")
def reword_goal(client_id: int, goal_id: int) -> Response | tuple[str, int]:
    client = get_client_or_404(client_id)
    plan = _plan_or_404(client)
    goal = _goal_or_404(client, goal_id)
    form = GoalWordingForm(prefix=f"g{goal.id}")
    if form.validate_on_submit():
        try:
            goals.reword(database.session(), goal, form.wording.data, signed_in_user())
        except goals.GoalError as error:
            form.wording.errors = [error.message]
        else:
            audit.record("change", "goal", goal.id, subject_id=client.id)
            flash("The goal is reworded; its earlier words are kept.", "success")
            return redirect(url_for("therapist.client_goals", client_id=client.id))
    return _page(client, plan, reword={goal.id: form}, status=422)


@bp.post("/clients/<int:client_id>/goals/<int:goal_id>/retire")
def retire_goal(client_id: int, goal_id: int) -> Response:
    client = get_client_or_404(client_id)
    goal = _goal_or_404(client, goal_id)
    if ConfirmForm().validate_on_submit():
        goals.retire(database.session(), goal, signed_in_user())
        audit.record("change", "goal", goal.id, subject_id=client.id)
        flash("The goal is retired; it and its ratings stay in the record.", "success")
    return redirect(url_for("therapist.client_goals", client_id=client.id))


@bp.post("/clients/<int:client_id>/goals/ratings")
def rate_goals(client_id: int) -> Response | tuple[str, int]:
    client = get_client_or_404(client_id)
    plan = _plan_or_404(client)
    db = database.session()
    form = _rating_form(plan, request.form)
    active = goals.active_goals(db, plan)
    if form.validate_on_submit():
        ratings = ratings_from(form, active)
        day: dt.date = form.session_date.data
        if not ratings:
            form.form_errors.append("Rate at least one goal.")
        elif day > local_today(signed_in_user()):
            form.session_date.errors = ["A session cannot be rated before it happens."]
        else:
            week = plans.position(plan, day).week
            for goal in active:
                if goal.id in ratings:
                    rating = goals.rate_in_session(
                        db, goal, ratings[goal.id], day, week, signed_in_user()
                    )
                    audit.record("create", "goal_rating", rating.id, subject_id=client.id)
            flash(f"The goal ratings for {day:%d %b %Y} are saved.", "success")
            return redirect(url_for("therapist.client_goals", client_id=client.id))
    return _page(client, plan, rate=form, status=422)
