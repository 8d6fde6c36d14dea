"""The client's pages: this week, homework, questionnaires and check-ins, their own record."""

from . import goals, homework, outcomes, record, safety, week  # noqa: F401  (views register on bp)
from .blueprint import bp

__all__ = ["bp"]
