"""Measures and alerts: sending a questionnaire, giving one in session, acting on an alert, dated events on the charts."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .. import (
    alerts,
    audit,
    measures,
    notes,
    plans,
    questionnaires,
)
from .. import db as database
from ..errors import DomainError
from ..models import (
    User,
)
from ..timeutil import local_today
from ..web.forms import show_error
from ..web.gates import signed_in_user
from .blueprint import (
    bp,
    get_alert_or_404,
    get_client_or_404,
)
from .forms import (
    AcknowledgeForm,
    EventNoteForm,
    SendQuestionnaireForm,
    with_instruments,
)


@bp.post("/clients/<int:client_id>/questionnaires/send")
def send_questionnaire(client_id: int) -> Response:
    """Send any questionnaire to the client now; it appears on their 'This week' page."""
    client = get_client_or_404(client_id)
    form = with_instruments(SendQuestionnaireForm())
    if form.validate_on_submit():
        questionnaires.request(database.session(), client, signed_in_user(), form.code.data or "")
        audit.record("create", "administration", subject_id=client.id)
        inst = measures.instrument(form.code.data or "")
        flash(
            f"{inst.short_name} sent. {client.display_name} sees it on their 'This week' page.",
            "success",
        )
    else:
        flash("Choose a questionnaire to send.", "error")
    return redirect(url_for("therapist.client_record", client_id=client.id, _anchor="measures"))


@bp.route("/clients/<int:client_id>/questionnaires/<code>/in-session", methods=["GET", "POST"])
def in_session(client_id: int, code: str) -> Response | tuple[str, int]:
    """Give a questionnaire in the session, entering the client's answers on their behalf."""
    client = get_client_or_404(client_id)
    inst = measures.instruments().get(code) or abort(404)
    errors: dict[str, str] = {}
    if request.method == "POST":
        db = database.session()
        try:
            answers = questionnaires.parse_answers(code, request.form)
        except questionnaires.Unanswered as missing:
            errors = missing.errors
        else:
            row, raised = questionnaires.complete(
                db, client, code, answers, signed_in_user(), plan=plans.open_plan(db, client),
                slot="ad_hoc",
            )  # fmt: skip
            audit.record("create", "administration", row.id, subject_id=client.id)
            more = f" {len(raised)} alert(s) raised." if raised else ""
            total = measures.total_words(row.total, row.out_of)
            flash(f"{inst.short_name} recorded: {total} ({row.band}).{more}", "success")
            return _to_measures(client)
    page = render_template(
        "therapist/in_session.html", client=client, inst=inst, errors=errors, answers=request.form,
        problem=questionnaires.problem_for(database.session(), client),
    )  # fmt: skip
    return page, (422 if errors else 200)


ACK_FIELDS = ("note", "risk_review", "safety_plan", "contact", "contacted_on", "next_step")


def _to_measures(client: User, anchor: str = "measures") -> Response:
    return redirect(url_for("therapist.client_record", client_id=client.id, _anchor=anchor))


@bp.route("/clients/<int:client_id>/alerts/<int:alert_id>", methods=["GET", "POST"])
def alert(client_id: int, alert_id: int) -> Response | tuple[str, int]:
    """One alert: what raised it, and acknowledging it with a note."""
    client = get_client_or_404(client_id)
    item = get_alert_or_404(client, alert_id)
    action = "view" if request.method == "GET" else "change"
    audit.record(action, "alert", item.id, subject_id=client.id)
    form = AcknowledgeForm()
    if form.validate_on_submit():
        try:
            ack = alerts.Acknowledgement(**{k: form.data[k] for k in ACK_FIELDS})
            alerts.acknowledge(database.session(), item, signed_in_user(), ack)
        except DomainError as error:
            show_error(form, error, "note")
        else:
            flash("Alert acknowledged.", "success")
            return _to_measures(client, "alerts")
    view = alerts.alert_view(database.session(), item)
    return render_template(
        "therapist/alert.html", client=client, alert=item, form=form, view=view,
        kind_words=alerts.KIND_WORDS,
    ), (422 if request.method == "POST" else 200)  # fmt: skip


@bp.post("/clients/<int:client_id>/events")
def add_event(client_id: int) -> Response:
    """Add a dated event note; it appears as a marker on the client's charts."""
    client = get_client_or_404(client_id)
    form = EventNoteForm()
    if form.validate_on_submit():
        on_date = form.on_date.data
        assert on_date is not None  # InputRequired
        event = notes.add_event(
            database.session(), client, signed_in_user(), on_date, form.text.data or ""
        )
        audit.record("create", "event_note", event.id, subject_id=client.id)
        flash("Event noted. It shows on the charts.", "success")
    else:
        flash(" ".join(e for errs in form.errors.values() for e in errs), "error")
    return redirect(url_for("therapist.client_record", client_id=client.id, _anchor="measures"))


# The worksheet offered from every self-harm alert (clinic/content/worksheets/safety_plan.toml).
SAFETY_PLAN = "safety_plan"


@bp.post("/clients/<int:client_id>/alerts/<int:alert_id>/safety-plan")
def assign_safety_plan(client_id: int, alert_id: int) -> Response:
    """Set 'My safety plan' as homework this week, from the alert (once, however many clicks)."""
    client = get_client_or_404(client_id)
    item = get_alert_or_404(client, alert_id)
    plan = plans.open_plan(database.session(), client)
    back = url_for("therapist.alert", client_id=client.id, alert_id=item.id)
    if plan is None:
        flash("Start a plan first: the safety plan is set as homework in a plan.", "error")
        return redirect(back)
    week = plans.position(plan, local_today(signed_in_user())).week
    try:
        assignment, added = plans.assign_once(database.session(), plan, SAFETY_PLAN, week)
    except plans.PlanError as error:
        flash(error.message, "error")
        return redirect(back)
    audit.record("create", "assignment", assignment.id, subject_id=client.id)
    flash(
        "My safety plan is set for this week." if added else "My safety plan is already set.",
        "success",
    )
    return redirect(back)
