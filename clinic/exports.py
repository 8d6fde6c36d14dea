"""Exports: CSV files, downloads and the client record bundle (a ZIP). Every CSV is written for
the spreadsheet a clinician opens it in: UTF-8 with a byte-order mark (without it Excel reads
the bytes as the local code page and garbles every accent and script), local ISO dates next to
the UTC timestamps, one column per questionnaire item. Cells that a spreadsheet would run as a
formula are neutralised; numbers stay numbers."""

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

from . import (
    alerts,
    episodes,
    fhir,
    goals,
    measures,
    notes,
    plans,
    questionnaires,
    reports,
    tracking,
)
from . import answers as engine
from .models import Administration, Assignment, Plan, SubmissionStatus, User
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


# The UTF-8 byte-order mark: Excel (Windows and Mac) opens a CSV as UTF-8 only when it starts
# with one; LibreOffice, pandas (encoding="utf-8-sig") and R's readr accept it too.
BOM = "\ufeff"


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text with a byte-order mark and a header row; every cell passed through safe_cell.
    Encode it as UTF-8."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()


# --- tidy CSV rows ----------------------------------------------------------------------------

# Followed by item_1 .. item_n and extra_<key> (see questionnaire_table).
QUESTIONNAIRE_COLUMNS = (
    "client_id",
    "client",
    "instrument",
    "instrument_version",
    "slot",
    "plan_week",
    "completed_at_utc",
    "completed_on_local",
    "total",
    "out_of",
    "band",
    "flags",
    "episode",
    "episode_role",
    "change_from_baseline",
    "reliable_change_jacobson_truax",
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
    "submitted_on_local",
    "reviewed_at_utc",
    "reviewed_on_local",
    "completion",
    "quality",
    "figures",
    "answers_json",
)

CHECK_IN_HEADER = (
    "client_id",
    "client",
    "plan_week",
    "checked_in_at_utc",
    "checked_in_on_local",
    "trust",
    "distress",
    "helpfulness",
    "note",
)

GOAL_HEADER = (
    "client_id",
    "client",
    "plan_id",
    "goal_id",
    "goal_number",
    "goal_now",
    "set_on_local",
    "retired_on_local",
    "rated_on_local",
    "rated_in",
    "plan_week",
    "rating",
    "goal_words_then",
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


Table = tuple[list[str], list[list[Any]]]


def _utc(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds") if moment else ""


def _local_date(moment: dt.datetime | None, client: User) -> str:
    """The calendar date where the client lives, as YYYY-MM-DD: the one form of a date that
    Excel, LibreOffice and Numbers all read as a date whatever the computer's locale."""
    return local_time(moment, client).date().isoformat() if moment else ""


def _item_answers(
    a: Administration, inst: measures.Instrument | None
) -> tuple[list[Any], dict[str, Any]]:
    """An administration's scored answers in the instrument's item order, and its extra
    (unscored) answers by key. An instrument removed since keeps its stored order."""
    answers = dict(a.answers or {})
    if inst is None:
        return list(answers.values()), {}
    scored = [answers.get(item.key) for item in inst.items]
    extra = {item.key: answers[item.key] for item in inst.extra_items if item.key in answers}
    return scored, extra


def questionnaire_table(db: Session, clients: Sequence[User]) -> Table:
    """One row per completed questionnaire, one column per item: item_1 .. item_n in each
    instrument's own order, then extra_<key> for the questions recorded but not scored (the
    PHQ-9 and GAD-7 "how difficult" question).

    Several instruments share one table, so the item columns run to the longest instrument any
    row or any loaded definition has, and a shorter instrument leaves the rest blank. One tidy
    table (rather than a file per instrument) filters and pivots by the instrument column; the
    columns stay the same from one month's export to the next while the instruments do, so files
    append; and blank, not 0, keeps a spreadsheet's SUM and AVERAGE right for every row."""
    known = measures.instruments()
    rows: list[tuple[User, Administration, list[Any], dict[str, Any]]] = []
    for client in clients:
        for a in reports.administrations_in(db, client):
            scored, extra = _item_answers(a, known.get(a.instrument_code))
            rows.append((client, a, scored, extra))
    width = max([len(inst.items) for inst in known.values()] + [len(r[2]) for r in rows] + [0])
    extra_keys = list(
        dict.fromkeys(
            [item.key for inst in known.values() for item in inst.extra_items]
            + [key for r in rows for key in r[3]]
        )
    )
    header = [
        *QUESTIONNAIRE_COLUMNS,
        *(f"item_{n}" for n in range(1, width + 1)),
        *(f"extra_{key}" for key in extra_keys),
    ]
    roles = _episode_roles(rows)
    table = []
    for client, a, scored, extra in rows:
        role, change, verdict = roles.get(a.id, ("", None, ""))
        table.append(
            [
                client.id,
                client.display_name,
                a.instrument_code,
                a.instrument_version,
                a.slot,
                a.week,
                _utc(a.completed_at),
                _local_date(a.completed_at, client),
                a.total,
                # What the total is out of: blank for the full scale; 32 for a WSAS whose
                # work item did not apply (that item reads "not_applicable").
                a.out_of,
                a.band,
                " ".join(a.flags or []),
                a.plan_id,
                role,
                change,
                verdict,
                *scored,
                *([None] * (width - len(scored))),
                *(extra.get(key) for key in extra_keys),
            ]
        )
    return header, table


def _episode_roles(
    rows: Sequence[tuple[User, Administration, list[Any], dict[str, Any]]],
) -> dict[int, tuple[str, int | None, str]]:
    """For each administration: its role in its episode's course (baseline, midpoint, latest;
    the one rule in clinic/episodes.py), its change from the baseline and the Jacobson–Truax
    verdict of that change."""
    groups: dict[tuple[int, int | None, str], list[episodes.Score]] = {}
    for client, a, _, _ in rows:
        assert a.completed_at is not None and a.total is not None
        day = local_time(a.completed_at, client).date()
        score = episodes.Score(a.completed_at, day, a.total, a.week, a.slot, a.id, a.out_of)
        groups.setdefault((client.id, a.plan_id, a.instrument_code), []).append(score)
    out: dict[int, tuple[str, int | None, str]] = {}
    for (_, _, code), scores in groups.items():
        course = episodes.course(code, scores)
        assert course is not None
        inst = measures.instruments().get(code)
        for score in course.scores:
            change = score.value - course.baseline.value
            rc = inst.reliable_change(course.baseline.value, score.value) if inst else None
            verdict = rc.category if rc is not None and score is not course.baseline else ""
            out[score.id] = (course.role(score), change, verdict)
    return out


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
                    _local_date(sub.submitted_at, client),
                    _utc(sub.reviewed_at),
                    _local_date(sub.reviewed_at, client),
                    sub.completion,
                    sub.quality,
                    figures,
                    json.dumps(sub.answers, ensure_ascii=False, sort_keys=True),
                ]
            )
    return rows


def check_in_rows(db: Session, clients: Sequence[User]) -> list[list[Any]]:
    """One row per weekly check-in, oldest first; a rating left unanswered stays blank."""
    rows = []
    for client in clients:
        for c in questionnaires.check_in_series(db, client):
            rows.append(
                [
                    client.id,
                    client.display_name,
                    c.week,
                    _utc(c.created_at),
                    _local_date(c.created_at, client),
                    c.trust,
                    c.distress,
                    c.helpfulness,
                    c.note,
                ]
            )
    return rows


def goal_rows(db: Session, clients: Sequence[User]) -> list[list[Any]]:
    """One row per goal rating (0-10), oldest goal first; a goal not yet rated has one row
    with the rating blank. goal_now is today's wording, goal_words_then the wording in force
    on the day of the rating."""
    rows = []
    for client in clients:
        for plan, g in goals.client_views(db, client):
            first = [
                client.id,
                client.display_name,
                plan.id,
                g.id,
                g.number,
                g.wording,
                g.set_on.isoformat(),
                g.retired_on.isoformat() if g.retired_on else "",
            ]
            if not g.ratings:
                rows.append([*first, "", "", "", "", ""])
            for r in g.ratings:
                context = "check-in" if r.context == "check_in" else "session"
                rows.append([*first, r.day.isoformat(), context, r.week, r.value, r.wording])
    return rows


RISK_HEADER = (
    "alert_id",
    "opened_at_utc",
    "opened_on_local",
    "kind",
    "grade",
    "detail",
    "escalated_at_utc",
    "acknowledged_at_utc",
    "acknowledged_by",
    "risk_review",
    "safety_plan",
    "contact",
    "contacted_on",
    "next_step",
    "note",
)


def risk_rows(db: Session, client: User) -> list[list[Any]]:
    """Every alert of the client, oldest first, with how it was handled (the risk history)."""
    rows = []
    found = sorted(alerts.client_alerts(db, client), key=lambda a: (a.opened_at, a.id))
    for a in found:
        by = db.get(User, a.acknowledged_by_id) if a.acknowledged_by_id else None
        choice = {
            name: alerts.ACK_CHOICES[name].get(getattr(a, name) or "", "")
            for name in alerts.ACK_CHOICES
        }
        rows.append(
            [
                a.id,
                _utc(a.opened_at),
                _local_date(a.opened_at, client),
                alerts.KIND_WORDS.get(a.kind, a.kind),
                a.grade,
                a.detail,
                _utc(a.escalated_at),
                _utc(a.acknowledged_at),
                by.display_name if by else "",
                choice["risk_review"],
                choice["safety_plan"],
                choice["contact"],
                a.contacted_on.isoformat() if a.contacted_on else "",
                a.next_step or "",
                a.note or "",
            ]
        )
    return rows


NOT_ON_TRACK_HEADER = (
    "signal_id",
    "instrument",
    "raised_on_local",
    "state",
    "latest_on_local",
    "detail",
    "resolved_on_local",
    "checklist_reviewed_at_utc",
    "reviewed_by",
    *(f"{area.key}" for area in tracking.checklist()),
    *(f"{area.key}_note" for area in tracking.checklist()),
    "next_step",
)


def not_on_track_rows(db: Session, client: User) -> list[list[Any]]:
    """Every "not on track" signal of the client (not a risk alert), oldest first, with the
    clinical-support checklist's answers in words."""
    rows = []
    for s in sorted(tracking.signals_of(db, client), key=lambda s: (s.raised_on, s.id)):
        by = db.get(User, s.reviewed_by_id) if s.reviewed_by_id else None
        given = s.checklist or {}
        answers = [
            dict(area.choices).get((given.get(area.key) or {}).get("answer", ""), "")
            for area in tracking.checklist()
        ]
        area_notes = [(given.get(area.key) or {}).get("note", "") for area in tracking.checklist()]
        rows.append(
            [
                s.id,
                measures.instrument(s.instrument_code).short_name,
                s.raised_on.isoformat(),
                {"open": "not on track", "reviewed": "not on track, checklist reviewed"}.get(
                    s.state, "back on track"
                ),
                s.updated_on.isoformat(),
                s.detail,
                s.resolved_on.isoformat() if s.resolved_on else "",
                _utc(s.reviewed_at),
                by.display_name if by else "",
                *answers,
                *area_notes,
                given.get("next_step", ""),
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
CLIENT_OMITS_QUESTIONNAIRES = {"flags", "reliable_change_jacobson_truax"}
HIDDEN_SCORES = {"total", "out_of", "band", "change_from_baseline"}


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
    answered: tuple[Sequence[str], Sequence[Sequence[Any]]] = questionnaire_table(db, [client])
    homework: tuple[Sequence[str], Sequence[Sequence[Any]]] = (
        HOMEWORK_HEADER,
        homework_rows(db, [client]),
    )
    scores = not for_client or client.practice.clients_see_scores
    if for_client:
        hidden = CLIENT_OMITS_QUESTIONNAIRES | (set() if scores else HIDDEN_SCORES)
        answered = without(*answered, hidden)
        homework = without(*homework, CLIENT_OMITS_HOMEWORK)
    if not for_client:
        files.append(("suitability-screens.csv", csv_text(SCREEN_HEADER, screen_rows(db, client))))
        files.append(("risk-history.csv", csv_text(RISK_HEADER, risk_rows(db, client))))
        files.append(
            ("not-on-track.csv", csv_text(NOT_ON_TRACK_HEADER, not_on_track_rows(db, client)))
        )
    files += [
        ("questionnaires.csv", csv_text(*answered)),
        ("homework.csv", csv_text(*homework)),
        # The check-ins are the client's own ratings: the same in both copies.
        ("check-ins.csv", csv_text(CHECK_IN_HEADER, check_in_rows(db, [client]))),
        # So are the goals: the client's words and ratings.
        ("goals.csv", csv_text(GOAL_HEADER, goal_rows(db, [client]))),
        ("fhir-bundle.json", fhir.client_bundle_json(db, client, now, totals=scores)),
    ]
    names = "\n".join(f"- {name}" for name, _ in files)
    readme = (
        f"Record of {client.display_name} from {client.practice.name}, made {today:%d %B %Y}.\n\n"
        f"{names}\n\n"
        "The CSV files are UTF-8 (with a byte-order mark, so Excel reads every script). Times "
        "ending _utc are in UTC; dates ending _on_local are the client's own calendar date, "
        "written YYYY-MM-DD.\n"
        "questionnaires.csv has one row per completed questionnaire; item_1, item_2 ... are the "
        "answers in the order the questionnaire asks them (blank where a questionnaire has fewer "
        "items), and extra_difficulty is the unscored 'how difficult' question. An item that "
        "did not apply reads not_applicable (the WSAS work item, for someone retired or not "
        "working by choice); the total is then out of the number in out_of (32), and its band "
        "is read prorated to the full scale. homework.csv has "
        "one row per homework sent; check-ins.csv one row per weekly check-in (trust 0-10, "
        "distress 0-10, last week's homework helpfulness 0-4: the practice's own ratings, not a "
        "validated scale); goals.csv one row per rating of each of the client's own goals (0 = not "
        "at all close, 10 = reached; Goal Based Outcomes), with the goal's words then and now; "
        "suitability-screens.csv (in the therapist's copy) has one row per "
        "answer of each suitability and safety screen, and risk-history.csv one row per alert "
        "with how it was handled; not-on-track.csv (therapist's copy) one row per time the "
        "PHQ-9 or GAD-7 went above its expected path (not a risk alert), with the "
        "clinical-support checklist's answers.\n"
        "fhir-bundle.json is an HL7 FHIR R4 Bundle (Patient, Questionnaire, "
        "QuestionnaireResponse, Observation, Goal) with LOINC codes where they are verified and "
        "Bedrock's own code systems (urn:bedrock:...) elsewhere.\n"
        "This file holds health information: keep it somewhere private.\n"
    )
    return zip_bytes([("README.txt", readme), *files])
