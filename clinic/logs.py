"""What the server log may hold: where and what went wrong, never who or what they wrote.

Every log record is cleaned as it is made (a LogRecord factory, so that every logger is
covered without naming it: werkzeug's access log, Flask's error log, gunicorn's, SQLAlchemy's,
and any module's own `logging.getLogger(__name__)`):

- a link's token (/invitation/<token>, /reminders/off/<token>: every route with a `token`
  argument) becomes [token], a query string becomes [query], an email address [email];
- an exception is logged as its type and traceback (file, line, code) without its message,
  which may quote what someone typed (int('...') says "invalid literal for int(): '...'"); a
  database error keeps its SQL statement (the engine hides the parameters, clinic.db) and the
  driver's error code and constraint, never the driver's text (PostgreSQL quotes the failing
  row: names, emails);
- SQLAlchemy's echo of parameters and result rows is withheld.

OWASP ASVS 4.0.3 V7.1.1/V7.1.2: no credentials, session tokens or sensitive personal data in
logs.

Every request has an id (the proxy's X-Request-ID when it is a plain token of 8 to 64 letters,
digits, '.', '_' or '-', else a new one): it is on `g.request_id`, in the X-Request-ID response
header and on every log record made while the request runs (record.request_id), and one access
line per request (logger clinic.access) gives the method, the path without its query string
(tokens hidden), the status and the duration. LOG_FORMAT (CLINIC_LOG_FORMAT) = "json" writes
every log line of the process to stderr as one JSON object, from the cleaned record; the
default, "text", leaves logging as Flask and the server set it up (development)."""

from __future__ import annotations

import functools
import json
import logging
import re
import secrets
import sqlite3
import sys
import time
import traceback
from datetime import UTC, datetime
from typing import Any

import jinja2
import sqlalchemy as sa
from flask import Flask, Response, g, has_request_context, request
from flask.logging import default_handler

# Exceptions whose message Python or Jinja writes from the code alone (names of types and
# attributes), never from data; every other exception is logged without its message.
MESSAGE_IS_CODE: frozenset[type[BaseException]] = frozenset(
    {
        AttributeError,
        NameError,
        ImportError,
        ModuleNotFoundError,
        NotImplementedError,
        RecursionError,
        TypeError,
        ZeroDivisionError,
        jinja2.UndefinedError,
    }
)

_URL_CHARS = r"[^/?#\s\"'<>]+"
_QUERY = re.compile(r"(/[^\s?#\"'<>]*)\?[^\s#\"'<>]+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DETAIL = re.compile(r"^(\s*DETAIL:).*$", re.MULTILINE)
_RULE_ARG = re.compile(r"<(?:[^>:]+:)?([^>]+)>")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
LOG_FORMATS = ("text", "json")
ACCESS = logging.getLogger("clinic.access")
# Fields an access line carries besides the message (given as `extra`, after the factory ran).
ACCESS_FIELDS = ("method", "path", "status", "duration_ms")

_token_rules: set[str] = set()
_token_patterns: list[tuple[re.Pattern[str], list[bool]]] = []


def init_app(app: Flask) -> None:
    """Learn which of the app's routes carry a token (call it once the blueprints are
    registered), clean every log record the process makes from now on, give every request an
    id and an access line, and write JSON lines if LOG_FORMAT says so."""
    for rule in app.url_map.iter_rules():
        if any("token" in argument for argument in rule.arguments):
            _learn_token_rule(rule.rule)
    install()
    log_format = str(app.config.get("LOG_FORMAT") or "text").strip().lower()
    if log_format not in LOG_FORMATS:
        raise RuntimeError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")
    if log_format == "json":
        write_json_lines(app)
    # First of all: a gate that answers early (a redirect to sign in) still has an id.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_request)
    # Last of all (after-request functions run in reverse): the commit has happened, so the
    # status and the duration are the ones the client gets.
    app.after_request_funcs.setdefault(None, []).insert(0, _finish_request)


def request_id() -> str | None:
    """The current request's id (None outside a request)."""
    return g.get("request_id") if has_request_context() else None


def _start_request() -> None:
    offered = request.headers.get("X-Request-ID", "")
    g.request_id = offered if _REQUEST_ID.fullmatch(offered) else secrets.token_hex(16)
    g.request_started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    rid = g.get("request_id") or secrets.token_hex(16)
    response.headers["X-Request-ID"] = rid
    started = g.get("request_started")
    duration = round((time.perf_counter() - started) * 1000, 1) if started else None
    path = clean_text(request.path)  # the path only: never the query string
    ACCESS.info(
        "%s %s %s %sms",
        request.method,
        path,
        response.status_code,
        duration,
        extra={
            "method": request.method,
            "path": path,
            "status": response.status_code,
            "duration_ms": duration,
        },
    )
    return response


class JsonFormatter(logging.Formatter):
    """One JSON object per line, from the cleaned record (its message was cleaned when the
    record was made; extra string fields are cleaned again here, as they come later)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": clean_text(record.getMessage()),
            "request_id": getattr(record, "request_id", None),
        }
        for field in ACCESS_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = clean_text(value) if isinstance(value, str) else value
        if record.exc_info and not record.exc_text:  # a record made before install()
            record.exc_text = format_exception(record.exc_info[1])  # type: ignore[arg-type]
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def write_json_lines(app: Flask) -> logging.Handler:
    """Every log line of the process to stderr as JSON (one handler, however many apps)."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "clinic_json", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler.clinic_json = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    level = str(app.config.get("LOG_LEVEL") or "INFO").upper()
    root.setLevel(level)
    # Alembic's INFO lines (its plugins, "Running upgrade ...") repeat what `db upgrade` prints.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
    app.logger.removeHandler(default_handler)  # its lines reach the root handler instead
    return handler


def install() -> None:
    """Wrap the process's LogRecord factory (once) so that every record is cleaned."""
    made_by = logging.getLogRecordFactory()
    if getattr(made_by, "clinic_cleans", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = made_by(*args, **kwargs)
        try:
            record.request_id = request_id()
        except Exception:
            record.request_id = None
        try:
            clean(record)
        except Exception:  # a record that cannot be cleaned is not written as it was
            record.msg, record.args = "[log record withheld: it could not be cleaned]", None
            record.exc_info, record.exc_text = None, None
        return record

    factory.clinic_cleans = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def clean(record: logging.LogRecord) -> None:
    """Rewrite a record in place: its message, arguments and exception, cleaned."""
    if record.name.startswith("sqlalchemy.engine") and record.msg in ("Row %r", "[%s] %r"):
        # Result rows, and statement parameters of an engine that does not hide them.
        args = record.args if isinstance(record.args, tuple) else ()
        record.args = (*args[:-1], "[hidden]") if args else ("[hidden]",)
    if isinstance(record.msg, BaseException):
        message = describe(record.msg)
    else:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
    record.msg, record.args = clean_text(message), None
    if record.exc_info and record.exc_info[1] is not None:
        record.exc_text = format_exception(record.exc_info[1])
    record.exc_info = None


def clean_text(text: str) -> str:
    """Tokens in links, query strings, email addresses and database DETAIL lines hidden."""
    for pattern, is_token in _token_patterns:
        text = pattern.sub(functools.partial(_keep_all_but_tokens, is_token=is_token), text)
    text = _QUERY.sub(r"\1?[query]", text)
    text = _EMAIL.sub("[email]", text)
    return _DETAIL.sub(r"\1 [hidden]", text)


def format_exception(exc: BaseException) -> str:
    """A traceback as Python prints it, each exception in the chain shown by describe()."""
    parts: list[str] = []
    for link, each in reversed(_chain(exc)):
        if each.__traceback__ is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(traceback.format_tb(each.__traceback__))
        parts.append(describe(each) + "\n")
        if link:
            parts.append(f"\n{link}\n\n")
    return clean_text("".join(parts).rstrip("\n"))


def describe(exc: BaseException) -> str:
    """An exception's type, with its message only when the message cannot hold data."""
    kind = type(exc).__qualname__
    if type(exc).__module__ not in ("builtins", "__main__"):
        kind = f"{type(exc).__module__}.{kind}"
    if isinstance(exc, sa.exc.StatementError):
        cause = exc.orig
        driver = f" ({_driver_error(cause)})" if isinstance(cause, BaseException) else ""
        return f"{kind}:{driver} [SQL: {exc.statement}]"
    if _is_driver_error(exc):
        return _driver_error(exc)
    if type(exc) in MESSAGE_IS_CODE:
        return f"{kind}: {exc}"
    return f"{kind} (message not logged: it may hold what someone typed)"


def _driver_error(exc: BaseException) -> str:
    kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
    if isinstance(exc, sqlite3.Error):
        return f"{kind}: {exc}"  # SQLite names tables, columns and constraints, never values
    diag = getattr(exc, "diag", None)  # psycopg: report the code and names, not the text
    if diag is not None and getattr(diag, "sqlstate", None):
        facts = [f"SQLSTATE {diag.sqlstate}"]
        for label in ("constraint", "table", "column"):
            name = getattr(diag, f"{label}_name", None)
            if name:
                facts.append(f"{label} {name}")
        return f"{kind}: {', '.join(facts)}"
    return describe(exc) if not _is_driver_error(exc) else kind


def _is_driver_error(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.Error) or getattr(exc, "diag", None) is not None


def _chain(exc: BaseException) -> list[tuple[str, BaseException]]:
    """The exception and those behind it, newest first, each with the sentence that links it
    to the one after it (as Python's own traceback prints them)."""
    chain: list[tuple[str, BaseException]] = []
    seen: set[int] = set()
    link = ""
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((link, current))
        if current.__cause__ is not None:
            link = "The above exception was the direct cause of the following exception:"
            current = current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            link = "During handling of the above exception, another exception occurred:"
            current = current.__context__
        else:
            current = None
    return chain


def _learn_token_rule(rule: str) -> None:
    """A pattern for one route with a token: static parts and other arguments are kept."""
    if rule in _token_rules:
        return
    _token_rules.add(rule)
    pieces, is_token, last = [], [], 0
    for found in _RULE_ARG.finditer(rule):
        pieces.append(f"({re.escape(rule[last : found.start()])})")
        is_token.append(False)
        pieces.append(f"({_URL_CHARS})")
        is_token.append("token" in found.group(1))
        last = found.end()
    pieces.append(f"({re.escape(rule[last:])})")
    is_token.append(False)
    _token_patterns.append((re.compile("".join(pieces)), is_token))


def _keep_all_but_tokens(found: re.Match[str], is_token: list[bool]) -> str:
    return "".join("[token]" if token else found.group(i + 1) for i, token in enumerate(is_token))
