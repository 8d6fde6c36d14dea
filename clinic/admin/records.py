"""Clients' records as the admin handles them: the list by name, and export-then-erase."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from .. import accounts, audit, erasure, exports
from .. import db as database
from ..db import utcnow
from ..models import User
from ..timeutil import local_today
from ..web.downloads import download
from ..web.forms import ConfirmForm, status_of
from ..web.gates import require_fresh_sign_in, signed_in_user
from .blueprint import bp, get_client_or_404
from .forms import EraseForm


@bp.get("/clients")
def clients() -> str:
    """The practice's clients by name with their therapist (no clinical content), and the
    record erasures done so far."""
    admin = signed_in_user()
    db = database.session()
    rows = accounts.clients_of_practice(db, admin.practice_id)
    names = {u.id: u.display_name for u in accounts.people_of(db, admin.practice_id)}
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
    return _erase_page(client, admin, form), status_of(form)


def _erase_page(client: User, admin: User, form: EraseForm) -> str:
    """The erase page: the export it follows (if still valid) and the erase form."""
    return render_template(
        "admin/erase.html",
        client=client,
        form=form,
        export=erasure.pending_export(database.session(), client, admin),
        export_form=ConfirmForm(),
    )


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
    return download(data, f"bedrock-client-{client.id}-record.zip", "application/zip")
