"""Exports: CSV files, downloads and the client record bundle (a ZIP). Cells that a
spreadsheet would run as a formula are neutralised; numbers stay numbers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import answers as engine
from . import fhir, notes, plans, reports
from .models import Assignment, Plan, SubmissionStatus, User
from .timeutil import local_time

# OWASP "CSV Injection": a cell starting with = + - @ tab or carriage return can be run as a
# formula by spreadsheet software; prefixing a single quote makes it plain text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A value ready for a CSV cell: numbers as they are, risky text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text with a header row; every cell passed through safe_cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()


# --- tidy CSV rows ----------------------------------------------------------------------------

QUESTIONNAIRE_HEADER = (
    "client_id",
    "client",
    "instrument",
    "instrument_version",
    "slot",
    "plan_week",
    "completed_at_utc",
    "completed_on_local",
    "total",
    "band",
    "flags",
    "item_answers",
)
HOMEWORK_HEADER = (
    "client_id",
    "client",
    "plan_week",
    "worksheet",
    "worksheet_version",
    "due_on",
    "status",
    "submitted_at_utc",
    "reviewed_at_utc",
    "completion",
    "quality",
    "figures",
    "answers_json",
)

SCREEN_HEADER = (
    "screen_id",
    "screened_on",
    "recorded_by",
    "outcome",
    "week_changes",
    "area",
    "question",
    "answer",
)


def _utc(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds") if moment else ""


def questionnaire_rows(db: Session, clients: Sequence[User]) -> list[list[Any]]:
    """One row per completed questionnaire."""
    rows = []
    for client in clients:
        for a in reports.administrations_in(db, client):
            assert a.completed_at is not None
            rows.append(
                [
                    client.id,
                    client.display_name,
                    a.instrument_code,
                    a.instrument_version,
                    a.slot,
                    a.week,
                    _utc(a.completed_at),
                    local_time(a.completed_at, client).date().isoformat(),
                    a.total,
                    a.band,
                    " ".join(a.flags or []),
                    " ".join(f"{k}={v}" for k, v in (a.answers or {}).items()),
                ]
            )
    return rows


def homework_rows(db: Session, clients: Sequence[User]) -> list[list[Any]]:
    """One row per submitted homework (drafts stay private to the client until sent)."""
    rows = []
    for client in clients:
        assignments = db.scalars(
            sa.select(Assignment)
            .join(Plan, Plan.id == Assignment.plan_id)
            .where(Plan.client_id == client.id)
            .order_by(Plan.created_at, Assignment.week, Assignment.position, Assignment.id)
        )
        for a in assignments:
            sub = a.submission
            if sub is None or sub.status == SubmissionStatus.DRAFT.value:
                continue
            ws = plans.worksheet(db, a.worksheet_key, sub.worksheet_version)
            figures = "; ".join(
                f"{f.label}: {f.value}" for f in engine.derived_figures(ws, sub.answers)
            )
            rows.append(
                [
                    client.id,
                    client.display_name,
                    a.week,
                    a.worksheet_key,
                    sub.worksheet_version,
                    a.due_on.isoformat(),
                    sub.status,
                    _utc(sub.submitted_at),
                    _utc(sub.reviewed_at),
                    sub.completion,
                    sub.quality,
                    figures,
                    json.dumps(sub.answers, ensure_ascii=False, sort_keys=True),
                ]
            )
    return rows


def screen_rows(db: Session, client: User) -> list[list[Any]]:
    """The client's suitability screens, oldest first: one row per answer, so every note is
    in its own cell whatever its length."""
    rows = []
    for screen in reversed(plans.screening.screens_of(db, client)):
        ws = plans.screening.definition(db, screen.content_version)
        view = plans.screening.view(db, screen)
        for section in ws.sections:
            answered = screen.answers.get(section.key) or {}
            for f in section.fields:
                value = answered.get(f.key)
                if value is None or value == "":
                    continue
                rows.append(
                    [
                        screen.id,
                        screen.screened_on.isoformat(),
                        view.by,
                        view.outcome_words,
                        view.changes,
                        section.title,
                        f.label,
                        f.choice_label(value) if f.type == "choice" else value,
                    ]
                )
    return rows


def without(
    header: Sequence[str], rows: Sequence[Sequence[Any]], names: set[str]
) -> tuple[list[str], list[list[Any]]]:
    """The same table without the named columns."""
    keep = [i for i, h in enumerate(header) if h not in names]
    return [header[i] for i in keep], [[row[i] for i in keep] for row in rows]


# What a client's own copy leaves out: the therapist's ratings and the risk flags are the
# therapist's working notes; scores too, when the practice talks them through in sessions
# rather than showing them (the client's own answers are always in).
CLIENT_OMITS_HOMEWORK = {"completion", "quality"}
CLIENT_OMITS_QUESTIONNAIRES = {"flags"}
HIDDEN_SCORES = {"total", "band"}


# --- the record bundle --------------------------------------------------------------------------

# ZIP entries carry this fixed time, so the same record gives the same archive.
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)


def zip_bytes(files: Sequence[tuple[str, bytes | str]]) -> bytes:
    """A ZIP of (name, content) pairs."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            archive.writestr(info, content.encode() if isinstance(content, str) else content)
    return out.getvalue()


def record_bundle(
    db: Session, client: User, today: dt.date, now: dt.datetime, *, for_client: bool
) -> bytes:
    """Everything about one client in one ZIP: the progress report, the session summaries
    (not in the client's own copy), the CSV files and the FHIR bundle."""
    report = reports.gather_progress_report(db, client, today, for_client=for_client)
    files: list[tuple[str, bytes | str]] = [
        ("progress-report.pdf", reports.progress_report_pdf(report)),
    ]
    if not for_client:
        for note in notes.notes_of(db, client):
            if note.status != "signed":
                continue
            summary = reports.gather_session_summary(db, client, note.session_date, note)
            files.append(
                (
                    f"session-summaries/session-{note.session_date:%Y-%m-%d}-{note.id}.pdf",
                    reports.session_summary_pdf(summary),
                )
            )
    questionnaires: tuple[Sequence[str], Sequence[Sequence[Any]]] = (
        QUESTIONNAIRE_HEADER,
        questionnaire_rows(db, [client]),
    )
    homework: tuple[Sequence[str], Sequence[Sequence[Any]]] = (
        HOMEWORK_HEADER,
        homework_rows(db, [client]),
    )
    scores = not for_client or client.practice.clients_see_scores
    if for_client:
        hidden = CLIENT_OMITS_QUESTIONNAIRES | (set() if scores else HIDDEN_SCORES)
        questionnaires = without(*questionnaires, hidden)
        homework = without(*homework, CLIENT_OMITS_HOMEWORK)
    if not for_client:
        files.append(("suitability-screens.csv", csv_text(SCREEN_HEADER, screen_rows(db, client))))
    files += [
        ("questionnaires.csv", csv_text(*questionnaires)),
        ("homework.csv", csv_text(*homework)),
        ("fhir-bundle.json", fhir.client_bundle_json(db, client, now, totals=scores)),
    ]
    names = "\n".join(f"- {name}" for name, _ in files)
    readme = (
        f"Record of {client.display_name} from {client.practice.name}, made {today:%d %B %Y}.\n\n"
        f"{names}\n\n"
        "questionnaires.csv and homework.csv have one row per completed questionnaire and per "
        "homework sent; suitability-screens.csv (in the therapist's copy) has one row per "
        "answer of each suitability and safety screen. fhir-bundle.json is an HL7 FHIR R4 Bundle (Patient, "
        "QuestionnaireResponse, Observation) with LOINC codes where they are verified.\n"
        "This file holds health information: keep it somewhere private.\n"
    )
    return zip_bytes([("README.txt", readme), *files])
