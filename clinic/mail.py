"""Email over SMTP (standard library only) and the absolute links that emails carry.

Settings, from instance/config.py or CLINIC_* environment variables: SMTP_HOST, SMTP_PORT,
SMTP_SECURITY (starttls, ssl or none), SMTP_USER, SMTP_PASSWORD, SMTP_SENDER and BASE_URL.
Without SMTP_HOST and SMTP_SENDER Bedrock sends nothing and shows links on screen instead."""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import parseaddr
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from flask import current_app

SECURITY = ("starttls", "ssl", "none")


class MailError(Exception):
    """Email cannot be sent with the configured settings."""


class ServerUnavailable(Exception):
    """The mail server could not be reached, refused the connection, its TLS or our sign-in,
    or refused our sender address: every other message would fail the same way, so a run
    stops at the first one. (A refusal of one recipient or one message is not this.)"""


def configured(config: Mapping[str, Any] | None = None) -> bool:
    """Whether the practice has set up email (a server and a sender address)."""
    config = current_app.config if config is None else config
    return bool(config.get("SMTP_HOST") and config.get("SMTP_SENDER"))


def sender_domain(config: Mapping[str, Any]) -> str:
    """The domain of the sender address, for Message-IDs."""
    address = parseaddr(str(config.get("SMTP_SENDER") or ""))[1]
    return address.rpartition("@")[2] or "bedrock.invalid"


def base_url(config: Mapping[str, Any] | None = None) -> str:
    """Where people reach the app (CLINIC_BASE_URL), e.g. https://bedrock.example.org."""
    config = current_app.config if config is None else config
    url = str(config.get("BASE_URL") or "").strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise MailError(
            "Set BASE_URL (CLINIC_BASE_URL) to the address people use to reach Bedrock, "
            "e.g. https://bedrock.example.org, so that emails can link to it."
        )
    return url


def link(endpoint: str, **values: Any) -> str:
    """An absolute link to a page of the app, built from BASE_URL (no request needed)."""
    parts = urlsplit(base_url())
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme
    )
    return adapter.build(endpoint, values, force_external=True)


class Mailer:
    """One SMTP connection, opened on the first message and reused for the rest."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.host = str(config["SMTP_HOST"])
        self.security = str(config.get("SMTP_SECURITY") or "starttls").lower()
        if self.security not in SECURITY:
            raise MailError(f"SMTP_SECURITY must be one of {', '.join(SECURITY)}.")
        default_port = 465 if self.security == "ssl" else 587
        self.port = int(config.get("SMTP_PORT") or default_port)
        self.user = str(config.get("SMTP_USER") or "")
        self.password = str(config.get("SMTP_PASSWORD") or "")
        self.sender = str(config["SMTP_SENDER"])
        self.timeout = float(config.get("SMTP_TIMEOUT") or 20)
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()  # the server's certificate is checked
        smtp: smtplib.SMTP
        if self.security == "ssl":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                smtp.starttls(context=context)
            if self.user:
                smtp.login(self.user, self.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _connected(self) -> smtplib.SMTP:
        if self._smtp is None:
            try:
                self._smtp = self._connect()
            except (smtplib.SMTPException, OSError) as error:  # refused, timeout, TLS, sign-in
                raise ServerUnavailable(f"{type(error).__name__}: {error}") from error
        return self._smtp

    def check(self) -> None:
        """Connect, secure and sign in as sending would, then say goodbye (`doctor`)."""
        self.close()
        self._smtp = self._connect()
        self.close()

    def send(self, message: EmailMessage) -> None:
        """Hand one message to the server. A refusal of this message (its recipient, its
        content) raises the smtplib error as it comes; anything that would stop every other
        message too raises ServerUnavailable."""
        if "From" not in message:
            message["From"] = self.sender
        try:
            try:
                self._connected().send_message(message)
            except (smtplib.SMTPServerDisconnected, ConnectionError):
                # A connection the server closed while idle: one fresh try.
                self.close()
                self._connected().send_message(message)
        except smtplib.SMTPSenderRefused as error:  # our own address: the same for every message
            raise ServerUnavailable(f"{type(error).__name__}: {error}") from error
        except (
            smtplib.SMTPRecipientsRefused,
            smtplib.SMTPResponseException,
            smtplib.SMTPNotSupportedError,
        ):
            raise  # this message refused (its recipient, its content): the others may go
        except OSError as error:  # disconnected, timed out, reset (smtplib's errors are OSErrors)
            self.close()
            raise ServerUnavailable(f"{type(error).__name__}: {error}") from error

    def close(self) -> None:
        """Say goodbye to the server (errors on the way out do not matter)."""
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._smtp = None
