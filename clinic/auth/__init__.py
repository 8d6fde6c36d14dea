"""Signing in and out, invitation links and one's own account: the door everyone uses."""

from . import account, forgotten, links, sign_in, two_step  # noqa: F401  (the views register on bp)
from .blueprint import bp

__all__ = ["bp"]
