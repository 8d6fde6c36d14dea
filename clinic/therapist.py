"""Therapist blueprint: caseload, clients, invitations."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from . import accounts
from . import db as database
from .auth import invitation_lifetime, require_role, show_new_invitation, signed_in_user
from .db import utcnow
from .forms import ConfirmForm, NewClientForm
from .models import Care, Role, User

bp = Blueprint("therapist", __name__, url_prefix="/therapist")
require_role(bp, Role.THERAPIST)


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
        abort(404)
    return client


@bp.get("/")
def caseload() -> str:
    """The therapist's clients in care."""
    db = database.session()
    clients = accounts.clients_in_care(db, signed_in_user())
    return render_template("therapist/caseload.html", clients=clients)


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
    """One client's record: account status and invitation."""
    client = get_client_or_404(client_id)
    invitation = accounts.latest_invitation(database.session(), client)
    return render_template(
        "therapist/client.html",
        client=client,
        invitation=invitation,
        invitation_state=invitation.state(utcnow()) if invitation else None,
        form=ConfirmForm(),
    )


@bp.post("/clients/<int:client_id>/invitation")
def new_invitation(client_id: int) -> Response | str:
    """Issue a fresh invitation link (the previous pending one stops working)."""
    client = get_client_or_404(client_id)
    if client.has_accepted:
        abort(404)
    therapist = signed_in_user()
    issued = accounts.issue_invitation(database.session(), client, therapist, invitation_lifetime())
    back = url_for("therapist.client_record", client_id=client.id)
    return show_new_invitation(client, issued, back, f"Back to {client.display_name}")


@bp.post("/clients/<int:client_id>/invitation/revoke")
def revoke_invitation(client_id: int) -> Response:
    """Withdraw the client's pending invitation link."""
    client = get_client_or_404(client_id)
    accounts.revoke_pending(database.session(), client)
    return redirect(url_for("therapist.client_record", client_id=client.id))
