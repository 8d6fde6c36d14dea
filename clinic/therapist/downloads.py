"""Reports and exports of one client or the whole caseload: PDFs, CSV, FHIR and the record ZIP. Download names carry the record number, never the client's name."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, redirect, request, url_for
from werkzeug.wrappers import Response

from .. import (
    accounts,
    audit,
    erasure,
    exports,
    fhir,
    notes,
    reports,
)
from .. import db as database
from ..db import utcnow
from ..library import library
from ..models import (
    SessionNote,
    User,
)
from ..timeutil import local_today
from ..web.downloads import csv_response, download
from ..web.forms import date_arg
from ..web.gates import require_fresh_sign_in, signed_in_user
from .blueprint import (
    bp,
    get_assignment_or_404,
    get_client_or_404,
    get_note_or_404,
)


def _file_stem(client: User) -> str:
    """Download names carry the record number, never the client's name."""
    return f"bedrock-client-{client.id}"


@bp.get("/clients/<int:client_id>/notes/<int:note_id>/summary.pdf")
def note_summary_pdf(client_id: int, note_id: int) -> Response:
    """The session-summary PDF of one session note."""
    client = get_client_or_404(client_id)
    item = get_note_or_404(client, note_id)
    return _session_summary(client, item.session_date, item)


@bp.get("/clients/<int:client_id>/homework/<int:assignment_id>/worksheet.pdf")
def worksheet_print(client_id: int, assignment_id: int) -> Response:
    """One piece of homework on paper: with the answers the client sent, or blank (?blank=1,
    or nothing sent yet) with the client's name, to fill in by hand."""
    from ..reports import worksheet_pdf  # ReportLab loads on the first PDF

    client = get_client_or_404(client_id)
    assignment = get_assignment_or_404(client, assignment_id)
    blank = request.args.get("blank") == "1"
    item = worksheet_pdf.for_assignment(
        database.session(), client, assignment, blank=blank, drafts=False
    )
    audit.record("export", "worksheet", assignment.id, subject_id=client.id)
    kind = "filled" if item.answers else "blank"
    return download(
        worksheet_pdf.worksheet_pdf(item),
        f"{_file_stem(client)}-{assignment.worksheet_key}-{kind}.pdf",
        "application/pdf",
    )


@bp.get("/worksheets/<key>.pdf")
def blank_worksheet(key: str) -> Response:
    """Any worksheet of the library, blank, to hand out on paper."""
    from ..reports import worksheet_pdf  # ReportLab loads on the first PDF

    ws = library().worksheets.get(key)
    if ws is None:
        abort(404)
    item = worksheet_pdf.WorksheetPrint(ws, name=None, week=None, due=None, answers=None)
    return download(
        worksheet_pdf.worksheet_pdf(item), f"bedrock-{key}-blank.pdf", "application/pdf"
    )


# What went wrong with a report's dates, said next to the field (the record page shows it).
REPORT_PROBLEMS = {
    "from_invalid": ("report-from", "Enter the start date as a date, e.g. 2026-03-02."),
    "to_invalid": ("report-to", "Enter the end date as a date, e.g. 2026-05-25."),
    "range": ("report-to", "The end date must be on or after the start date."),
    "summary_missing": ("summary-date", "Choose the session date for the summary."),
    "summary_invalid": ("summary-date", "Enter the session date as a date, e.g. 2026-03-02."),
}


def _back_to_reports(client: User, problem: str, **typed: str) -> Response:
    """Back to the record's reports, with what was typed and what is wrong with it."""
    values: dict[str, Any] = {"client_id": client.id, "problem": problem, **typed}
    return redirect(url_for("therapist.client_record", _anchor="reports", **values))


def _session_summary(client: User, day: dt.date, item: SessionNote | None) -> Response:
    data = reports.gather_session_summary(database.session(), client, day, item)
    audit.record("export", "session_summary", item.id if item else None, subject_id=client.id)
    return download(
        reports.session_summary_pdf(data),
        f"{_file_stem(client)}-session-{day:%Y-%m-%d}.pdf",
        "application/pdf",
    )


@bp.get("/clients/<int:client_id>/session-summary.pdf")
def session_summary_pdf(client_id: int) -> Response:
    """The session-summary PDF for a date (with that day's note, if there is one)."""
    client = get_client_or_404(client_id)
    raw = request.args.get("date", "").strip()
    day = date_arg(raw)
    if day is None:
        problem = "summary_invalid" if raw else "summary_missing"
        return _back_to_reports(client, problem, summary_date=raw)
    therapist = signed_in_user()
    item = next(
        (
            n
            for n in notes.notes_of(database.session(), client)
            if n.session_date == day and (n.status == "signed" or n.therapist_id == therapist.id)
        ),
        None,
    )
    return _session_summary(client, day, item)


@bp.get("/clients/<int:client_id>/progress-report.pdf")
def progress_report_pdf(client_id: int) -> Response:
    """The progress report for the whole plan, or for the dates chosen."""
    client = get_client_or_404(client_id)
    raw_from, raw_to = request.args.get("from", "").strip(), request.args.get("to", "").strip()
    start, end = date_arg(raw_from), date_arg(raw_to)
    problem = None
    if raw_from and start is None:
        problem = "from_invalid"
    elif raw_to and end is None:
        problem = "to_invalid"
    elif start and end and start > end:
        problem = "range"
    if problem:
        return _back_to_reports(client, problem, report_from=raw_from, report_to=raw_to)
    db = database.session()
    data = reports.gather_progress_report(
        db, client, local_today(signed_in_user()), start=start, end=end
    )
    audit.record("export", "progress_report", subject_id=client.id)
    return download(
        reports.progress_report_pdf(data),
        f"{_file_stem(client)}-progress-{data.start:%Y-%m-%d}-to-{data.end:%Y-%m-%d}.pdf",
        "application/pdf",
    )


@bp.get("/clients/<int:client_id>/questionnaires.csv")
def client_questionnaires_csv(client_id: int) -> Response:
    """Every questionnaire of one client, one column per item."""
    client = get_client_or_404(client_id)
    audit.record("export", "questionnaires_csv", subject_id=client.id)
    header, rows = exports.questionnaire_table(database.session(), [client])
    return csv_response(f"{_file_stem(client)}-questionnaires.csv", header, rows)


@bp.get("/clients/<int:client_id>/homework.csv")
def client_homework_csv(client_id: int) -> Response:
    client = get_client_or_404(client_id)
    audit.record("export", "homework_csv", subject_id=client.id)
    rows = exports.homework_rows(database.session(), [client])
    return csv_response(f"{_file_stem(client)}-homework.csv", exports.HOMEWORK_HEADER, rows)


@bp.get("/clients/<int:client_id>/check-ins.csv")
def client_check_ins_csv(client_id: int) -> Response:
    """Every weekly check-in of one client: week, date and each rating."""
    client = get_client_or_404(client_id)
    audit.record("export", "check_ins_csv", subject_id=client.id)
    rows = exports.check_in_rows(database.session(), [client])
    return csv_response(f"{_file_stem(client)}-check-ins.csv", exports.CHECK_IN_HEADER, rows)


@bp.get("/clients/<int:client_id>/fhir.json")
def client_fhir(client_id: int) -> Response:
    client = get_client_or_404(client_id)
    audit.record("export", "fhir_bundle", subject_id=client.id)
    return download(
        fhir.client_bundle_json(database.session(), client, utcnow()),
        f"{_file_stem(client)}-fhir.json",
        "application/fhir+json",
    )


@bp.get("/clients/<int:client_id>/record.zip")
@require_fresh_sign_in
def client_bundle(client_id: int) -> Response:
    """Everything about one client in one ZIP, for handover or a copy of the record."""
    client = get_client_or_404(client_id)
    db = database.session()
    data = exports.record_bundle(
        db, client, local_today(signed_in_user()), utcnow(), for_client=False
    )
    audit.record("export", "record_bundle", subject_id=client.id)
    erasure.exported(db, client, signed_in_user(), data)  # the download an erasure follows
    return download(data, f"{_file_stem(client)}-record.zip", "application/zip")


def _caseload() -> list[User]:
    return accounts.clients_in_care(database.session(), signed_in_user())


@bp.get("/exports/questionnaires.csv")
@require_fresh_sign_in
def caseload_questionnaires_csv() -> Response:
    """Every questionnaire of every client in the therapist's care."""
    clients = _caseload()
    audit.record("export", "caseload_questionnaires_csv")
    header, rows = exports.questionnaire_table(database.session(), clients)
    return csv_response("bedrock-caseload-questionnaires.csv", header, rows)


@bp.get("/exports/homework.csv")
@require_fresh_sign_in
def caseload_homework_csv() -> Response:
    """Every homework sent by every client in the therapist's care."""
    clients = _caseload()
    audit.record("export", "caseload_homework_csv")
    rows = exports.homework_rows(database.session(), clients)
    return csv_response("bedrock-caseload-homework.csv", exports.HOMEWORK_HEADER, rows)
