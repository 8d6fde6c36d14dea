"""Answers for the load balancer and the process supervisor, not for people: /healthz (the
process is alive) and /readyz (it can serve: the database answers and its schema is the one
this code expects). Open to anyone, so they say nothing about anyone: no personal data, no
error text, no revision names or versions."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify

from .. import db as database
from .. import schema

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process is alive and answering (touches nothing else)."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Ready to serve: the database answers and its schema is at the newest revision."""
    try:
        found = schema.state(database.engine())
    except (sa.exc.SQLAlchemyError, OSError) as error:
        log.warning("readyz: the database cannot be reached", exc_info=error)
        return jsonify(status="unavailable", database="unreachable", schema="unknown"), 503
    if not found.at_head:
        log.warning("readyz: the database schema is not at the newest revision")
        return jsonify(status="unavailable", database="ok", schema="not at head"), 503
    return jsonify(status="ok", database="ok", schema="at head"), 200
