"""Database plumbing: declarative base, engine per app, one session per app context."""

from __future__ import annotations

import contextlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from . import crypto

# A fixed naming convention keeps constraint names identical on SQLite and PostgreSQL, which
# Alembic needs for batch migrations and for dropping constraints by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the backend stores."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        # SQLite has no time zones: store naive UTC there.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class ClinicalText(sa.types.TypeDecorator[str]):
    """Free text a person wrote about their life, stored encrypted (clinic.crypto)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else crypto.encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else crypto.decrypt(value)


class ClinicalJSON(sa.types.TypeDecorator[Any]):
    """Answers a person gave (a JSON document), stored encrypted (clinic.crypto)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return crypto.encrypt(json.dumps(value, ensure_ascii=False, sort_keys=True))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(crypto.decrypt(value))


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012 -- SQLAlchemy reads it once


def private_file(path: Path) -> None:
    """Make sure a file that holds the record exists and is readable and writable by its
    owner only (0600): created so (it does not exist yet), or narrowed (an older install)."""
    os.close(os.open(path, os.O_CREAT | os.O_RDONLY, 0o600))
    with contextlib.suppress(OSError):  # not ours to change: leave it as the owner set it
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)


def _private_sqlite_files(url: sa.URL) -> None:
    """The SQLite database file is made private before SQLite opens it: SQLite gives the -wal
    and -shm files beside it the database file's own mode, so they are private too."""
    name = url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    if not path.parent.is_dir():
        return  # SQLite says so when it connects
    private_file(path)
    for suffix in ("-wal", "-shm"):  # left by an older install with a wider mode
        side = path.with_name(path.name + suffix)
        if side.exists():
            private_file(side)


def make_engine(url: str, *, sqlite_busy_timeout_ms: int = 5000, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout on every connection,
    and files only the app's user can read. Statement parameters (names, emails, tokens) never
    appear in its errors or its log."""
    engine = sa.create_engine(url, hide_parameters=True, **kwargs)
    if engine.dialect.name == "sqlite":
        _private_sqlite_files(engine.url)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the driver, start transactions (see _begin_immediate).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute(f"PRAGMA busy_timeout = {int(sqlite_busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # A request that changes things takes the write lock when its transaction starts,
            # not halfway through: with several workers a deferred transaction that reads and
            # then writes can fail at once with "database is locked" instead of waiting its
            # turn (busy_timeout). Reads (GET) stay deferred so that they never queue. Commands
            # ask for the same with session.connection(execution_options={"clinic_write": True}).
            writing = (
                has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")
            ) or bool(conn.get_execution_options().get("clinic_write"))
            conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

    return engine


def init_app(app: Flask) -> None:
    """Create the app's engine and session factory and hook the per-request unit of work."""
    engine = make_engine(
        app.config["DATABASE_URL"],
        sqlite_busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"],
        pool_pre_ping=True,
    )
    app.extensions["clinic.db"] = sessionmaker(bind=engine, expire_on_commit=False)
    app.after_request(_commit_at_the_edge)
    app.teardown_appcontext(_close_session)


def engine() -> Engine:
    """The current app's engine."""
    return engine_of(current_app)


def engine_of(app: Flask) -> Engine:
    """An app's engine (before any app context exists)."""
    factory: sessionmaker[Session] = app.extensions["clinic.db"]
    bound = factory.kw["bind"]
    assert isinstance(bound, Engine)
    return bound


def session() -> Session:
    """The session of the current app context, created on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["clinic.db"]()
    s: Session = g.db_session
    return s


def persist_always(obj: Any) -> None:
    """Store this object at the end of the request whatever its outcome (audit events of
    refused or failed requests must survive the rollback of everything else). Outside a
    request (a command), it joins the command's own session, which the command commits."""
    if not has_request_context():
        session().add(obj)
        return
    g.setdefault("db_always", []).append(obj)


def keep_changes() -> None:
    """Commit this request's changes even though it answers with an error status (e.g. a
    draft saved while the same page reports what still needs fixing)."""
    g.db_keep_changes = True


def _commit_at_the_edge(response: Response) -> Response:
    # A request that succeeded commits once here; an error status (including 422 for a form
    # that did not validate) rolls back whatever the view may have flushed.
    s: Session | None = g.get("db_session")
    always = g.pop("db_always", [])
    if s is None and always:
        s = session()
    if s is not None:
        if response.status_code < 400 or g.get("db_keep_changes"):
            s.commit()
        else:
            s.rollback()
        if always:
            # In a transaction of their own, which starts with the write: a read-only request
            # never holds a read snapshot while it waits to write (SQLite).
            s.add_all(always)
            s.commit()
    return response


def _close_session(exc: BaseException | None) -> None:
    s: Session | None = g.pop("db_session", None)
    if s is not None:
        if exc is not None:
            s.rollback()
        s.close()
