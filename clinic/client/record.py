"""The client's own record and settings: who looked at it, their report, a copy of everything, reminders and time zone."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .. import audit, exports, mail, reports
from .. import db as database
from ..timeutil import local_time, local_today
from ..web.downloads import download
from ..web.forms import options, time_zones
from ..web.gates import require_fresh_sign_in, signed_in_user
from .blueprint import bp
from .forms import ClientSettingsForm


@bp.get("/access")
def access_log() -> str:
    """Who else has looked at or downloaded the client's record, and when."""
    client = signed_in_user()
    lines = audit.access_log(database.session(), client)
    return render_template("client/access_log.html", lines=lines, zone_of=local_time, client=client)


@bp.get("/progress-report.pdf")
def progress_report_pdf() -> Response:
    """The client's own progress report (no therapist notes; scores only if the practice
    shows them)."""
    client = signed_in_user()
    db = database.session()
    data = reports.gather_progress_report(db, client, local_today(client), for_client=True)
    audit.record("export", "progress_report", subject_id=client.id)
    return download(reports.progress_report_pdf(data), "my-progress-report.pdf", "application/pdf")


@bp.get("/my-record.zip")
@require_fresh_sign_in
def record_bundle() -> Response:
    """A copy of the client's own record: progress report, CSV files and FHIR bundle."""
    client = signed_in_user()
    data = exports.record_bundle(
        database.session(), client, local_today(client), database.utcnow(), for_client=True
    )
    audit.record("export", "record_bundle", subject_id=client.id)
    return download(data, "my-bedrock-record.zip", "application/zip")


@bp.route("/settings", methods=["GET", "POST"])
def settings() -> Response | tuple[str, int]:
    """The client's own settings: email reminders on or off, and their time zone."""
    client = signed_in_user()
    practice_zone = client.practice.time_zone
    form = ClientSettingsForm(reminders=client.reminders_wanted, time_zone=client.time_zone or "")
    form.time_zone.choices = options(
        [("", f"The same as my practice ({practice_zone.replace('_', ' ')})")]
        + [(z, z.replace("_", " ")) for z in time_zones()]
    )
    if form.validate_on_submit():
        client.reminders_wanted = bool(form.reminders.data)
        client.time_zone = form.time_zone.data or None
        flash("Your settings are saved.", "success")
        return redirect(url_for("client.settings"))
    return render_template(
        "client/settings.html",
        form=form,
        email_on=mail.configured(),
        allowed=client.reminders_allowed,
        has_email=bool(client.email),
    ), (422 if request.method == "POST" else 200)
