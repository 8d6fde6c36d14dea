"""Invitation links as therapists and admins issue them: how long they last, and the page that
shows a new link once, for copying."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from .. import accounts, audit, mail, notifications
from .. import db as database
from ..models import Role, User
from .gates import signed_in_user


def invitation_lifetime() -> timedelta:
    """How long a new invitation stays valid."""
    return timedelta(days=int(current_app.config["INVITATION_DAYS"]))


def show_new_invitation(
    person: User,
    issued: accounts.IssuedInvitation,
    back: str,
    back_label: str,
    *,
    emailed_to: str | None = None,
) -> str:
    """The page that shows a just-issued invitation link, once, for copying (and says where
    it is being emailed, if it is)."""
    link = url_for("auth.accept_invitation", token=issued.token, _external=True)
    return render_template(
        "invitation_link.html",
        person=person,
        link=link,
        invitation=issued.invitation,
        back=back,
        back_label=back_label,
        emailed_to=emailed_to,
    )


def hand_out_link(person: User, back: str, back_label: str, *, email: bool) -> Response | str:
    """Issue a new invitation or password-reset link for `person` and let it reach them the
    way `accounts.link_route` allows: shown once to the issuer, emailed to the owner only, or
    refused here (made on the server instead). Every link issued is audited."""
    route = accounts.link_route(person, mail.configured())
    if route == accounts.LINK_SERVER:
        flash(
            f"Email is not set up, so a password reset link for {person.display_name} cannot be "
            "shown here: nobody may obtain another person's sign-in alone. Whoever runs the "
            f"server can make one with: flask --app clinic reset-link {person.email}",
            "error",
        )
        return redirect(back)
    send = email or route == accounts.LINK_EMAIL
    if send and (not mail.configured() or not person.email):
        flash("Email is not set up for this practice, or there is no address to send to.", "info")
        return redirect(back)
    db = database.session()
    issued = accounts.issue_invitation(db, person, signed_in_user(), invitation_lifetime())
    client = person.id if person.role == Role.CLIENT.value else None
    audit.record("issue_link", "account", person.id, subject_id=client)
    if send:
        notifications.queue_invitation(db, issued)
    if send and person.has_accepted:  # a reset link for an active account is never shown
        return render_template(
            "link_emailed.html", person=person, back=back, back_label=back_label,
            invitation=issued.invitation,
        )  # fmt: skip
    return show_new_invitation(
        person, issued, back, back_label, emailed_to=person.email if send else None
    )
