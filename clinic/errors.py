"""The one error shape domain modules raise for things a person should be told about."""

from __future__ import annotations


class DomainError(Exception):
    """A rule was broken; `message` is for people, `field` names the form field, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class SetupError(RuntimeError):
    """The installation cannot start as configured (keys, secret, Redis, a setting): the
    message says which setting and what to do. The app refuses to start; a `flask` command
    prints the message alone, without a traceback."""
