"""Configuration layers, the generated secret key, and the SQLite connection settings."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

import clinic
from clinic import create_app
from clinic import db as database


@pytest.fixture
def instance(tmp_path, monkeypatch) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "instance"
    monkeypatch.setenv("CLINIC_INSTANCE_PATH", str(path))
    for name in list(os.environ):
        if name.startswith("CLINIC_") and name != "CLINIC_INSTANCE_PATH":
            monkeypatch.delenv(name)
    return path


def dispose(app) -> None:  # type: ignore[no-untyped-def]
    app.extensions["clinic.db"].kw["bind"].dispose()


def test_layers_apply_in_order_defaults_file_environment_test(instance, monkeypatch):
    instance.mkdir()
    (instance / "config.py").write_text(
        "INVITATION_DAYS = 3\nSQLITE_BUSY_TIMEOUT_MS = 1234\nDATABASE_URL = 'sqlite:///from-file.db'\n"
    )
    monkeypatch.setenv("CLINIC_SQLITE_BUSY_TIMEOUT_MS", "4321")
    monkeypatch.setenv("CLINIC_DATABASE_URL", f"sqlite:///{instance / 'from-env.sqlite3'}")
    monkeypatch.setenv("CLINIC_SECRET_KEY", "s" * 40)
    app = create_app({"INVITATION_DAYS": 5})
    assert app.config["INVITATION_DAYS"] == 5  # test mapping beats the file
    assert app.config["SQLITE_BUSY_TIMEOUT_MS"] == 4321  # environment beats the file
    assert app.config["DATABASE_URL"].endswith("from-env.sqlite3")
    assert app.config["SECRET_KEY"] == "s" * 40
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True  # a default nobody overrode
    dispose(app)
    monkeypatch.delenv("CLINIC_SQLITE_BUSY_TIMEOUT_MS")
    app = create_app()
    assert app.config["SQLITE_BUSY_TIMEOUT_MS"] == 1234 and app.config["INVITATION_DAYS"] == 3
    dispose(app)


def test_default_database_is_sqlite_in_the_instance_folder(instance):
    app = create_app()
    assert app.config["DATABASE_URL"] == f"sqlite:///{instance / 'clinic.sqlite3'}"
    dispose(app)


def test_secret_key_is_generated_once_private_and_reused(instance):
    first = create_app()
    key_file = instance / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.config["SECRET_KEY"]) >= 64
    second = create_app()
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]
    dispose(first)
    dispose(second)
    key_file.unlink()
    third = create_app()
    assert third.config["SECRET_KEY"] != first.config["SECRET_KEY"]
    dispose(third)


def test_no_secret_key_is_hard_coded_in_the_package():
    pattern = re.compile(r"SECRET_KEY\W+[\"']")
    for path in Path(clinic.__file__).parent.rglob("*.py"):
        assert not pattern.search(path.read_text(encoding="utf-8")), path


def test_sqlite_connections_enforce_foreign_keys_use_wal_and_wait_when_busy(instance):
    app = create_app({"SQLITE_BUSY_TIMEOUT_MS": 2500})
    with app.app_context(), database.engine().connect() as conn:
        assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(sa.text("PRAGMA busy_timeout")).scalar() == 2500
    dispose(app)


def test_sessions_are_per_app_context_and_errors_roll_back(app, make_user, db):
    from clinic.models import Role, User

    user = make_user(Role.THERAPIST)

    @app.get("/_test/rename/<int:status>")
    def rename(status: int):  # type: ignore[no-untyped-def]
        database.session().get(User, user.id).display_name = f"renamed {status}"
        return "", status

    with app.test_client() as c:
        c.get("/_test/rename/422")
        db.expire_all()
        assert db.get(User, user.id).display_name != "renamed 422"
        c.get("/_test/rename/200")
        db.expire_all()
        assert db.get(User, user.id).display_name == "renamed 200"


def test_workers_starting_together_agree_on_one_secret_key(tmp_path):
    import secrets
    from concurrent.futures import ThreadPoolExecutor

    from clinic import instance_secret

    def read(_: int) -> str:
        return instance_secret(tmp_path / "secret_key", lambda: secrets.token_hex(32))

    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(read, range(32)))
    assert len(keys) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary files left


def test_sqlite_write_requests_begin_immediate(app, tmp_path):
    """A request that changes things holds the write lock from the start of its transaction,
    so a second writer waits (busy timeout) instead of failing halfway through with
    'database is locked'; a read-only request does not take the lock."""
    import sqlite3

    path = tmp_path / "lock.sqlite3"
    engine = database.make_engine(f"sqlite:///{path}", sqlite_busy_timeout_ms=100)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
    for method, locked in (("POST", True), ("GET", False)):
        with app.test_request_context("/", method=method), engine.connect() as first:
            first.begin()
            first.execute(sa.text("SELECT count(*) FROM t"))  # only a read so far
            other = sqlite3.connect(path, timeout=0.1, isolation_level=None)
            if locked:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            else:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
            other.close()
            first.rollback()
    engine.dispose()
