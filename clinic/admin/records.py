"""Clients' records as the admin handles them: the list by name, and export-then-erase."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from .. import accounts, audit, erasure
from .. import db as database
from ..models import User
from ..timeutil import local_today
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


@bp.get("/clients/retention")
def retention() -> str:
    """The clients whose records are past the practice's retention period (names, therapist
    and dates only), each with the erasure flow's next step. Nothing is erased from here."""
    admin = signed_in_user()
    db = database.session()
    practice = admin.practice
    due = erasure.past_retention(db, practice, local_today(admin))
    audit.record("view", "retention_review", practice.id)
    names = {u.id: u.display_name for u in accounts.people_of(db, admin.practice_id)}
    return render_template(
        "admin/retention.html", due=due, practice=practice, names=names, form=ConfirmForm()
    )


@bp.route("/clients/<int:user_id>/erase", methods=["GET", "POST"])
@require_fresh_sign_in
def erase_client(user_id: int) -> Response | str | tuple[str, int]:
    """Step 3 of 3: erase the record, after the therapist's download, with a reason."""
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
    return _erase_page(client, form), status_of(form)


def _erase_page(client: User, form: EraseForm) -> str:
    """The erase page: whether the erasure was asked for, the therapist's download (its date
    and fingerprint only) and the erase form."""
    db = database.session()
    row = erasure.open_request(db, client)
    names = {u.id: u.display_name for u in accounts.people_of(db, client.practice_id)}
    return render_template(
        "admin/erase.html",
        client=client,
        form=form,
        request_row=row,
        export=erasure.pending_export(db, client),
        therapist=accounts.therapist_of(db, client),
        names=names,
        request_form=ConfirmForm(),
    )


@bp.post("/clients/<int:user_id>/erase/request")
@require_fresh_sign_in
def request_erasure(user_id: int) -> Response:
    """Step 1 of 3: ask for the erasure; the client's therapist is asked to download the whole
    record (the admin never reads it)."""
    client = get_client_or_404(user_id)
    row = erasure.request(database.session(), client, signed_in_user())
    audit.record("create", "erasure_request", row.id, subject_id=client.id)
    flash(
        "Erasure asked for. The client's therapist sees it on the client's record and downloads "
        "the record there; come back here to erase once it is downloaded.",
        "info",
    )
    return redirect(url_for("admin.erase_client", user_id=client.id))
