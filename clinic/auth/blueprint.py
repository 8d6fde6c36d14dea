"""The auth blueprint: signing in and out, invitation links, one's own account. It has no role
gate (most of it is for people not yet signed in); the account pages ask for a sign-in each."""

from __future__ import annotations

from flask import Blueprint, abort

from .. import mfa
from ..models import User
from ..web.gates import signed_in_user

bp = Blueprint("auth", __name__)


def staff_only() -> User:
    """The signed-in therapist or admin (two-step sign-in is for staff); clients get 404."""
    user = signed_in_user()
    if not mfa.applies_to(user):
        abort(404)
    return user
