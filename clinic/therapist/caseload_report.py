"""The outcome report of the therapist's own caseload: the practice report's counts, for the
clients whose care is (or was last) with them."""

from __future__ import annotations

from werkzeug.wrappers import Response

from ..web import outcome_report
from ..web.gates import signed_in_user
from .blueprint import bp


@bp.get("/outcomes")
def caseload_outcomes() -> str:
    """The therapist's own outcome report."""
    return outcome_report.page(
        signed_in_user(), "therapist.caseload_outcomes_pdf", "therapist.caseload_outcomes_csv"
    )


@bp.get("/outcomes.pdf")
def caseload_outcomes_pdf() -> Response:
    """The therapist's own outcome report as a PDF."""
    return outcome_report.pdf(signed_in_user())


@bp.get("/outcomes.csv")
def caseload_outcomes_csv() -> Response:
    """The therapist's own outcome report as a CSV."""
    return outcome_report.csv(signed_in_user())
