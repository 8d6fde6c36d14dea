"""The plan's errors, and the program and worksheet definitions a plan or a submission uses (the
current one, or the exact stored version)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import DomainError
from ..library import Program, Worksheet, library, parse_program, parse_worksheet
from ..models import (
    ContentSnapshot,
    Plan,
    Submission,
)

WEEKS = 12


class PlanError(DomainError):
    """A rule about plans or homework was broken."""


class SaveConflict(PlanError):
    """The answers changed (another tab or device) since this form was opened."""

    def __init__(self, submission: Submission) -> None:
        super().__init__(
            "These answers were changed somewhere else (another tab or device) after you "
            "opened this page. What you typed is below and has not been saved yet."
        )
        self.submission = submission


class StaleChange(PlanError):
    """The plan or homework changed (another tab, a colleague's click) since the page that
    asked for this change was shown; nothing was changed."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"{what} was changed somewhere else (another tab or a double click) after this page "
            "was opened, so nothing was changed. Here is how it stands now; make the change "
            "again if it is still needed."
        )


class Locked(PlanError):
    """The homework can no longer be changed (reviewed, removed or the plan finished)."""


class InvalidAnswers(PlanError):
    """Answers that cannot be submitted; `errors` is keyed like worksheets.check()."""

    def __init__(self, errors: dict[str, list[str]], raw: dict[str, Any]) -> None:
        super().__init__("Some answers need a look before you send them.")
        self.errors = errors
        self.raw = raw  # in the order the errors refer to (ordered sections are sorted)


class DraftTooLong(InvalidAnswers):
    """Answers longer than the worksheet keeps, even as a draft; nothing was saved."""

    def __init__(self, errors: dict[str, list[str]], raw: dict[str, Any]) -> None:
        super().__init__(errors, raw)
        self.message = (
            "Some answers are longer than this worksheet can keep, so this draft was not "
            "saved. Your typing is still here: shorten the answers marked below and save again."
        )


def record_snapshot(db: Session, kind: str, key: str, version: int, sha: str, body: dict) -> None:
    """Record the definition a plan or submission uses, once per (kind, key, version)."""
    existing = db.scalar(
        sa.select(ContentSnapshot).where(
            ContentSnapshot.kind == kind,
            ContentSnapshot.key == key,
            ContentSnapshot.version == version,
        )
    )
    if existing is not None:
        return
    try:
        with db.begin_nested():
            db.add(ContentSnapshot(kind=kind, key=key, version=version, sha256=sha, body=body))
    except IntegrityError:  # another request recorded it at the same moment
        pass


@lru_cache(maxsize=256)
def _parsed_worksheet(sha: str, body_json: str) -> Worksheet:
    return parse_worksheet(json.loads(body_json), f"stored worksheet {sha[:12]}")


def worksheet(db: Session, key: str, version: int | None = None) -> Worksheet:
    """A worksheet definition: the current one, or the exact version a submission used."""
    current = library().worksheets.get(key)
    if current is not None and (version is None or version == current.version):
        return current
    snap = db.scalar(
        sa.select(ContentSnapshot).where(
            ContentSnapshot.kind == "worksheet",
            ContentSnapshot.key == key,
            ContentSnapshot.version == version,
        )
    )
    if snap is None:
        raise PlanError(f"The worksheet definition {key!r} version {version} is not available.")
    return _parsed_worksheet(snap.sha256, json.dumps(snap.body, sort_keys=True))


def program_of(db: Session, plan: Plan) -> Program:
    """The program definition a plan was started with."""
    current = library().programs.get(plan.program_key)
    if current is not None and current.version == plan.program_version:
        return current
    snap = db.scalar(
        sa.select(ContentSnapshot).where(
            ContentSnapshot.kind == "program",
            ContentSnapshot.key == plan.program_key,
            ContentSnapshot.version == plan.program_version,
        )
    )
    if snap is None:
        raise PlanError(f"The program {plan.program_key!r} v{plan.program_version} is missing.")
    # Worksheets named by an old program may have moved on; the program only needs their keys.
    return parse_program(snap.body, f"stored program {plan.program_key}", _AnyWorksheet())


class _AnyWorksheet(dict[str, Any]):
    def __contains__(self, key: object) -> bool:
        return True
