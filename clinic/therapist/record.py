"""One client's record: the timeline of their plan, and their account (invitations, reminders)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .. import (
    accounts,
    alerts,
    audit,
    erasure,
    goals,
    mail,
    measures,
    plans,
    progress,
    tracking,
    weeks,
)
from .. import db as database
from ..db import utcnow
from ..library import library
from ..models import Plan, User
from ..timeutil import local_today
from ..web.forms import ConfirmForm
from ..web.gates import signed_in_user
from ..web.invitations import hand_out_link
from .blueprint import (
    bp,
    get_client_or_404,
)
from .downloads import REPORT_PROBLEMS
from .forms import (
    EventNoteForm,
    MeasuresForm,
    SendQuestionnaireForm,
    with_instruments,
    with_optional_measures,
)

# Shown on every record page: what the words and conventions mean.
RECORD_WORDS = {
    "nhs_convention": progress.NHS_CONVENTION,
    "rci_convention": progress.RCI_CONVENTION,
    "kind_words": alerts.KIND_WORDS,
}


@bp.get("/clients/<int:client_id>")
def client_record(client_id: int) -> str:
    """One client's record: account, and the plan week by week with every piece of homework."""
    client = get_client_or_404(client_id)
    audit.record("view", "client", client.id, subject_id=client.id)
    return record_page(client)


def measures_form(plan: Plan | None) -> MeasuresForm:
    """The plan's measures form as the plan stands."""
    form = with_optional_measures(MeasuresForm(formdata=None))
    form.left_out.data = list(plans.left_out(plan))
    form.problem.data = plan.problem_wording if plan is not None else None
    return form


def record_page(client: User, fit_form: MeasuresForm | None = None) -> str:
    """The record page; `fit_form` is a measures form sent with something to fix."""
    db = database.session()
    view = weeks.record_view(db, client, signed_in_user(), local_today(signed_in_user()))
    goal_views = goals.views(db, view.plan)
    invitation = accounts.latest_invitation(db, client)
    me = signed_in_user()
    today_draft = next(
        (
            n
            for n in view.notes
            if n.status == "draft" and n.therapist_id == me.id and n.session_date == view.today
        ),
        None,
    )
    return render_template(
        "therapist/client.html",
        **vars(view),
        open_alerts=view.open_alerts,
        to_review=view.to_review,
        next_session=view.next_session,
        last_signed=view.last_signed,
        today_draft=today_draft,
        **RECORD_WORDS,
        client=client,
        invitation=invitation,
        invitation_state=invitation.state(utcnow()) if invitation else None,
        event_form=EventNoteForm(formdata=None, on_date=view.today),
        send_form=with_instruments(SendQuestionnaireForm()),
        form=ConfirmForm(),
        instruments=measures.instruments(),
        titles={key: ws.title for key, ws in library().worksheets.items()},
        report_problem=REPORT_PROBLEMS.get(request.args.get("problem", "")),
        typed={k: request.args.get(k, "") for k in ("report_from", "report_to", "summary_date")},
        state=view.state,
        session_date=view.session_date,
        email_on=mail.configured(),
        erasure_asked=erasure.open_request(db, client),
        fit_form=fit_form or measures_form(view.plan),
        left_out_names=[
            inst.short_name
            for code, inst in measures.instruments().items()
            if code in plans.left_out(view.plan)
        ],
        always_given=[measures.instrument(code).short_name for code in plans.ALWAYS_GIVEN],
        default_problem=plans.DEFAULT_PROBLEM,
        goal_views=goal_views,
        goal_charts=progress.goal_charts(goal_views),
        progress_signals=tracking.signals_of(db, client),
        track_verdicts=tracking.verdicts(db, client, view.plan),
    )


@bp.post("/clients/<int:client_id>/invitation")
def new_invitation(client_id: int) -> Response | str:
    """A fresh invitation link (the previous pending one stops working); for a client who has
    an account, a password reset link, emailed to them when email is set up."""
    client = get_client_or_404(client_id)
    back = url_for("therapist.client_record", client_id=client.id)
    return hand_out_link(client, back, f"Back to {client.display_name}", email=False)


@bp.post("/clients/<int:client_id>/invitation/email")
def email_invitation(client_id: int) -> Response | str:
    """Issue a fresh invitation (or password reset) link and email it to the client."""
    client = get_client_or_404(client_id)
    back = url_for("therapist.client_record", client_id=client.id)
    return hand_out_link(client, back, f"Back to {client.display_name}", email=True)


@bp.post("/clients/<int:client_id>/reminders/<any(on, off):change>")
def client_reminders(client_id: int, change: str) -> Response:
    """Pause or resume email reminders for one client (the client's own choice still counts)."""
    client = get_client_or_404(client_id)
    client.reminders_allowed = change == "on"
    audit.record("change", "reminders", client.id, subject_id=client.id)
    if change == "on":
        flash(f"Email reminders for {client.display_name} are on again.", "success")
    else:
        flash(f"Email reminders for {client.display_name} are paused.", "success")
    return redirect(url_for("therapist.client_record", client_id=client.id) + "#reminders")


@bp.post("/clients/<int:client_id>/invitation/revoke")
def revoke_invitation(client_id: int) -> Response:
    """Withdraw the client's pending invitation link."""
    client = get_client_or_404(client_id)
    accounts.revoke_pending(database.session(), client)
    audit.record("revoke_link", "account", client.id, subject_id=client.id)
    return redirect(url_for("therapist.client_record", client_id=client.id))
