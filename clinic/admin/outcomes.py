"""The practice outcome report for the admin: counts only, small cells suppressed."""

from __future__ import annotations

from werkzeug.wrappers import Response

from ..web import outcome_report
from ..web.gates import signed_in_user
from .blueprint import bp


@bp.get("/outcomes")
def outcomes() -> str:
    """The whole practice's outcome report."""
    return outcome_report.page(signed_in_user(), "admin.outcomes_pdf", "admin.outcomes_csv")


@bp.get("/outcomes.pdf")
def outcomes_pdf() -> Response:
    """The whole practice's outcome report as a PDF."""
    return outcome_report.pdf(signed_in_user())


@bp.get("/outcomes.csv")
def outcomes_csv() -> Response:
    """The whole practice's outcome report as a CSV."""
    return outcome_report.csv(signed_in_user())
