"""Fixtures: a fresh database per test (SQLite file, or PostgreSQL when
CLINIC_TEST_DATABASE_URL names one), the app, a test client, and make_* factories."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from clinic import accounts, create_app, resource_dir
from clinic.db import Base, make_engine
from clinic.models import Practice, Role, User

PG_URL = os.environ.get("CLINIC_TEST_DATABASE_URL", "").strip()
if PG_URL:
    # Tests do not need each commit flushed to disk before the next statement; the same
    # queries and constraints run, only the fsync wait is skipped.
    PG_URL = str(
        sa.make_url(PG_URL)
        .update_query_dict({"options": "-c synchronous_commit=off"})
        .render_as_string(hide_password=False)
    )
PASSWORD = "a calm harbour at dawn"  # passes the policy; used by every factory-made account


def pytest_report_header() -> str:
    return f"database: {_redact(PG_URL) if PG_URL else 'SQLite (a new file per test)'}"


def _redact(url: str) -> str:
    return re.sub(r"//([^:@/]+):[^@/]+@", r"//\1:***@", url)


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id with the smallest cost: the algorithm is the same, the tests are quicker."""
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", hasher)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", hasher.hash("not anyone's password"))


def _build_schema(engine: sa.Engine) -> None:
    """create_all, then stamp the Alembic head: test_migrations proves the two agree."""
    cfg = Config()
    cfg.set_main_option("script_location", str(resource_dir("migrations")))
    with engine.begin() as conn:
        Base.metadata.create_all(conn)
        cfg.attributes["connection"] = conn
        command.stamp(cfg, "head")


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[sa.Engine | None]:
    """One PostgreSQL schema for the whole run, emptied between tests."""
    if not PG_URL:
        yield None
        return
    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    _build_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file with the schema, copied for each test (faster than building it anew)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    _build_schema(engine)
    engine.dispose()
    raw = sqlite3.connect(path)  # fold the WAL into the main file before copying it
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    return path


@pytest.fixture
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_engine: sa.Engine | None
) -> str:
    """A clean, fully built database for this test."""
    if pg_engine is None:
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    # DELETE is much faster than TRUNCATE for tables this small; children go first.
    with pg_engine.begin() as conn:
        # Audit events refuse DELETE (a row trigger); TRUNCATE, which tests alone use, does not
        # fire row triggers.
        conn.execute(sa.text("TRUNCATE audit_event"))
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "audit_event":
                conn.execute(table.delete())
    return PG_URL


@pytest.fixture
def app(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.setenv("CLINIC_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-only-" + os.urandom(8).hex(),
            "WTF_CSRF_ENABLED": False,
        }
    )
    yield app
    app.extensions["clinic.db"].kw["bind"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def db(app: Flask, database_url: str) -> Iterator[Session]:
    """A session of its own, for arranging data and checking what the app stored. On SQLite
    it uses the driver's default transactions (reads take no snapshot), so that after
    expire_all() it sees what the app has committed since."""
    engine = sa.create_engine(database_url)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA foreign_keys = ON")
            dbapi_connection.execute("PRAGMA busy_timeout = 5000")

    session = Session(bind=engine, expire_on_commit=False)
    yield session
    session.close()
    engine.dispose()


@pytest.fixture
def make_practice(db: Session) -> Callable[..., Practice]:
    def make(name: str = "Test Practice") -> Practice:
        practice = Practice(name=name)
        db.add(practice)
        db.commit()
        return practice

    return make


@pytest.fixture
def practice(make_practice: Callable[..., Practice]) -> Practice:
    return make_practice()


@pytest.fixture
def make_user(db: Session, practice: Practice) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(
        role: Role | str = Role.THERAPIST,
        *,
        email: str | None = "",
        name: str | None = None,
        password: str | None = PASSWORD,
        therapist: User | None = None,
        in_practice: Practice | None = None,
    ) -> User:
        role = Role(role)
        n = next(counter)
        if email == "":
            email = f"{role.value}{n}@example.org"
        owner = in_practice or practice
        if role is Role.CLIENT:
            if therapist is None:
                therapist = make(Role.THERAPIST, in_practice=owner)
            user = accounts.add_client(db, therapist, name or f"Client {n}", email)
            if password is not None:
                user.password_hash = accounts.hash_password(password)
        else:
            user = accounts.create_user(
                db, owner, role, name or f"{role.value.title()} {n}", email, password
            )
        db.commit()
        return user

    return make


@pytest.fixture
def sign_in(client: FlaskClient) -> Callable[..., Any]:
    def do(user: User, password: str = PASSWORD, follow: bool = False) -> Any:
        response = client.post(
            "/sign-in",
            data={"email": user.email, "password": password},
            follow_redirects=follow,
        )
        assert response.status_code in (200, 302), response.status_code
        return response

    return do


def count_statements(app: Flask, client: FlaskClient, url: str) -> tuple[int, str]:
    """GET `url` (it must answer 200): the number of SQL statements the app ran for it, and
    the page."""
    engine = app.extensions["clinic.db"].kw["bind"]
    seen: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(seen), response.get_data(as_text=True)
