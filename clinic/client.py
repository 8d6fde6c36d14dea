"""Client blueprint: the client's own pages. Everything here is the signed-in client's own."""

from __future__ import annotations

from flask import Blueprint, render_template

from . import accounts
from . import db as database
from .auth import require_role, signed_in_user
from .models import Role

bp = Blueprint("client", __name__, url_prefix="/me")
require_role(bp, Role.CLIENT)


@bp.get("/")
def home() -> str:
    """The client's home: who their therapist is and what comes next."""
    client = signed_in_user()
    therapist = accounts.therapist_of(database.session(), client)
    return render_template("client/home.html", client=client, therapist=therapist)
