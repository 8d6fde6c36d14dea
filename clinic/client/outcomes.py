"""Questionnaires and the weekly check-in, the thank-you (and safety) page, and the client's
own progress."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .. import alerts, audit, goals, measures, questionnaires
from .. import db as database
from .. import progress as progress_views
from ..progress import client_trust_chart, measure_charts
from ..web.forms import show_error
from ..web.gates import signed_in_user
from ..web.goal_forms import rating_field_name, ratings_from, with_goal_ratings
from .blueprint import bp, current_plan, get_request_or_404, plan_week_or_404
from .forms import CheckInForm


def _questionnaire_page(
    code: str, errors: dict[str, str], answers: dict[str, Any], status: int = 200
):
    inst = measures.instrument(code)
    problem = questionnaires.problem_for(database.session(), signed_in_user())
    return render_template(
        "client/questionnaire.html", inst=inst, errors=errors, answers=answers, problem=problem
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
    plan = plan_week_or_404(week)
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
    raised = alerts.raised_by(database.session(), administration_id=row.id)
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
    plan = plan_week_or_404(week)
    client = signed_in_user()
    db = database.session()
    done = questionnaires.check_in_for(db, plan, week)
    # The client's own goals are rated with the check-in (only goals set and not retired).
    active = goals.active_goals(db, plan)
    form = with_goal_ratings(CheckInForm, active, required=True)()
    if done is None and form.validate_on_submit():
        ratings = questionnaires.check_in_ratings(form.data)
        try:
            done, _ = questionnaires.record_check_in(
                db, client, plan, week, client, note=form.note.data, **ratings
            )
            goals.rate_at_check_in(db, done, ratings_from(form, active), client)
        except questionnaires.QuestionnaireError as error:
            show_error(form, error, "trust")
        else:
            audit.record("create", "check_in", done.id, subject_id=client.id)
            return redirect(url_for("client.check_in", week=week, done=1))
    safety = done is not None and bool(alerts.raised_by(db, check_in_id=done.id))
    page = render_template(
        "client/check_in.html",
        form=form,
        week=week,
        done=done,
        safety=safety,
        practice=client.practice,
        goal_fields=[form[rating_field_name(g)] for g in active],
    )
    return page, (422 if request.method == "POST" and done is None else 200)


@bp.get("/progress")
def progress() -> str:
    """The client's own scores over time, in friendly words (unless the practice hides them)."""
    client = signed_in_user()
    db = database.session()
    plan = current_plan()
    # The client's own goal ratings are theirs to see, whatever the practice does with scores.
    goal_charts = progress_views.goal_charts(goals.views(db, plan), for_client=True) if plan else []
    if not client.practice.clients_see_scores:
        return render_template("client/progress.html", hidden=True, goal_charts=goal_charts)
    charts = measure_charts(db, client, for_client=True)
    trust = client_trust_chart(db, client)
    return render_template(
        "client/progress.html", hidden=False, charts=charts, trust=trust, goal_charts=goal_charts
    )
