"""The practice's people: therapists and admins, their invitations and accounts, two-step resets, and handing a client over to a colleague."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .. import accounts, alerts, audit, mfa
from .. import db as database
from ..db import utcnow
from ..models import Role, User
from ..web.forms import ConfirmForm, options, show_error, status_of
from ..web.gates import require_fresh_sign_in, signed_in_user
from ..web.invitations import hand_out_link
from .blueprint import bp, get_staff_or_404
from .forms import NewTherapistForm, TransferForm


@bp.get("/")
def people() -> str:
    """The practice's therapists and admins, with how many clients each has in care and, as
    counts only, their clients' open and overdue alerts."""
    admin, db = signed_in_user(), database.session()
    rows = accounts.staff_with_caseloads(db, admin.practice_id)
    counts = alerts.open_counts(db, admin.practice, utcnow())
    return render_template(
        "admin/people.html", rows=rows, alert_counts=counts, form=ConfirmForm(), now=utcnow()
    )


@bp.post("/people/<int:user_id>/safety-contact/<any(on, off):change>")
def safety_contact(user_id: int, change: str) -> Response:
    """Name a colleague as a safety contact (emailed when an alert is not acknowledged in
    time), or stop."""
    person = get_staff_or_404(user_id)
    person.safety_contact = change == "on"
    audit.record("change", "safety_contact", person.id)
    if person.safety_contact:
        flash(f"{person.display_name} is now a safety contact.", "success")
    else:
        flash(f"{person.display_name} is no longer a safety contact.", "info")
    return redirect(url_for("admin.people"))


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
            audit.record("create", "account", therapist.id)
            return hand_out_link(therapist, url_for("admin.people"), "Back to people", email=False)
    status = 422 if request.method == "POST" else 200
    return render_template("admin/new_therapist.html", form=form), status


@bp.post("/people/<int:user_id>/invitation")
def new_invitation(user_id: int) -> Response | str:
    """A fresh invitation link for a colleague who has not set up their account (shown to pass
    on); for an active colleague, a password reset link that only reaches them."""
    person = get_staff_or_404(user_id)
    return hand_out_link(person, url_for("admin.people"), "Back to people", email=False)


@bp.post("/people/<int:user_id>/invitation/email")
def email_invitation(user_id: int) -> Response | str:
    """Issue a fresh invitation (or password reset) link for a colleague and email it."""
    person = get_staff_or_404(user_id)
    if not person.active:
        flash(f"{person.display_name}'s account is deactivated.", "info")
        return redirect(url_for("admin.people"))
    return hand_out_link(person, url_for("admin.people"), "Back to people", email=True)


@bp.post("/people/<int:user_id>/invitation/revoke")
def revoke_invitation(user_id: int) -> Response:
    """Withdraw a therapist's pending invitation link."""
    person = get_staff_or_404(user_id)
    accounts.revoke_pending(database.session(), person)
    audit.record("revoke_link", "account", person.id)
    return redirect(url_for("admin.people"))


@bp.post("/people/<int:user_id>/deactivate")
def deactivate(user_id: int) -> Response:
    """Deactivate a colleague's account: they are signed out everywhere and cannot sign in."""
    person = get_staff_or_404(user_id)
    if person.id == signed_in_user().id:
        flash("You cannot deactivate your own account.", "error")
        return redirect(url_for("admin.people"))
    accounts.set_active(database.session(), person, active=False)
    audit.record("deactivate", "account", person.id)
    flash(f"{person.display_name} can no longer sign in.", "info")
    return redirect(url_for("admin.people"))


@bp.post("/people/<int:user_id>/reactivate")
def reactivate(user_id: int) -> Response:
    """Let a deactivated colleague sign in again."""
    person = get_staff_or_404(user_id)
    accounts.set_active(database.session(), person, active=True)
    audit.record("reactivate", "account", person.id)
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


@bp.route("/people/<int:user_id>/transfer", methods=["GET", "POST"])
def transfer(user_id: int) -> Response | str | tuple[str, int]:
    """Hand one of a therapist's clients over to a colleague (names only; no clinical content)."""
    therapist = get_staff_or_404(user_id)
    db = database.session()
    clients = accounts.clients_in_care(db, therapist)
    colleagues = accounts.colleagues(db, therapist)
    form = TransferForm()
    form.client.choices = options((str(c.id), c.display_name) for c in clients)
    form.therapist.choices = options((str(c.id), c.display_name) for c in colleagues)
    if form.validate_on_submit():
        client, to = _chosen(clients, form.client.data), _chosen(colleagues, form.therapist.data)
        try:
            accounts.transfer_care(db, client, to, form.reason.data or "")
        except accounts.AccountError as error:
            show_error(form, error, "therapist")
        else:
            audit.record("change", "care", client.id, subject_id=client.id)
            flash(f"{client.display_name} is now in {to.display_name}'s care.", "success")
            return redirect(url_for("admin.people"))
    page = render_template("admin/transfer.html", form=form, therapist=therapist, clients=clients)
    return page, status_of(form)


def _chosen(people: list[User], value: str | None) -> User:
    """The person of the offered list whose id was sent; anything else is 404."""
    person = next((p for p in people if str(p.id) == value), None)
    if person is None:
        abort(404)
    return person
