"""The client's pages: this week, homework, questionnaires and check-ins, their own record."""

from . import homework, outcomes, record, safety, week  # noqa: F401  (the views register on bp)
from .blueprint import bp

__all__ = ["bp"]
