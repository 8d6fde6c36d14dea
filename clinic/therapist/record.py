"""One client's record: the timeline of their plan, and their account (invitations, reminders)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .. import (
    accounts,
    alerts,
    audit,
    mail,
    measures,
    notes,
    notifications,
    plans,
    progress,
    questionnaires,
)
from .. import db as database
from ..db import utcnow
from ..library import Week, library
from ..models import (
    Administration,
    Alert,
    Assignment,
    SessionNote,
)
from ..timeutil import local_time, local_today
from ..web.forms import ConfirmForm
from ..web.gates import signed_in_user
from ..web.invitations import invitation_lifetime, show_new_invitation
from .blueprint import (
    bp,
    get_client_or_404,
)
from .downloads import REPORT_PROBLEMS
from .forms import (
    EventNoteForm,
    SendQuestionnaireForm,
    with_instruments,
)


@dataclass(frozen=True)
class TimelineWeek:
    """One week of the record's timeline: the program week and what happened in it."""

    week: Week
    homework: list[Assignment]
    questionnaires: list[Administration]
    notes: list[SessionNote]
    alerts: list[Alert]


@bp.get("/clients/<int:client_id>")
def client_record(client_id: int) -> str:
    """One client's record: account, and the plan week by week with every piece of homework."""
    client = get_client_or_404(client_id)
    db = database.session()
    invitation = accounts.latest_invitation(db, client)
    audit.record("view", "client", client.id, subject_id=client.id)
    plan = plans.open_plan(db, client)
    today = local_today(signed_in_user())
    weeks = []
    client_notes = notes.notes_of(db, client)
    client_alerts = alerts.client_alerts(db, client)
    if plan is not None:
        program = plans.program_of(db, plan)
        answered = db.scalars(
            sa.select(Administration).where(
                Administration.plan_id == plan.id, Administration.completed_at.is_not(None)
            )
        ).all()
        for week in program.weeks:
            start = plans.session_date(plan, week.number)
            end = plans.session_date(plan, week.number + 1)
            weeks.append(
                TimelineWeek(
                    week=week,
                    homework=[a for a in plan.assignments if a.week == week.number],
                    questionnaires=[x for x in answered if x.week == week.number],
                    notes=[n for n in client_notes if start <= n.session_date < end],
                    alerts=[
                        x
                        for x in client_alerts
                        if start <= local_time(x.opened_at, client).date() < end
                    ],
                )
            )
    outcome = progress.talking_therapies(db, client)
    events = notes.events_of(db, client)
    markers = tuple((e.on_date, e.text) for e in events)
    homework_chart = progress.homework_chart(db, client, plan, markers) if plan else None
    therapist = signed_in_user()
    return render_template(
        "therapist/client.html",
        charts=progress.measure_charts(db, client, markers=markers),
        homework_chart=homework_chart,
        events=events,
        event_form=EventNoteForm(formdata=None, on_date=today),
        notes=[
            n
            for n in notes.notes_of(db, client)
            if n.status == "signed" or n.therapist_id == therapist.id
        ],
        check_in_charts=progress.check_in_charts(db, client),
        outcome=outcome,
        nhs_convention=progress.NHS_CONVENTION,
        rci_convention=progress.RCI_CONVENTION,
        alerts=alerts.client_alerts(db, client),
        kind_words=alerts.KIND_WORDS,
        send_form=with_instruments(SendQuestionnaireForm()),
        instruments=measures.instruments(),
        pending=questionnaires.pending_requests(db, client),
        client=client,
        invitation=invitation,
        invitation_state=invitation.state(utcnow()) if invitation else None,
        plan=plan,
        where=plans.position(plan, today) if plan else None,
        today=today,
        report_problem=REPORT_PROBLEMS.get(request.args.get("problem", "")),
        typed={k: request.args.get(k, "") for k in ("report_from", "report_to", "summary_date")},
        weeks=weeks,
        titles={key: ws.title for key, ws in library().worksheets.items()},
        state=lambda a: plans.homework_state(a, today),
        session_date=lambda n: plans.session_date(plan, n) if plan else None,
        form=ConfirmForm(),
        email_on=mail.configured(),
    )


@bp.post("/clients/<int:client_id>/invitation")
def new_invitation(client_id: int) -> Response | str:
    """Issue a fresh invitation link (the previous pending one stops working)."""
    client = get_client_or_404(client_id)
    therapist = signed_in_user()
    issued = accounts.issue_invitation(database.session(), client, therapist, invitation_lifetime())
    back = url_for("therapist.client_record", client_id=client.id)
    return show_new_invitation(client, issued, back, f"Back to {client.display_name}")


@bp.post("/clients/<int:client_id>/invitation/email")
def email_invitation(client_id: int) -> Response | str:
    """Issue a fresh invitation (or password reset) link and email it to the client."""
    client = get_client_or_404(client_id)
    back = url_for("therapist.client_record", client_id=client.id)
    if not mail.configured():
        flash("Email is not set up for this practice. Copy the link and send it yourself.", "info")
        return redirect(back)
    if not client.email:
        flash(f"There is no email address for {client.display_name}.", "error")
        return redirect(back)
    db = database.session()
    issued = accounts.issue_invitation(db, client, signed_in_user(), invitation_lifetime())
    notifications.queue_invitation(db, issued)
    audit.record("create", "invitation_email", issued.invitation.id, subject_id=client.id)
    return show_new_invitation(
        client, issued, back, f"Back to {client.display_name}", emailed_to=client.email
    )


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
    return redirect(url_for("therapist.client_record", client_id=client.id))
