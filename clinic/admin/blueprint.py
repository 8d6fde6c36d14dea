"""The practice admin's blueprint: closed to everyone but admins, and the loaders, each scoped
to the admin's own practice. Admins read no clinical content."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort

from .. import audit
from .. import db as database
from ..models import Notification, Role, User
from ..web.gates import require_role, signed_in_user

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


def get_client_or_404(user_id: int) -> User:
    """A client of the signed-in admin's practice; anyone else is 404 (and audited)."""
    return _person_or_404(user_id, (Role.CLIENT,), audited=True)


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
