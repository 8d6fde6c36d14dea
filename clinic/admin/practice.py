"""The practice itself: its settings, the email outbox and the audit log."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .. import accounts, audit, mail, notifications
from .. import db as database
from ..models import Practice, Role, User
from ..web.downloads import csv_response
from ..web.forms import date_arg, id_arg, options, time_zones
from ..web.gates import require_fresh_sign_in, signed_in_user
from .blueprint import bp, get_notification_or_404
from .forms import PracticeSettingsForm

# The audit log export's header, in the order of `audit.csv_row`.
AUDIT_CSV_COLUMNS = [
    "id",
    "at_utc",
    "user_id",
    "user",
    "role",
    "action",
    "object_type",
    "object_id",
    "target_staff",
    "client_id",
    "outcome",
    "ip",
]


@bp.route("/settings", methods=["GET", "POST"])
def settings() -> Response | str | tuple[str, int]:
    """Practice settings: crisis contacts shown to clients, whether clients see scores,
    whether two-step sign-in is required of therapists and admins, time zone, reminders."""
    practice = signed_in_user().practice
    form = PracticeSettingsForm(obj=practice)
    form.time_zone.choices = options((z, z.replace("_", " ")) for z in time_zones())
    if form.validate_on_submit():
        _save_settings(practice, form)
        flash("Settings saved.", "success")
        return redirect(url_for("admin.settings"))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin/settings.html", form=form, practice=practice, email_on=mail.configured()
    ), status


def _save_settings(practice: Practice, form: PracticeSettingsForm) -> None:
    """Store what the settings form validated; the change is audited (two-step sign-in and the
    alert response time also on their own)."""
    audit.record("change", "practice_settings", practice.id)
    practice.crisis_contacts = (form.crisis_contacts.data or "").strip()
    practice.abuse_helplines = (form.abuse_helplines.data or "").strip() or None
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
    practice.discreet_emails = bool(form.discreet_emails.data)
    if practice.retention_years != form.retention_years.data:
        practice.retention_years = form.retention_years.data
        audit.record("change", "retention_period", practice.id)
    if practice.alert_response_hours != form.alert_response_hours.data:
        practice.alert_response_hours = int(form.alert_response_hours.data or 24)
        audit.record("change", "alert_response_time", practice.id)


@bp.get("/email")
def outbox() -> str:
    """Emails that are waiting, being retried or have failed, and the latest ones sent. Only
    who, what kind and what happened: the messages themselves are not kept."""
    open_rows, done_rows = notifications.outbox(database.session(), signed_in_user().practice_id)
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
        "user_id": args.get("user", type=id_arg),
        "action": args.get("action") if args.get("action") in audit.ALL_ACTIONS else None,
        "outcome": args.get("outcome") if args.get("outcome") in ("allowed", "denied") else None,
        "since": date_arg(args.get("since")),
        "until": date_arg(args.get("until")),
    }


@bp.get("/audit")
def audit_log() -> str:
    """The practice's audit log, newest first, with filters (no clinical content in it)."""
    admin = signed_in_user()
    db = database.session()
    filters = _audit_filters()
    before = request.args.get("before", type=id_arg)
    events = audit.search(db, admin.practice_id, before_id=before, **filters)
    people = accounts.people_of(db, admin.practice_id)
    audit.record("view", "audit_log")
    return render_template(
        "admin/audit.html",
        events=events,
        filters=filters,
        people=people,
        staff=_staff_names(people),
        actions=audit.ALL_ACTIONS,
        args=request.args,
    )


@bp.get("/audit.csv")
@require_fresh_sign_in
def audit_export() -> Response:
    """The filtered audit log as CSV (a bulk export: it needs a recent sign-in)."""
    admin = signed_in_user()
    db = database.session()
    events = audit.search(db, admin.practice_id, limit=100_000, **_audit_filters())
    staff = _staff_names(accounts.people_of(db, admin.practice_id))
    audit.record("export", "audit_log")
    rows = (audit.csv_row(e, staff) for e in events)
    return csv_response("audit-log.csv", AUDIT_CSV_COLUMNS, rows)


def _staff_names(people: list[User]) -> dict[int, str]:
    """Staff accounts are named in the audit log; a client only ever by number."""
    return {p.id: p.display_name for p in people if p.role != Role.CLIENT.value}
