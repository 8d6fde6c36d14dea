"""Fixtures: a fresh database per test (SQLite file, or PostgreSQL when
CLINIC_TEST_DATABASE_URL names one), the app, a test client, and make_* factories.

The module_* fixtures are the same app and database once per test module, for tests that
share an expensive arrangement (tests/test_access.py); DatabaseSnapshot puts such a database
back exactly as it was, so that the tests sharing it stay independent."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import jinja2.bccache
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from argon2 import PasswordHasher
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from clinic import accounts, create_app, plans, resource_dir
from clinic.db import Base, make_engine
from clinic.library import DEFAULT_PROGRAM
from clinic.models import Assignment, Plan, Practice, Role, Submission, User

from .worksheet_data import valid_value

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


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """On PostgreSQL the suite runs in one process whatever `-n` says: the backup and restore
    tests work on the whole database, which parallel workers would share."""
    if PG_URL and getattr(config.option, "numprocesses", None):
        config.option.numprocesses = 0
        config.option.dist = "no"


def pytest_report_header() -> str:
    return f"database: {_redact(PG_URL) if PG_URL else 'SQLite (a new file per test)'}"


def _redact(url: str) -> str:
    return re.sub(r"//([^:@/]+):[^@/]+@", r"//\1:***@", url)


@cache
def _fast_hasher() -> tuple[PasswordHasher, str]:
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return hasher, hasher.hash("not anyone's password")


def use_fast_hashing(patch: pytest.MonkeyPatch) -> None:
    """Argon2id with the smallest cost: the algorithm is the same, the tests are quicker."""
    hasher, dummy = _fast_hasher()
    patch.setattr(accounts, "_hasher", hasher)
    patch.setattr(accounts, "_DUMMY_HASH", dummy)


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fast_hashing(monkeypatch)


@pytest.fixture(scope="module")
def module_fast_hashing() -> Iterator[None]:
    """fast_hashing for module-scoped fixtures, which are set up before any test's own
    (function-scoped, autouse) fixtures run."""
    with pytest.MonkeyPatch.context() as patch:
        use_fast_hashing(patch)
        yield


def _build_schema(engine: sa.Engine) -> None:
    """create_all, then stamp the Alembic head: test_migrations proves the two agree."""
    cfg = Config()
    cfg.set_main_option("script_location", str(resource_dir("migrations")))
    with engine.begin() as conn:
        Base.metadata.create_all(conn)
        cfg.attributes["connection"] = conn
        command.stamp(cfg, "head")


def _pg_url(schema: str | None = None) -> str:
    """PG_URL, or PG_URL with only `schema` on its search path (so every unqualified name the
    app and Alembic use, triggers included, lives in that schema)."""
    if schema is None:
        return PG_URL
    url = sa.make_url(PG_URL)
    options = f"{url.query.get('options', '')} -c search_path={schema}".strip()
    return str(url.update_query_dict({"options": options}).render_as_string(hide_password=False))


def _empty_tables(conn: sa.Connection) -> None:
    # DELETE is much faster than TRUNCATE for tables this small; children go first.
    # Audit events refuse DELETE (a row trigger); TRUNCATE, which tests alone use, does not
    # fire row triggers.
    conn.execute(sa.text("TRUNCATE audit_event"))
    for table in reversed(Base.metadata.sorted_tables):
        if table.name != "audit_event":
            conn.execute(table.delete())


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
    with pg_engine.begin() as conn:
        _empty_tables(conn)
    return PG_URL


@pytest.fixture(scope="module")
def module_database_url(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    pg_engine: sa.Engine | None,
) -> Iterator[str]:
    """A clean, fully built database shared by the tests of one module: an SQLite file of its
    own, or on PostgreSQL a schema of its own (named after the module, dropped afterwards), so
    that the function-scoped `database_url` emptying the public schema never touches it."""
    name = re.sub(r"\W", "_", request.module.__name__.rpartition(".")[2]).lower()
    if pg_engine is None:
        path = tmp_path_factory.mktemp(name) / "module.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    schema = f"module_{name}"
    with pg_engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = _pg_url(schema)
    engine = make_engine(url)
    _build_schema(engine)
    engine.dispose()
    yield url
    with pg_engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))


class _CompiledTemplates(jinja2.BytecodeCache):
    """Templates compiled once for the whole run instead of once per test's app (Jinja's own
    bytecode cache, in memory: an entry is used only while the template's source is unchanged,
    and filters and globals are still looked up in each app's environment)."""

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        compiled = self._compiled.get(bucket.key)
        if compiled is not None:
            bucket.bytecode_from_string(compiled)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._compiled[bucket.key] = bucket.bytecode_to_string()


_COMPILED_TEMPLATES = _CompiledTemplates()


def give_keys(instance_path: Path) -> str:
    """Give a test's instance folder its keys, as an operator would for a real deployment
    (keys are made up only for an empty SQLite database): every app a test creates on that
    folder then has the same ones, which the database's key check insists on. Returns the
    secret."""
    instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)
    secret = instance_path / "secret_key"
    keys = instance_path / "encryption_keys"
    for path, make in (
        (secret, lambda: "test-only-" + os.urandom(16).hex()),
        (keys, lambda: Fernet.generate_key().decode()),
    ):
        if not path.exists():
            path.write_text(make() + "\n", encoding="ascii")
            path.chmod(0o600)
    return secret.read_text(encoding="ascii").strip()


def _create_app(instance_path: Path, database_url: str) -> Flask:
    secret = give_keys(instance_path)
    with pytest.MonkeyPatch.context() as patch:  # create_app reads the instance path from here
        patch.setenv("CLINIC_INSTANCE_PATH", str(instance_path))
        app = create_app(
            {
                "TESTING": True,
                "DATABASE_URL": database_url,
                "SECRET_KEY": secret,
                "WTF_CSRF_ENABLED": False,
            }
        )
    app.jinja_env.bytecode_cache = _COMPILED_TEMPLATES
    return app


def _dispose(app: Flask) -> None:
    app.extensions["clinic.db"].kw["bind"].dispose()


@pytest.fixture
def app(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    # Left set for the test too, as before: code under test may create apps of its own.
    monkeypatch.setenv("CLINIC_INSTANCE_PATH", str(tmp_path / "instance"))
    app = _create_app(tmp_path / "instance", database_url)
    yield app
    _dispose(app)


@pytest.fixture(scope="module")
def module_app(
    tmp_path_factory: pytest.TempPathFactory, module_database_url: str
) -> Iterator[Flask]:
    """`app` once per module, on module_database_url. See make_current() for what tests that
    share it must do."""
    app = _create_app(tmp_path_factory.mktemp("instance"), module_database_url)
    yield app
    _dispose(app)


def make_current(app: Flask) -> None:
    """What a new app gives each function-scoped test, for a test on a shared (module_app)
    one: the app's encryption keys installed for the process (creating any other app
    replaces them), and an empty rate-limit store (the limiter is process-wide; kept, every
    test's sign-in would count against the per-address limit and throttle later tests)."""
    from clinic import crypto, instance_secret, throttle

    crypto.init_app(app, instance_secret)
    throttle.limiter.reset()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _open_session(database_url: str) -> tuple[Session, sa.Engine]:
    engine = sa.create_engine(database_url)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA foreign_keys = ON")
            dbapi_connection.execute("PRAGMA busy_timeout = 5000")

    return Session(bind=engine, expire_on_commit=False), engine


@pytest.fixture
def db(app: Flask, database_url: str) -> Iterator[Session]:
    """A session of its own, for arranging data and checking what the app stored. On SQLite
    it uses the driver's default transactions (reads take no snapshot), so that after
    expire_all() it sees what the app has committed since."""
    session, engine = _open_session(database_url)
    yield session
    session.close()
    engine.dispose()


@pytest.fixture(scope="module")
def module_db(module_app: Flask, module_database_url: str) -> Iterator[Session]:
    """`db` for module_database_url."""
    session, engine = _open_session(module_database_url)
    yield session
    session.close()
    engine.dispose()


class DatabaseSnapshot:
    """Everything in a database at one moment, and a quick way back to it: on SQLite a copy
    of the file made and restored with SQLite's online backup API (the app's pooled
    connections simply see the restored pages); on PostgreSQL a copy of every table in a
    schema of its own and a function that empties the tables and fills them from the copy.
    Row ids come back as they were; sequences are not wound back, so new rows never reuse
    an id."""

    def __init__(self, database_url: str, directory: Path) -> None:
        self.url = sa.make_url(database_url)
        self._sqlite_live: sqlite3.Connection | None = None
        self._sqlite_copy: sqlite3.Connection | None = None
        self._engine: sa.Engine | None = None
        if self.url.get_backend_name() == "sqlite":
            self._copy_path = directory / "snapshot.sqlite3"
        else:
            options = str(self.url.query.get("options", ""))
            found = re.search(r"search_path=(\w+)", options)
            self.schema = found.group(1) if found else "public"
            self.copy_schema = f"{self.schema}_snapshot"
            self._engine = sa.create_engine(self.url)

    def take(self) -> None:
        if self._engine is None:
            self._sqlite_live = sqlite3.connect(self.url.database or "")
            self._sqlite_copy = sqlite3.connect(self._copy_path)
            self._sqlite_live.backup(self._sqlite_copy)
            return
        live, copy = self.schema, self.copy_schema
        tables = [t.name for t in Base.metadata.sorted_tables]
        restore = [f"TRUNCATE {live}.audit_event;"]
        restore += [f'DELETE FROM {live}."{t}";' for t in reversed(tables) if t != "audit_event"]
        restore += [f'INSERT INTO {live}."{t}" SELECT * FROM {copy}."{t}";' for t in tables]
        with self._engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {copy} CASCADE"))
            conn.execute(sa.text(f"CREATE SCHEMA {copy}"))
            for t in tables:
                conn.execute(sa.text(f'CREATE TABLE {copy}."{t}" AS TABLE {live}."{t}"'))
            conn.execute(
                sa.text(
                    f"CREATE FUNCTION {copy}.restore() RETURNS void LANGUAGE plpgsql AS "
                    f"$$ BEGIN {' '.join(restore)} END $$"
                )
            )

    def restore(self) -> None:
        if self._engine is None:
            assert self._sqlite_copy is not None and self._sqlite_live is not None, "take() first"
            self._sqlite_copy.backup(self._sqlite_live)
            return
        with self._engine.begin() as conn:
            conn.execute(sa.text(f"SELECT {self.copy_schema}.restore()"))

    def close(self) -> None:
        for conn in (self._sqlite_live, self._sqlite_copy):
            if conn is not None:
                conn.close()
        if self._engine is not None:
            with self._engine.begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {self.copy_schema} CASCADE"))
            self._engine.dispose()


@pytest.fixture(scope="module")
def module_snapshot(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DatabaseSnapshot]:
    """A DatabaseSnapshot of module_database_url: take() once it is arranged, restore() before
    each test."""
    snapshot = DatabaseSnapshot(module_database_url, tmp_path_factory.mktemp("snapshot"))
    yield snapshot
    snapshot.close()


# --- factories -------------------------------------------------------------------------------
# Each make_* fixture is a thin wrapper over a *_factory function, so that module-scoped
# arrangements (with module_app and module_db) build their data the same way.


def practice_factory(db: Session) -> Callable[..., Practice]:
    def make(name: str = "Test Practice") -> Practice:
        practice = Practice(name=name)
        db.add(practice)
        db.commit()
        return practice

    return make


@pytest.fixture
def make_practice(db: Session) -> Callable[..., Practice]:
    return practice_factory(db)


@pytest.fixture
def practice(make_practice: Callable[..., Practice]) -> Practice:
    return make_practice()


def user_factory(db: Session, practice: Practice) -> Callable[..., User]:
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
def make_user(db: Session, practice: Practice) -> Callable[..., User]:
    return user_factory(db, practice)


def record_screen(
    db: Session,
    client: User,
    therapist: User,
    outcome: str = "suitable",
    *,
    on: dt.date | None = None,
    weeks: dict[int, str] | None = None,
    areas: dict[str, dict[str, str]] | None = None,
) -> Any:
    """Record a suitability screen (no concern anywhere unless `areas` says so) dated `on`
    (default today); `weeks` maps week numbers to 'adapted' or 'left_out'. Needs an app
    context; flushes, does not commit."""
    ws = plans.screening.definition(db)
    fields = {f"week_{n}": change for n, change in (weeks or {}).items()}
    notes = {
        "with_changes": {"changes": "Partner-facing weeks changed."},
        "not_suitable": {"referral": "Referred to a domestic abuse service."},
    }
    raw = plans.screening.answers_for(
        ws, {"outcome": outcome, **fields, **notes.get(outcome, {})}, areas
    )
    screen, _ = plans.screening.record(db, client, therapist, raw, on or dt.date.today())
    return screen


def plan_factory(app: Flask, db: Session) -> Callable[..., Plan]:
    def make(
        client: User,
        therapist: User | None = None,
        *,
        week: int = 1,
        start: dt.date | None = None,
        weekday: int | None = None,
        program_key: str = DEFAULT_PROGRAM,
    ) -> Plan:
        """Start a 12-week plan for `client` (with their therapist unless one is given).
        `start` defaults to today, or to `week - 1` weeks ago so that the client is in week
        `week` today; sessions fall on `weekday` (default: the start's own weekday, so the
        first session is on the start date)."""
        if start is None:
            start = dt.date.today() - dt.timedelta(days=7 * (week - 1))
        with app.app_context():
            if therapist is None:
                therapist = accounts.therapist_of(db, client)
                assert therapist is not None, "the client has no therapist: pass one"
            if plans.screening.latest(db, client) is None:
                record_screen(db, client, therapist, on=start - dt.timedelta(days=7))
            plan = plans.start_plan(
                db,
                client,
                therapist,
                start,
                start.weekday() if weekday is None else weekday,
                program_key,
            )
            db.commit()
        return plan

    return make


@pytest.fixture
def make_plan(app: Flask, db: Session) -> Callable[..., Plan]:
    return plan_factory(app, db)


def valid_answers(ws: Any) -> dict[str, Any]:
    """Raw answers to worksheet definition `ws` that pass its final checks: every field
    answered, each repeating section with its minimum number of rows (at least one)."""
    raw: dict[str, Any] = {}
    for section in ws.sections:
        if section.repeat:
            raw[section.key] = [
                {f.key: valid_value(f, row) for f in section.fields}
                for row in range(max(section.min_rows, 1))
            ]
        else:
            raw[section.key] = {f.key: valid_value(f) for f in section.fields}
    return raw


def submission_factory(app: Flask, db: Session) -> Callable[..., Submission]:
    def make(
        assignment: Assignment,
        answers: dict[str, Any] | None = None,
        *,
        submitted: bool = False,
        client: User | None = None,
        base_version: int | None = None,
    ) -> Submission:
        """The client's answers to `assignment`, saved as a draft (plans.save_draft) or, with
        submitted=True, sent to the therapist (plans.submit). `answers` are raw answers in
        the worksheet's shape; by default none for a draft and valid_answers() when
        submitting. `base_version` is the version the client's form showed: by default that
        of the stored answers (0 when there are none)."""
        with app.app_context():
            if client is None:
                client = assignment.plan.client
            if base_version is None:
                db.refresh(assignment)
                existing = assignment.submission
                base_version = existing.version if existing is not None else 0
            if answers is None:
                ws = plans.worksheet(db, assignment.worksheet_key)
                answers = valid_answers(ws) if submitted else {}
            save = plans.submit if submitted else plans.save_draft
            submission = save(db, assignment, client, answers, base_version)
            db.commit()
        return submission

    return make


@pytest.fixture
def make_submission(app: Flask, db: Session) -> Callable[..., Submission]:
    return submission_factory(app, db)


# --- signing in and counting -----------------------------------------------------------------


def sign_in_through_form(
    client: FlaskClient, user: User, password: str = PASSWORD, follow: bool = False
) -> Any:
    response = client.post(
        "/sign-in",
        data={"email": user.email, "password": password},
        follow_redirects=follow,
    )
    assert response.status_code in (200, 302), response.status_code
    return response


@pytest.fixture
def sign_in(client: FlaskClient) -> Callable[..., Any]:
    """Sign a person in on the test's `client`."""

    def do(user: User, password: str = PASSWORD, follow: bool = False) -> Any:
        return sign_in_through_form(client, user, password, follow)

    return do


def signed_in_client(app: Flask, user: User, password: str = PASSWORD) -> FlaskClient:
    """A test client of its own, signed in as `user` through the real /sign-in form (and so
    fully signed in: not left at the two-step code page)."""
    browser = app.test_client()
    response = sign_in_through_form(browser, user, password)
    location = response.headers.get("Location", "")
    assert response.status_code == 302 and not location.startswith("/sign-in"), (
        f"{user.email} was not signed in: {response.status_code} {location}"
    )
    return browser


@pytest.fixture
def signed_in(app: Flask) -> Callable[..., FlaskClient]:
    """signed_in(user) -> a new test client signed in as that person (several people can be
    signed in at once, each in their own client)."""

    def do(user: User, password: str = PASSWORD) -> FlaskClient:
        return signed_in_client(app, user, password)

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
    # A PDF is not UTF-8: decoded leniently, its "%PDF" header still reads.
    return len(seen), response.get_data().decode("utf-8", "replace")


def self_signed_certificate(
    folder: Path, stem: str, names: tuple[str, ...] = ("127.0.0.1",)
) -> tuple[Path, Path]:
    """A self-signed certificate (valid a day either side of now) for host names and IP
    addresses, and its key, written as PEM files `stem`.crt and `stem`.key (the key 0600)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def alt(name: str) -> x509.GeneralName:
        try:
            return x509.IPAddress(ipaddress.ip_address(name))
        except ValueError:
            return x509.DNSName(name)

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([alt(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{stem}.crt", folder / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path
