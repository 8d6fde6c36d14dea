"""The therapist's pages: caseload, client records, plans, outcomes, notes and downloads."""

from . import (  # noqa: F401
    caseload,
    caseload_report,
    downloads,
    goals,
    on_track,
    outcomes,
    plan,
    record,
    schedule,
    screening,
    session_notes,
)
from .blueprint import bp

__all__ = ["bp"]
