"""The "not on track" signal of a client (not a risk alert): what the scores say against the
expected path, and the clinical-support checklist whose answers are kept with it."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .. import audit, measures, progress, tracking
from .. import db as database
from ..models import ProgressSignal, User
from ..web.forms import Form
from ..web.gates import signed_in_user
from .blueprint import bp, get_client_or_404
from .forms import checklist_answers, checklist_data, checklist_form


def _signal_or_404(client: User, signal_id: int) -> ProgressSignal:
    signal = database.session().get(ProgressSignal, signal_id)
    if signal is None or signal.client_id != client.id:
        audit.denied("progress_signal", signal_id)
        abort(404)
    return signal


def _page(client: User, signal: ProgressSignal, form: Form, status: int = 200) -> tuple[str, int]:
    db = database.session()
    reviewer = db.get(User, signal.reviewed_by_id) if signal.reviewed_by_id else None
    drawn = [c for c in progress.measure_charts(db, client) if c.code == signal.instrument_code]
    return (
        render_template(
            "therapist/progress_signal.html",
            client=client,
            signal=signal,
            name=measures.instrument(signal.instrument_code).short_name,
            form=form,
            areas=tracking.checklist(),
            reviewer=reviewer,
            chart=drawn[0] if drawn else None,
            rule_words=tracking.rule()["words"],
            sources=tracking.sources(),
        ),
        status,
    )


@bp.get("/clients/<int:client_id>/not-on-track/<int:signal_id>")
def progress_signal(client_id: int, signal_id: int) -> tuple[str, int]:
    """A "not on track" signal: the scores against the expected path, and the checklist."""
    client = get_client_or_404(client_id)
    signal = _signal_or_404(client, signal_id)
    audit.record("view", "progress_signal", signal.id, subject_id=client.id)
    return _page(client, signal, checklist_form(data=checklist_data(signal.checklist)))


@bp.post("/clients/<int:client_id>/not-on-track/<int:signal_id>")
def review_progress_signal(client_id: int, signal_id: int) -> Response | tuple[str, int]:
    """Keep the checklist's answers with the signal (encrypted); audited."""
    client = get_client_or_404(client_id)
    signal = _signal_or_404(client, signal_id)
    form = checklist_form(request.form)
    if not form.validate():
        return _page(client, signal, form, 422)
    try:
        tracking.review(database.session(), signal, checklist_answers(form), signed_in_user())
    except tracking.TrackingError as error:
        if error.field and error.field in form:
            form[error.field].errors = [error.message]
        else:
            form.form_errors.append(error.message)
        return _page(client, signal, form, 422)
    audit.record("change", "progress_signal", signal.id, subject_id=client.id)
    flash("Checklist saved. It is offered to the next session note.", "success")
    return redirect(url_for("therapist.client_record", client_id=client.id) + "#on-track")
