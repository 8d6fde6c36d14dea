"""Therapist blueprint: caseload, clients, invitations."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from . import (
    accounts,
    alerts,
    audit,
    dashboard,
    exports,
    fhir,
    mail,
    measures,
    notes,
    notifications,
    plans,
    progress,
    questionnaires,
    reports,
)
from . import db as database
from . import worksheets as engine
from .auth import (
    invitation_lifetime,
    require_fresh_sign_in,
    require_role,
    show_new_invitation,
    signed_in_user,
)
from .db import utcnow
from .errors import DomainError
from .forms import (
    AcknowledgeForm,
    AddendumForm,
    AssignmentForm,
    ConfirmForm,
    EditAssignmentForm,
    EventNoteForm,
    NewClientForm,
    ReviewForm,
    SendQuestionnaireForm,
    SessionNoteForm,
    StartPlanForm,
    options,
)
from .library import Week, library
from .models import (
    Administration,
    Alert,
    Assignment,
    Care,
    Plan,
    Role,
    SessionNote,
    SessionNoteRevision,
    SubmissionStatus,
    User,
)
from .timeutil import local_time, local_today

bp = Blueprint("therapist", __name__, url_prefix="/therapist")
require_role(bp, Role.THERAPIST)


@dataclass(frozen=True)
class TimelineWeek:
    """One week of the record's timeline: the program week and what happened in it."""

    week: Week
    homework: list[Assignment]
    questionnaires: list[Administration]
    notes: list[SessionNote]
    alerts: list[Alert]


def get_client_or_404(client_id: int) -> User:
    """A client currently in the signed-in therapist's care; anyone else is 404."""
    therapist = signed_in_user()
    client = database.session().scalar(
        sa.select(User)
        .join(Care, Care.client_id == User.id)
        .where(
            User.id == client_id,
            User.role == Role.CLIENT.value,
            Care.therapist_id == therapist.id,
            Care.ended_at.is_(None),
        )
    )
    if client is None:
        audit.denied("client", client_id)
        abort(404)
    return client


@bp.get("/")
def caseload() -> str:
    """The caseload dashboard: every client in care, open alerts first; filters and sort
    orders are links, so a view can be bookmarked."""
    therapist = signed_in_user()
    db = database.session()
    view = request.args.get("filter", "all")
    order = request.args.get("sort", "alerts")
    view = view if view in dashboard.FILTERS else "all"
    order = order if order in dashboard.SORTS else "alerts"
    rows = dashboard.caseload(db, therapist, local_today(therapist), utcnow())
    shown = dashboard.sorted_rows(dashboard.filtered(rows, view), order)
    counts = {name: len(dashboard.filtered(rows, name)) for name in dashboard.FILTERS}
    open_alerts = sorted(
        ((a, r.client) for r in rows for a in r.open_alerts),
        key=lambda pair: pair[0].opened_at,
        reverse=True,
    )
    return render_template(
        "therapist/caseload.html",
        rows=shown,
        total=len(rows),
        counts=counts,
        view=view,
        order=order,
        open_alerts=open_alerts,
        kind_words=alerts.KIND_WORDS,
        sparkline=dashboard.sparkline,
        rc_words=progress.RC_WORDS,
    )


@bp.route("/clients/new", methods=["GET", "POST"])
def new_client() -> Response | str | tuple[str, int]:
    """Add a client; the therapist gets a one-time invitation link to pass on."""
    form = NewClientForm()
    if form.validate_on_submit():
        therapist = signed_in_user()
        db = database.session()
        try:
            client = accounts.add_client(
                db, therapist, form.display_name.data or "", form.email.data
            )
        except accounts.AccountError as error:
            getattr(form, error.field or "email").errors = [error.message]
        else:
            issued = accounts.issue_invitation(db, client, therapist, invitation_lifetime())
            back = url_for("therapist.client_record", client_id=client.id)
            return show_new_invitation(client, issued, back, f"Go to {client.display_name}")
    status = 422 if request.method == "POST" else 200
    return render_template("therapist/new_client.html", form=form), status


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
        send_form=_instrument_options(SendQuestionnaireForm()),
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


# --- the plan -------------------------------------------------------------------------------


def get_assignment_or_404(client: User, assignment_id: int) -> Assignment:
    """Homework in one of this client's plans (the client already passed get_client_or_404)."""
    assignment = plans.find_assignment(database.session(), client.id, assignment_id)
    if assignment is None:
        abort(404)
    return assignment


def _open_plan_or_404(client: User) -> Plan:
    plan = plans.open_plan(database.session(), client)
    if plan is None:
        abort(404)
    return plan


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
    plan = _open_plan_or_404(client)
    db = database.session()
    today = local_today(signed_in_user())
    version = _int_arg(request.form.get("version"))
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


def _assignment_form(form: AssignmentForm) -> AssignmentForm:
    titles = sorted((ws.title, key) for key, ws in library().worksheets.items())
    form.worksheet.choices = options((key, title) for title, key in titles)
    return form


@bp.route("/clients/<int:client_id>/assignments/new", methods=["GET", "POST"])
def new_assignment(client_id: int) -> Response | str | tuple[str, int]:
    """Add any worksheet from the library to any week of this client's plan."""
    client = get_client_or_404(client_id)
    plan = _open_plan_or_404(client)
    form = _assignment_form(AssignmentForm())
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
                version=_int_arg(form.version.data),
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
                version=_int_arg(form.version.data),
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
    version = _int_arg(request.form.get("version"))
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


# --- measures and alerts --------------------------------------------------------------------


def get_alert_or_404(client: User, alert_id: int) -> Alert:
    """An alert of this client (who already passed get_client_or_404)."""
    alert = database.session().scalar(
        sa.select(Alert).where(Alert.id == alert_id, Alert.client_id == client.id)
    )
    if alert is None:
        abort(404)
    return alert


def _instrument_options(form: SendQuestionnaireForm) -> SendQuestionnaireForm:
    form.code.choices = options(
        (code, f"{inst.short_name} · {inst.about}") for code, inst in measures.instruments().items()
    )
    return form


@bp.post("/clients/<int:client_id>/questionnaires/send")
def send_questionnaire(client_id: int) -> Response:
    """Send any questionnaire to the client now; it appears on their 'This week' page."""
    client = get_client_or_404(client_id)
    form = _instrument_options(SendQuestionnaireForm())
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
    if code not in measures.instruments():
        abort(404)
    inst = measures.instrument(code)
    errors: dict[str, str] = {}
    if request.method == "POST":
        db = database.session()
        try:
            answers = questionnaires.parse_answers(code, request.form)
        except questionnaires.Unanswered as missing:
            errors = missing.errors
        else:
            plan = plans.open_plan(db, client)
            row, raised = questionnaires.complete(
                db, client, code, answers, signed_in_user(), plan=plan, slot="ad_hoc"
            )
            audit.record("create", "administration", row.id, subject_id=client.id)
            flash(
                f"{inst.short_name} recorded: {row.total} ({row.band})."
                + (f" {len(raised)} alert(s) raised." if raised else ""),
                "success",
            )
            return redirect(
                url_for("therapist.client_record", client_id=client.id, _anchor="measures")
            )
    return render_template(
        "therapist/in_session.html",
        client=client,
        inst=inst,
        errors=errors,
        answers=request.form.to_dict(),
    ), (422 if errors else 200)


@bp.route("/clients/<int:client_id>/alerts/<int:alert_id>", methods=["GET", "POST"])
def alert(client_id: int, alert_id: int) -> Response | tuple[str, int]:
    """One alert: what raised it, and acknowledging it with a note."""
    client = get_client_or_404(client_id)
    item = get_alert_or_404(client, alert_id)
    audit.record(
        "view" if request.method == "GET" else "change", "alert", item.id, subject_id=client.id
    )
    form = AcknowledgeForm()
    if form.validate_on_submit():
        try:
            alerts.acknowledge(database.session(), item, signed_in_user(), form.note.data or "")
        except DomainError as error:
            form.note.errors = [error.message]
        else:
            flash("Alert acknowledged.", "success")
            return redirect(
                url_for("therapist.client_record", client_id=client.id, _anchor="alerts")
            )
    acknowledged_by = (
        database.session().get(User, item.acknowledged_by_id) if item.acknowledged_by_id else None
    )
    return render_template(
        "therapist/alert.html",
        client=client,
        alert=item,
        form=form,
        acknowledged_by=acknowledged_by,
        kind_words=alerts.KIND_WORDS,
    ), (422 if request.method == "POST" else 200)


# --- session notes and event notes ----------------------------------------------------------


def get_note_or_404(client: User, note_id: int) -> SessionNote:
    """A note of this client; a draft only for the therapist who started it."""
    therapist = signed_in_user()
    note = database.session().scalar(
        sa.select(SessionNote).where(
            SessionNote.id == note_id,
            SessionNote.client_id == client.id,
            sa.or_(SessionNote.status == "signed", SessionNote.therapist_id == therapist.id),
        )
    )
    if note is None:
        audit.denied("session_note", note_id)
        abort(404)
    return note


@bp.get("/clients/<int:client_id>/notes")
def notes_list(client_id: int) -> str:
    """The client's session notes, newest first."""
    client = get_client_or_404(client_id)
    db = database.session()
    therapist = signed_in_user()
    visible = [
        n
        for n in notes.notes_of(db, client)
        if n.status == "signed" or n.therapist_id == therapist.id
    ]
    audit.record("view", "session_notes", subject_id=client.id)
    return render_template(
        "therapist/notes.html", client=client, notes=visible, today=local_today(therapist)
    )


@bp.post("/clients/<int:client_id>/notes")
def start_note(client_id: int) -> Response:
    """Start a draft note for a session, filled in from the record."""
    client = get_client_or_404(client_id)
    therapist = signed_in_user()
    day = _date_arg(request.form.get("session_date")) or local_today(therapist)
    note = notes.start_note(database.session(), client, therapist, day)
    audit.record("create", "session_note", note.id, subject_id=client.id)
    return redirect(url_for("therapist.note", client_id=client.id, note_id=note.id))


@bp.route("/clients/<int:client_id>/notes/<int:note_id>", methods=["GET", "POST"])
def note(client_id: int, note_id: int) -> Response | str | tuple[str, int]:
    """Read a note, or edit it while it is a draft (and save and sign it)."""
    client = get_client_or_404(client_id)
    item = get_note_or_404(client, note_id)
    db = database.session()
    form = SessionNoteForm(obj=item if request.method == "GET" else None)
    notice = None
    status = 200
    if request.method == "GET":
        form.version.data = str(item.version)
        audit.record("view", "session_note", item.id, subject_id=client.id)
    elif form.validate_on_submit():
        values = {
            name: getattr(form, name).data
            for name in (
                *notes.NOTE_FIELDS,
                "session_date",
                "duration_minutes",
                "attendance",
                "format",
            )
        }
        signing = request.form.get("action") == "sign"
        try:
            notes.save(db, item, signed_in_user(), int(form.version.data or 0), values)
            audit.record("change", "session_note", item.id, subject_id=client.id)
            if signing:
                notes.sign(db, item, signed_in_user())
                audit.record("sign", "session_note", item.id, subject_id=client.id)
        except notes.NoteConflict as conflict:
            # Both versions are kept: the typed one is filed now, and the therapist chooses.
            revision = notes.set_aside(db, conflict.note, signed_in_user(), values, "conflict")
            database.keep_changes()
            return _note_conflict_page(client, conflict.note, revision)
        except DomainError as error:
            notice, status = error.message, 409
        else:
            flash("Note signed." if signing else "Draft saved.", "success")
            return redirect(url_for("therapist.note", client_id=client.id, note_id=item.id))
    else:
        status = 422
    return render_template(
        "therapist/note.html",
        client=client,
        note=item,
        form=form,
        notice=notice,
        addendum_form=AddendumForm(),
        author=db.get(User, item.therapist_id) if item.therapist_id else None,
        mine=item.therapist_id == signed_in_user().id,
    ), status


def _note_conflict_page(
    client: User, item: SessionNote, revision: SessionNoteRevision
) -> tuple[str, int]:
    """The note as saved now and as just typed, side by side, with a choice."""
    db = database.session()
    author = db.get(User, item.therapist_id) if item.therapist_id else None
    return render_template(
        "therapist/note_conflict.html",
        client=client,
        note=item,
        revision=revision,
        saved=notes.fields_of(item),
        typed=notes.revision_values(revision),
        author=author,
        form=ConfirmForm(),
    ), 409


@bp.post("/clients/<int:client_id>/notes/<int:note_id>/conflicts/<int:revision_id>")
def resolve_note_conflict(
    client_id: int, note_id: int, revision_id: int
) -> Response | tuple[str, int]:
    """Keep the note as just typed, or as saved elsewhere; the other stays on file."""
    client = get_client_or_404(client_id)
    item = get_note_or_404(client, note_id)
    db = database.session()
    revision = db.scalar(
        sa.select(SessionNoteRevision).where(
            SessionNoteRevision.id == revision_id,
            SessionNoteRevision.note_id == item.id,
            SessionNoteRevision.reason == "conflict",
        )
    )
    if revision is None:
        abort(404)
    back = url_for("therapist.note", client_id=client.id, note_id=item.id)
    if request.form.get("keep") != "mine":
        flash("The saved note is kept. What you typed is kept on file.", "info")
        return redirect(back)
    try:
        notes.keep_set_aside(
            db, item, signed_in_user(), revision, _int_arg(request.form.get("version"))
        )
    except notes.NoteConflict as conflict:
        return _note_conflict_page(client, conflict.note, revision)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(back)
    audit.record("change", "session_note", item.id, subject_id=client.id)
    flash("Your text is kept. The other version is kept on file.", "success")
    return redirect(back)


def _int_arg(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


@bp.post("/clients/<int:client_id>/notes/<int:note_id>/addenda")
def add_addendum(client_id: int, note_id: int) -> Response | tuple[str, int]:
    """Add a dated addendum to a signed note."""
    client = get_client_or_404(client_id)
    item = get_note_or_404(client, note_id)
    form = AddendumForm()
    if form.validate_on_submit():
        try:
            notes.add_addendum(database.session(), item, signed_in_user(), form.text.data or "")
        except DomainError as error:
            flash(error.message, "error")
        else:
            audit.record("change", "session_note", item.id, subject_id=client.id)
            flash("Addendum added.", "success")
        return redirect(url_for("therapist.note", client_id=client.id, note_id=item.id))
    db = database.session()
    return render_template(
        "therapist/note.html",
        client=client,
        note=item,
        form=SessionNoteForm(obj=item),
        notice=None,
        addendum_form=form,
        author=db.get(User, item.therapist_id) if item.therapist_id else None,
        mine=item.therapist_id == signed_in_user().id,
    ), 422


@bp.post("/clients/<int:client_id>/events")
def add_event(client_id: int) -> Response:
    """Add a dated event note; it appears as a marker on the client's charts."""
    client = get_client_or_404(client_id)
    form = EventNoteForm()
    if form.validate_on_submit():
        event = notes.add_event(
            database.session(), client, signed_in_user(), form.on_date.data, form.text.data or ""
        )
        audit.record("create", "event_note", event.id, subject_id=client.id)
        flash("Event noted. It shows on the charts.", "success")
    else:
        flash(" ".join(e for errs in form.errors.values() for e in errs), "error")
    return redirect(url_for("therapist.client_record", client_id=client.id, _anchor="measures"))


def _date_arg(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


# --- reports and exports ----------------------------------------------------------------------


def _file_stem(client: User) -> str:
    """Download names carry the record number, never the client's name."""
    return f"bedrock-client-{client.id}"


@bp.get("/clients/<int:client_id>/notes/<int:note_id>/summary.pdf")
def note_summary_pdf(client_id: int, note_id: int) -> Response:
    """The session-summary PDF of one session note."""
    client = get_client_or_404(client_id)
    item = get_note_or_404(client, note_id)
    return _session_summary(client, item.session_date, item)


# What went wrong with a report's dates, said next to the field (the record page shows it).
REPORT_PROBLEMS = {
    "from_invalid": ("report-from", "Enter the start date as a date, e.g. 2026-03-02."),
    "to_invalid": ("report-to", "Enter the end date as a date, e.g. 2026-05-25."),
    "range": ("report-to", "The end date must be on or after the start date."),
    "summary_missing": ("summary-date", "Choose the session date for the summary."),
    "summary_invalid": ("summary-date", "Enter the session date as a date, e.g. 2026-03-02."),
}


def _back_to_reports(client: User, problem: str, **typed: str) -> Response:
    """Back to the record's reports, with what was typed and what is wrong with it."""
    return redirect(
        url_for(
            "therapist.client_record",
            client_id=client.id,
            problem=problem,
            _anchor="reports",
            **typed,
        )
    )


def _session_summary(client: User, day: dt.date, item: SessionNote | None) -> Response:
    data = reports.gather_session_summary(database.session(), client, day, item)
    audit.record("export", "session_summary", item.id if item else None, subject_id=client.id)
    return exports.download(
        reports.session_summary_pdf(data),
        f"{_file_stem(client)}-session-{day:%Y-%m-%d}.pdf",
        "application/pdf",
    )


@bp.get("/clients/<int:client_id>/session-summary.pdf")
def session_summary_pdf(client_id: int) -> Response:
    """The session-summary PDF for a date (with that day's note, if there is one)."""
    client = get_client_or_404(client_id)
    raw = request.args.get("date", "").strip()
    day = _date_arg(raw)
    if day is None:
        problem = "summary_invalid" if raw else "summary_missing"
        return _back_to_reports(client, problem, summary_date=raw)
    therapist = signed_in_user()
    item = next(
        (
            n
            for n in notes.notes_of(database.session(), client)
            if n.session_date == day and (n.status == "signed" or n.therapist_id == therapist.id)
        ),
        None,
    )
    return _session_summary(client, day, item)


@bp.get("/clients/<int:client_id>/progress-report.pdf")
def progress_report_pdf(client_id: int) -> Response:
    """The progress report for the whole plan, or for the dates chosen."""
    client = get_client_or_404(client_id)
    raw_from, raw_to = request.args.get("from", "").strip(), request.args.get("to", "").strip()
    start, end = _date_arg(raw_from), _date_arg(raw_to)
    problem = None
    if raw_from and start is None:
        problem = "from_invalid"
    elif raw_to and end is None:
        problem = "to_invalid"
    elif start and end and start > end:
        problem = "range"
    if problem:
        return _back_to_reports(client, problem, report_from=raw_from, report_to=raw_to)
    db = database.session()
    data = reports.gather_progress_report(
        db, client, local_today(signed_in_user()), start=start, end=end
    )
    audit.record("export", "progress_report", subject_id=client.id)
    return exports.download(
        reports.progress_report_pdf(data),
        f"{_file_stem(client)}-progress-{data.start:%Y-%m-%d}-to-{data.end:%Y-%m-%d}.pdf",
        "application/pdf",
    )


@bp.get("/clients/<int:client_id>/questionnaires.csv")
def client_questionnaires_csv(client_id: int) -> Response:
    client = get_client_or_404(client_id)
    audit.record("export", "questionnaires_csv", subject_id=client.id)
    rows = exports.questionnaire_rows(database.session(), [client])
    return exports.csv_response(
        f"{_file_stem(client)}-questionnaires.csv", exports.QUESTIONNAIRE_HEADER, rows
    )


@bp.get("/clients/<int:client_id>/homework.csv")
def client_homework_csv(client_id: int) -> Response:
    client = get_client_or_404(client_id)
    audit.record("export", "homework_csv", subject_id=client.id)
    rows = exports.homework_rows(database.session(), [client])
    return exports.csv_response(f"{_file_stem(client)}-homework.csv", exports.HOMEWORK_HEADER, rows)


@bp.get("/clients/<int:client_id>/fhir.json")
def client_fhir(client_id: int) -> Response:
    client = get_client_or_404(client_id)
    audit.record("export", "fhir_bundle", subject_id=client.id)
    return exports.download(
        fhir.client_bundle_json(database.session(), client, utcnow()),
        f"{_file_stem(client)}-fhir.json",
        "application/fhir+json",
    )


@bp.get("/clients/<int:client_id>/record.zip")
@require_fresh_sign_in
def client_bundle(client_id: int) -> Response:
    """Everything about one client in one ZIP, for handover or a copy of the record."""
    client = get_client_or_404(client_id)
    db = database.session()
    data = exports.record_bundle(
        db, client, local_today(signed_in_user()), utcnow(), for_client=False
    )
    audit.record("export", "record_bundle", subject_id=client.id)
    return exports.download(data, f"{_file_stem(client)}-record.zip", "application/zip")


def _caseload() -> list[User]:
    return accounts.clients_in_care(database.session(), signed_in_user())


@bp.get("/exports/questionnaires.csv")
@require_fresh_sign_in
def caseload_questionnaires_csv() -> Response:
    """Every questionnaire of every client in the therapist's care."""
    clients = _caseload()
    audit.record("export", "caseload_questionnaires_csv")
    rows = exports.questionnaire_rows(database.session(), clients)
    return exports.csv_response(
        "bedrock-caseload-questionnaires.csv", exports.QUESTIONNAIRE_HEADER, rows
    )


@bp.get("/exports/homework.csv")
@require_fresh_sign_in
def caseload_homework_csv() -> Response:
    """Every homework sent by every client in the therapist's care."""
    clients = _caseload()
    audit.record("export", "caseload_homework_csv")
    rows = exports.homework_rows(database.session(), clients)
    return exports.csv_response("bedrock-caseload-homework.csv", exports.HOMEWORK_HEADER, rows)
