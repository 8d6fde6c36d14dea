"""Invitation links as therapists and admins issue them: how long they last, and the page that
shows a new link once, for copying."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, render_template, url_for

from .. import accounts
from ..models import User


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
