"""The suitability and safety screen: record one (first, or again at any time) and read any
earlier one."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .. import answers, audit, plans
from .. import db as database
from ..library import Worksheet
from ..models import Screen, User
from ..timeutil import local_today
from ..web.gates import signed_in_user
from ..web.worksheet_form import apply_errors, build_form, raw_from_form
from .blueprint import bp, get_client_or_404


def _form_page(
    client: User, ws: Worksheet, raw: answers.Raw, errors: answers.Errors, status: int = 200
) -> tuple[str, int]:
    form = build_form(ws, raw)
    apply_errors(form, errors)
    db = database.session()
    return (
        render_template(
            "therapist/screen_form.html",
            client=client,
            ws=ws,
            form=form,
            raw=answers.normalise_raw(ws, raw),
            errors=errors,
            error_places=answers.error_places(ws, errors),
            section_errors={s.key: errors.get(s.key, []) for s in ws.sections},
            previous=plans.screening.latest(db, client),
            plan=plans.open_plan(db, client),
        ),
        status,
    )


@bp.get("/clients/<int:client_id>/screen")
def new_screen(client_id: int) -> tuple[str, int]:
    """The screen's form, empty: every screen is asked afresh."""
    client = get_client_or_404(client_id)
    ws = plans.screening.definition(database.session())
    return _form_page(client, ws, answers.blank_raw(ws), {})


@bp.post("/clients/<int:client_id>/screen")
def record_screen(client_id: int) -> Response | tuple[str, int]:
    """Record the screen; an open plan follows it in the weeks still to come."""
    client = get_client_or_404(client_id)
    db = database.session()
    ws = plans.screening.definition(db)
    raw = raw_from_form(ws, build_form(ws, formdata=request.form))
    therapist = signed_in_user()
    try:
        screen, done = plans.screening.record(db, client, therapist, raw, local_today(therapist))
    except plans.InvalidAnswers as error:
        return _form_page(client, ws, error.raw, error.errors, 422)
    audit.record("create", "screen", screen.id, subject_id=client.id)
    flash(*_recorded_message(screen, done, plans.open_plan(db, client) is not None))
    return redirect(url_for("therapist.client_record", client_id=client.id, _anchor="screen"))


def _recorded_message(screen: Screen, done: list[str], has_plan: bool) -> tuple[str, str]:
    outcome = plans.screening.OUTCOME_WORDS[screen.outcome].lower()
    changes = plans.screening.changes_words(screen.week_changes)
    message = f"The screen is recorded: {outcome}" + (f" ({changes})." if changes else ".")
    if screen.outcome == "not_suitable":
        if has_plan:
            return message + " The plan is still running: pause or finish it below.", "error"
        return message + " The plan cannot start.", "info"
    if done:
        message += " In the plan: " + "; ".join(done) + "."
    elif not has_plan:
        message += " You can now start the plan."
    return message, "success"


@bp.get("/clients/<int:client_id>/screens/<int:screen_id>")
def screen(client_id: int, screen_id: int) -> str:
    """One recorded screen, in full, with the list of every screen of this client."""
    client = get_client_or_404(client_id)
    db = database.session()
    found = plans.screening.find(db, client.id, screen_id)
    if found is None:
        abort(404)
    audit.record("view", "screen", found.id, subject_id=client.id)
    context: dict[str, Any] = {
        "client": client,
        "screen": plans.screening.view(db, found),
        "ws": plans.screening.definition(db, found.content_version),
        "answers": found.answers,
        "history": plans.screening.screens_of(db, client),
        "outcome_words": plans.screening.OUTCOME_WORDS,
    }
    return render_template("therapist/screen.html", **context)
