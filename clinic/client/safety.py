"""The client's safety net: where to get help now, reachable from every client page."""

from __future__ import annotations

from flask import render_template

from ..web.gates import signed_in_user
from .blueprint import bp


@bp.get("/help")
def help_now() -> str:
    """Need help now? The practice's crisis contacts and domestic abuse helplines, and an
    honest word on when the therapist will see anything written in Bedrock."""
    return render_template("client/help.html", practice=signed_in_user().practice)
