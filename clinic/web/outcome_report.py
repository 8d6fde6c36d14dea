"""The practice outcome report's page, PDF and CSV, shared by the admin (the whole practice) and
each therapist (their own caseload): counts only, so both audiences may see it."""

from __future__ import annotations

from flask import render_template
from werkzeug.wrappers import Response

from .. import audit, reports
from .. import db as database
from ..models import User
from ..reports import practice as report_rules
from .downloads import csv_response, download


def _gather(viewer: User) -> reports.PracticeReport:
    therapist = viewer if viewer.role == "therapist" else None
    practice = viewer.practice
    return reports.gather_practice_report(
        database.session(), practice, reports.practice_today(practice), therapist
    )


def page(viewer: User, pdf_endpoint: str, csv_endpoint: str) -> str:
    """The report as a page, with its downloads."""
    report = _gather(viewer)
    audit.record("view", "outcome_report")
    return render_template(
        "outcome_report.html",
        report=report,
        rules=report_rules,
        pdf_endpoint=pdf_endpoint,
        csv_endpoint=csv_endpoint,
    )


def pdf(viewer: User) -> Response:
    """The report as a PDF."""
    data = reports.practice_report_pdf(_gather(viewer))
    audit.record("export", "outcome_report")
    return download(data, report_rules.PDF_NAME, "application/pdf")


def csv(viewer: User) -> Response:
    """The report as a CSV (the same suppressed cells)."""
    header, rows = report_rules.csv_rows(_gather(viewer))
    audit.record("export", "outcome_report")
    return csv_response(report_rules.CSV_NAME, header, rows)
