"""Practice admin blueprint: the people of the practice. Admins read no clinical content."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from . import accounts, audit, erasure, exports, mail, mfa, notifications
from . import db as database
from .auth import (
    invitation_lifetime,
    require_fresh_sign_in,
    require_role,
    show_new_invitation,
    signed_in_user,
)
from .db import utcnow
from .forms import (
    ConfirmForm,
    EraseForm,
    NewTherapistForm,
    PracticeSettingsForm,
    TransferForm,
    options,
    time_zones,
)
from .models import Care, Notification, Role, User
from .timeutil import local_today

bp = Blueprint("admin", __name__, url_prefix="/admin")
require_role(bp, Role.ADMIN)


def _person_or_404(user_id: int, roles: tuple[Role, ...], *, audited: bool = False) -> User:
    """A person of the signed-in admin's practice with one of these roles; else 404."""
    user = database.session().scalar(
        sa.select(User).where(
            User.id == user_id,
            User.practice_id == signed_in_user().practice_id,
            User.role.in_([r.value for r in roles]),
        )
    )
    if user is None:
        if audited:
            audit.denied("client", user_id)
        abort(404)
    return user


def get_staff_or_404(user_id: int) -> User:
    """A therapist or admin of the signed-in admin's practice; anyone else is 404."""
    return _person_or_404(user_id, (Role.THERAPIST, Role.ADMIN))


@bp.get("/")
def people() -> str:
    """The practice's therapists and admins, with how many clients each has in care."""
    admin = signed_in_user()
    db = database.session()
    caseload = (
        sa.select(Care.therapist_id, sa.func.count().label("n"))
        .where(Care.ended_at.is_(None))
        .group_by(Care.therapist_id)
        .subquery()
    )
    rows = db.execute(
        sa.select(User, sa.func.coalesce(caseload.c.n, 0))
        .outerjoin(caseload, caseload.c.therapist_id == User.id)
        .where(
            User.practice_id == admin.practice_id,
            User.role.in_([Role.THERAPIST.value, Role.ADMIN.value]),
        )
        .order_by(User.role.desc(), sa.func.lower(User.display_name))
    ).all()
    return render_template("admin/people.html", rows=rows, form=ConfirmForm(), now=utcnow())


@bp.route("/therapists/new", methods=["GET", "POST"])
def new_therapist() -> Response | str | tuple[str, int]:
    """Add a therapist; the admin gets a one-time invitation link to pass on."""
    form = NewTherapistForm()
    if form.validate_on_submit():
        admin = signed_in_user()
        db = database.session()
        try:
            therapist = accounts.create_user(
                db, admin.practice, Role.THERAPIST, form.display_name.data or "", form.email.data
            )
        except accounts.AccountError as error:
            getattr(form, error.field or "email").errors = [error.message]
        else:
            issued = accounts.issue_invitation(db, therapist, admin, invitation_lifetime())
            return show_new_invitation(therapist, issued, url_for("admin.people"), "Back to people")
    status = 422 if request.method == "POST" else 200
    return render_template("admin/new_therapist.html", form=form), status


@bp.post("/people/<int:user_id>/invitation")
def new_invitation(user_id: int) -> Response | str:
    """Issue a fresh invitation link for a therapist who has not set up their account."""
    person = get_staff_or_404(user_id)
    db = database.session()
    issued = accounts.issue_invitation(db, person, signed_in_user(), invitation_lifetime())
    return show_new_invitation(person, issued, url_for("admin.people"), "Back to people")


@bp.post("/people/<int:user_id>/invitation/email")
def email_invitation(user_id: int) -> Response | str:
    """Issue a fresh invitation (or password reset) link for a colleague and email it."""
    person = get_staff_or_404(user_id)
    if not mail.configured() or not person.active:
        flash("Email is not set up for this practice. Copy the link and send it yourself.", "info")
        return redirect(url_for("admin.people"))
    db = database.session()
    issued = accounts.issue_invitation(db, person, signed_in_user(), invitation_lifetime())
    notifications.queue_invitation(db, issued)
    return show_new_invitation(
        person, issued, url_for("admin.people"), "Back to people", emailed_to=person.email
    )


@bp.post("/people/<int:user_id>/invitation/revoke")
def revoke_invitation(user_id: int) -> Response:
    """Withdraw a therapist's pending invitation link."""
    person = get_staff_or_404(user_id)
    accounts.revoke_pending(database.session(), person)
    return redirect(url_for("admin.people"))


@bp.post("/people/<int:user_id>/deactivate")
def deactivate(user_id: int) -> Response:
    """Deactivate a colleague's account: they are signed out everywhere and cannot sign in."""
    person = get_staff_or_404(user_id)
    if person.id == signed_in_user().id:
        flash("You cannot deactivate your own account.", "error")
        return redirect(url_for("admin.people"))
    accounts.set_active(database.session(), person, active=False)
    flash(f"{person.display_name} can no longer sign in.", "info")
    return redirect(url_for("admin.people"))


@bp.post("/people/<int:user_id>/reactivate")
def reactivate(user_id: int) -> Response:
    """Let a deactivated colleague sign in again."""
    person = get_staff_or_404(user_id)
    accounts.set_active(database.session(), person, active=True)
    flash(f"{person.display_name} can sign in again.", "info")
    return redirect(url_for("admin.people"))


@bp.post("/people/<int:user_id>/two-step/reset")
@require_fresh_sign_in
def reset_two_step(user_id: int) -> Response:
    """Reset a colleague's two-step sign-in (a lost phone and no recovery codes left): they
    are signed out everywhere and sign in with their password until they set it up again."""
    person = get_staff_or_404(user_id)
    if person.id == signed_in_user().id:
        flash("Manage your own two-step sign-in from your account page.", "error")
        return redirect(url_for("admin.people"))
    mfa.turn_off(database.session(), person)
    person.end_all_sessions()
    audit.record("change", "account_mfa", person.id)
    flash(
        f"Two-step sign-in for {person.display_name} has been reset. They have been signed out.",
        "info",
    )
    return redirect(url_for("admin.people"))


@bp.route("/settings", methods=["GET", "POST"])
def settings() -> Response | str | tuple[str, int]:
    """Practice settings: crisis contacts shown to clients, whether clients see scores,
    whether two-step sign-in is required of therapists and admins, time zone, reminders."""
    practice = signed_in_user().practice
    form = PracticeSettingsForm(obj=practice)
    form.time_zone.choices = options((z, z.replace("_", " ")) for z in time_zones())
    if form.validate_on_submit():
        practice.crisis_contacts = (form.crisis_contacts.data or "").strip()
        practice.clients_see_scores = bool(form.clients_see_scores.data)
        if practice.mfa_required != bool(form.mfa_required.data):
            practice.mfa_required = bool(form.mfa_required.data)
            audit.record("change", "practice_mfa", practice.id)
        practice.time_zone = form.time_zone.data or practice.time_zone
        offsets = notifications.parse_offsets(form.reminder_days.data or "")
        practice.reminder_days = notifications.format_offsets(offsets)
        practice.reminder_window_days = int(form.reminder_window_days.data or 0)
        practice.quiet_from_hour = form.quiet_from_hour.data
        practice.quiet_until_hour = form.quiet_until_hour.data
        practice.digest_hour = form.digest_hour.data
        flash("Settings saved.", "success")
        return redirect(url_for("admin.settings"))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin/settings.html", form=form, practice=practice, email_on=mail.configured()
    ), status


def get_notification_or_404(notification_id: int) -> Notification:
    """An email of the signed-in admin's practice; anything else is 404."""
    row = database.session().scalar(
        sa.select(Notification).where(
            Notification.id == notification_id,
            Notification.practice_id == signed_in_user().practice_id,
        )
    )
    if row is None:
        abort(404)
    return row


@bp.get("/email")
def outbox() -> str:
    """Emails that are waiting, being retried or have failed, and the latest ones sent. Only
    who, what kind and what happened: the messages themselves are not kept."""
    admin = signed_in_user()
    db = database.session()
    base = (
        sa.select(Notification, User)
        .join(User, User.id == Notification.recipient_id)
        .where(Notification.practice_id == admin.practice_id)
    )
    open_rows = db.execute(
        base.where(Notification.status.in_(["pending", "sending", "failed"])).order_by(
            Notification.status == "failed", Notification.next_attempt_at, Notification.id
        )
    ).all()
    done_rows = db.execute(
        base.where(Notification.status.not_in(["pending", "sending", "failed"]))
        .order_by(Notification.id.desc())
        .limit(50)
    ).all()
    return render_template(
        "admin/email.html",
        open_rows=open_rows,
        done_rows=done_rows,
        kind_words=notifications.KIND_WORDS,
        status_words=notifications.STATUS_WORDS,
        email_on=mail.configured(),
        max_attempts=notifications.MAX_ATTEMPTS,
    )


@bp.post("/email/<int:notification_id>/retry")
def retry_email(notification_id: int) -> Response:
    """Try a failed email again (e.g. after an address or the mail server was fixed)."""
    row = get_notification_or_404(notification_id)
    if row.status == "failed":
        notifications.retry(database.session(), row)
        flash("The email will be tried again the next time emails are sent.", "success")
    return redirect(url_for("admin.outbox"))


def _audit_filters() -> dict[str, Any]:
    args = request.args
    return {
        "user_id": args.get("user", type=int),
        "action": args.get("action") if args.get("action") in audit.ACTIONS else None,
        "outcome": args.get("outcome") if args.get("outcome") in ("allowed", "denied") else None,
        "since": _date(args.get("since")),
        "until": _date(args.get("until")),
    }


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@bp.get("/audit")
def audit_log() -> str:
    """The practice's audit log, newest first, with filters (no clinical content in it)."""
    admin = signed_in_user()
    db = database.session()
    filters = _audit_filters()
    before = request.args.get("before", type=int)
    events = audit.search(db, admin.practice_id, before_id=before, **filters)
    people = db.scalars(
        sa.select(User).where(User.practice_id == admin.practice_id).order_by(User.display_name)
    ).all()
    audit.record("view", "audit_log")
    return render_template(
        "admin/audit.html",
        events=events,
        filters=filters,
        people=people,
        actions=audit.ACTIONS,
        args=request.args,
    )


@bp.get("/audit.csv")
@require_fresh_sign_in
def audit_export() -> Response:
    """The filtered audit log as CSV (a bulk export: it needs a recent sign-in)."""
    admin = signed_in_user()
    events = audit.search(database.session(), admin.practice_id, limit=100_000, **_audit_filters())
    audit.record("export", "audit_log")
    return exports.csv_response(
        "audit-log.csv",
        [
            "id",
            "at_utc",
            "user_id",
            "user",
            "role",
            "action",
            "object_type",
            "object_id",
            "client_id",
            "outcome",
            "ip",
        ],
        (
            [
                e.id,
                e.at.isoformat(),
                e.user_id,
                e.user_name,
                e.role,
                e.action,
                e.object_type,
                e.object_id,
                e.subject_id,
                e.outcome,
                e.ip,
            ]
            for e in events
        ),
    )


@bp.route("/people/<int:user_id>/transfer", methods=["GET", "POST"])
def transfer(user_id: int) -> Response | str | tuple[str, int]:
    """Hand one of a therapist's clients over to a colleague (names only; no clinical content)."""
    therapist = get_staff_or_404(user_id)
    db = database.session()
    clients = accounts.clients_in_care(db, therapist)
    colleagues = db.scalars(
        sa.select(User)
        .where(
            User.practice_id == therapist.practice_id,
            User.role == Role.THERAPIST.value,
            User.active.is_(True),
            User.id != therapist.id,
        )
        .order_by(User.display_name)
    ).all()
    form = TransferForm()
    form.client.choices = options((str(c.id), c.display_name) for c in clients)
    form.therapist.choices = options((str(c.id), c.display_name) for c in colleagues)
    if form.validate_on_submit():
        client = next((c for c in clients if str(c.id) == form.client.data), None)
        to = next((c for c in colleagues if str(c.id) == form.therapist.data), None)
        if client is None or to is None:
            abort(404)
        try:
            accounts.transfer_care(db, client, to, form.reason.data or "")
        except accounts.AccountError as error:
            getattr(form, error.field or "therapist").errors = [error.message]
        else:
            audit.record("change", "care", client.id, subject_id=client.id)
            flash(f"{client.display_name} is now in {to.display_name}'s care.", "success")
            return redirect(url_for("admin.people"))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin/transfer.html", form=form, therapist=therapist, clients=clients
    ), status


# --- clients: the list, and export-then-erase ----------------------------------------------------


def get_client_or_404(user_id: int) -> User:
    """A client of the signed-in admin's practice; anyone else is 404 (and audited)."""
    return _person_or_404(user_id, (Role.CLIENT,), audited=True)


@bp.get("/clients")
def clients() -> str:
    """The practice's clients by name with their therapist (no clinical content), and the
    record erasures done so far."""
    admin = signed_in_user()
    db = database.session()
    therapist = sa.orm.aliased(User)
    rows = db.execute(
        sa.select(User, therapist.display_name)
        .outerjoin(Care, sa.and_(Care.client_id == User.id, Care.ended_at.is_(None)))
        .outerjoin(therapist, therapist.id == Care.therapist_id)
        .where(User.practice_id == admin.practice_id, User.role == Role.CLIENT.value)
        .order_by(sa.func.lower(User.display_name), User.id)
    ).all()
    names = {
        u.id: u.display_name
        for u in db.scalars(sa.select(User).where(User.practice_id == admin.practice_id))
    }
    return render_template(
        "admin/clients.html",
        rows=rows,
        erasures=erasure.erasures_of(db, admin.practice_id),
        names=names,
    )


@bp.route("/clients/<int:user_id>/erase", methods=["GET", "POST"])
@require_fresh_sign_in
def erase_client(user_id: int) -> Response | str | tuple[str, int]:
    """Step 2 of 2: erase the record, after its export, with a reason."""
    client = get_client_or_404(user_id)
    admin = signed_in_user()
    db = database.session()
    form = EraseForm()
    if form.validate_on_submit():
        name = client.display_name
        try:
            row = erasure.erase(
                db, client, admin, form.reason.data or "", form.confirm_name.data or ""
            )
        except erasure.ErasureError as error:
            if error.field:
                getattr(form, error.field).errors = [error.message]
            else:
                flash(error.message, "error")
        else:
            audit.record("erase", "client", row.client_number, subject_id=row.client_number)
            flash(f"The record of {name} has been erased.", "success")
            return redirect(url_for("admin.clients"))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin/erase.html",
        client=client,
        form=form,
        export=erasure.pending_export(db, client, admin),
        export_form=ConfirmForm(),
    ), status


@bp.post("/clients/<int:user_id>/erase/record.zip")
@require_fresh_sign_in
def erase_export(user_id: int) -> Response:
    """Step 1 of 2: the whole record as one ZIP, to archive or hand over before erasure. A
    POST (with its form token), recorded as an export for erasure and listed on Clients
    whether or not the erasure follows: it is not a way to read records."""
    client = get_client_or_404(user_id)
    admin = signed_in_user()
    db = database.session()
    data = exports.record_bundle(db, client, local_today(admin), utcnow(), for_client=False)
    erasure.exported(db, client, admin, data)
    audit.record("export", "record_bundle", subject_id=client.id)
    return exports.download(data, f"bedrock-client-{client.id}-record.zip", "application/zip")
