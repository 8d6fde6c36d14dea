"""The practice admin's pages: people, practice settings, email, audit log, records."""

from . import outcomes, people, practice, records  # noqa: F401  (the views register on bp)
from .blueprint import bp

__all__ = ["bp"]
