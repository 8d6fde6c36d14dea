"""The therapist's pages: caseload, client records, plans, outcomes, notes and downloads."""

from . import caseload, downloads, outcomes, plan, record, session_notes  # noqa: F401
from .blueprint import bp

__all__ = ["bp"]
