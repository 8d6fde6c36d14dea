"""Keys that cannot drift. The database keeps one row (key_check) with an HMAC of a fixed label
under SECRET_KEY and under each encryption key; every start of the app and of every command
compares its own keys with it and refuses to start, saying which key differs and what to do,
instead of signing links no other host accepts or writing text no other host can read.

Keys are generated only for a development database: SQLite that holds neither the row nor
any encrypted text. Anywhere else a missing key stops the start with the setting to fill in.

Encryption keys in the row are "writes" (text may be stored under it: every host needs it) or
"decrypts" (known, not yet used to write: a key added at the end of every host's list before
it is moved to the front). A host may only write with a key the database knows."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask

from . import crypto
from . import db as database
from .errors import SetupError

log = logging.getLogger(__name__)

SECRET_LABEL = b"bedrock key check: SECRET_KEY"
ENCRYPTION_LABEL = b"bedrock key check: encryption key"
WRITES, DECRYPTS = "writes", "decrypts"
SECRET_HOW = "python3 -c 'import secrets; print(secrets.token_hex(32))'"
KEY_HOW = (
    "python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


class KeyMismatch(SetupError):
    """This process's secret or encryption keys are not the ones the database was written with
    (or a key is missing where none may be generated)."""


def secret_check(secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), SECRET_LABEL, hashlib.sha256).hexdigest()


def key_check(key: bytes) -> str:
    return hmac.new(key, ENCRYPTION_LABEL, hashlib.sha256).hexdigest()


def _table() -> sa.Table:
    from .models import KeyCheck

    return KeyCheck.__table__  # type: ignore[return-value]


def _encrypted_columns() -> list[sa.Column[Any]]:
    from . import models  # noqa: F401  (registers every table)
    from .db import Base, ClinicalJSON, ClinicalText

    return [
        column
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, ClinicalText | ClinicalJSON)
    ]


def stored_samples(conn: sa.Connection) -> list[tuple[str, str]]:
    """One stored encrypted value per encrypted column that has any: (table.column, token)."""
    inspector = sa.inspect(conn)
    found = []
    for column in _encrypted_columns():
        if not inspector.has_table(column.table.name):
            continue
        raw = conn.scalar(sa.select(sa.cast(column, sa.Text)).where(column.is_not(None)).limit(1))
        if raw is not None:
            found.append((f"{column.table.name}.{column.name}", raw))
    return found


def holds_keyed_data(conn: sa.Connection) -> bool:
    """The database already depends on some keys: it has the key-check row or encrypted text."""
    if sa.inspect(conn).has_table("key_check") and conn.scalar(
        sa.select(sa.func.count()).select_from(_table())
    ):
        return True
    return bool(stored_samples(conn))


def may_generate(engine: sa.Engine) -> bool:
    """Keys may be made up only for a development database: SQLite without keyed data."""
    if engine.dialect.name != "sqlite":
        return False
    with engine.connect() as conn:
        return not holds_keyed_data(conn)


def _name(error: BaseException) -> str:
    return type(getattr(error, "orig", None) or error).__name__


def where_keys_come_from(app: Flask) -> str:
    if app.config.get("ENCRYPTION_KEYS"):
        return "CLINIC_ENCRYPTION_KEYS"
    return str(Path(app.instance_path) / "encryption_keys")


def where_secret_comes_from(app: Flask, from_file: bool) -> str:
    return str(Path(app.instance_path) / "secret_key") if from_file else "CLINIC_SECRET_KEY"


def init_app(app: Flask, instance_secret: Callable[[Path, Callable[[], str]], str]) -> None:
    """Load SECRET_KEY and the encryption keys (made up only for a development database), then
    check them against the database's key-check row, writing the row if there is none."""
    engine = database.engine_of(app)
    try:
        generate_ok = may_generate(engine)
    except sa.exc.DBAPIError as error:
        # Unreachable: nothing can be checked now (`doctor` and /readyz say so); generate
        # nothing either, except for SQLite (which is a file that always answers).
        log.warning("key check skipped: the database cannot be reached (%s)", _name(error))
        generate_ok = False
        reachable = False
    else:
        reachable = True
    why = (
        f"the database is {engine.dialect.name}"
        if engine.dialect.name != "sqlite"
        else "the database already holds encrypted text or a key check"
    )

    def read(path: Path, generate: Callable[[], str]) -> str:
        if not generate_ok and not path.exists():
            setting, how = (
                ("CLINIC_SECRET_KEY", SECRET_HOW)
                if path.name == "secret_key"
                else ("CLINIC_ENCRYPTION_KEYS", KEY_HOW)
            )
            raise KeyMismatch(
                f"{setting} is not set and {path} does not exist. Keys are made up only for a "
                f"development database (SQLite, empty), and {why}. Set {setting} (or write "
                f"{path}, mode 600) to the value every other host and the timer use; for a "
                f"brand-new installation make one with: {how}"
            )
        return instance_secret(path, generate)

    secret_from_file = not app.config.get("SECRET_KEY")
    if secret_from_file:
        app.config["SECRET_KEY"] = read(
            Path(app.instance_path) / "secret_key", lambda: secrets.token_hex(32)
        )
    crypto.init_app(app, read)
    if reachable:
        try:
            verify(app, engine, secret_from_file=secret_from_file)
        except sa.exc.DBAPIError as error:
            log.warning("key check skipped: the database cannot be reached (%s)", _name(error))
    # The check's connections are not kept: requests (and, under gunicorn, each forked
    # worker) open their own.
    engine.dispose()


def _loaded_keys() -> list[bytes]:
    keys = crypto.loaded_keys()
    if not keys:
        raise KeyMismatch("No encryption keys are loaded.")
    return keys


def verify(app: Flask, engine: sa.Engine, *, secret_from_file: bool = False) -> str:
    """Compare this process's keys with the key-check row; write the row if there is none.
    Returns what it did ("recorded", "checked" or "no key_check table"); raises KeyMismatch."""
    table = _table()
    secret = secret_check(str(app.config["SECRET_KEY"]))
    keys = _loaded_keys()
    checks = [key_check(k) for k in keys]
    # SQLite: take the write lock when the transaction starts (BEGIN IMMEDIATE), so that
    # workers starting together queue for it instead of failing to upgrade a read lock.
    with engine.connect().execution_options(clinic_write=True) as conn:
        if not sa.inspect(conn).has_table("key_check"):
            return "no key_check table"  # before `db upgrade`, which writes it
        row = conn.execute(sa.select(table).where(table.c.id == 1)).mappings().first()
        if row is None:
            for where, token in stored_samples(conn):
                try:
                    crypto.decrypt(token)
                except crypto.ClinicalDataError:
                    raise KeyMismatch(
                        f"The encryption keys ({where_keys_come_from(app)}) cannot decrypt the "
                        f"text already stored ({where}): they are not the keys it was written "
                        "with. Copy the keys from the host that wrote it (its "
                        "CLINIC_ENCRYPTION_KEYS or instance/encryption_keys)."
                    ) from None
            known = {c: DECRYPTS for c in checks[1:]} | {checks[0]: WRITES}
            try:
                conn.execute(
                    table.insert().values(
                        id=1,
                        secret_check=secret,
                        encryption_checks=json.dumps(known, sort_keys=True),
                        updated_at=dt.datetime.now(dt.UTC),
                    )
                )
                conn.commit()
            except sa.exc.IntegrityError:
                conn.rollback()  # another worker starting at the same moment wrote it first
                return verify(app, engine, secret_from_file=secret_from_file)
            return "recorded"
        problem = mismatch(row, secret, checks)
        if problem == "secret":
            raise KeyMismatch(
                f"SECRET_KEY ({where_secret_comes_from(app, secret_from_file)}) is not the one "
                "this database was set up with: sign-in sessions and every emailed link "
                "(unsubscribe, invitation, password reset) would fail between hosts. Set "
                "CLINIC_SECRET_KEY to the same value on every host and for the timer (or copy "
                "instance/secret_key from a host that works)."
            )
        if problem == "first key":
            raise KeyMismatch(
                f"The first encryption key ({where_keys_come_from(app)}) is not one this "
                "database knows: text written with it could not be read by any other host. "
                "Copy the keys from a host that works (its CLINIC_ENCRYPTION_KEYS or "
                "instance/encryption_keys). To start using a new key, add it at the END of the "
                "list on every host first (decrypt-only), start each once, then move it to the "
                "front."
            )
        if problem:
            raise KeyMismatch(
                f"The encryption keys ({where_keys_come_from(app)}) lack {problem} "
                "that stored text was written with: it could not be decrypted here. Copy the "
                "keys from a host that works (its CLINIC_ENCRYPTION_KEYS or "
                "instance/encryption_keys)."
            )
        known = json.loads(row["encryption_checks"])
        updated = {c: DECRYPTS for c in checks[1:]} | known | {checks[0]: WRITES}
        if updated != known:
            _store_checks(conn, updated)
            conn.commit()
        return "checked"


def register_keys(engine: sa.Engine, keys: list[bytes]) -> None:
    """Make new keys known to the database (decrypt-only until a host writes with them)."""
    _update_checks(engine, lambda known: {key_check(k): DECRYPTS for k in keys} | known)


def change_secret(engine: sa.Engine, new_secret: str) -> None:
    """Record a deliberately new SECRET_KEY (run with the old one, which the app checked at
    start): from now on only processes with the new secret start."""
    table = _table()
    with engine.begin() as conn:
        conn.execute(
            table.update()
            .where(table.c.id == 1)
            .values(secret_check=secret_check(new_secret), updated_at=dt.datetime.now(dt.UTC))
        )


def mismatch(row: Any, secret: str, checks: list[str]) -> str | None:
    """What differs between the key-check row and these checks: "secret", "first key",
    "N key(s)" (keys text was written with that are not among these), or None."""
    if not hmac.compare_digest(row["secret_check"], secret):
        return "secret"
    known = json.loads(row["encryption_checks"])
    if checks[0] not in known:
        return "first key"
    missing = [c for c, role in known.items() if role == WRITES and c not in checks]
    return f"{len(missing)} key(s)" if missing else None


def recorded(conn: sa.Connection) -> Any:
    """The key-check row, or None (no row, or no table before `db upgrade`)."""
    if not sa.inspect(conn).has_table("key_check"):
        return None
    table = _table()
    return conn.execute(sa.select(table).where(table.c.id == 1)).mappings().first()


def only_first_writes(engine: sa.Engine) -> None:
    """After every stored value was re-encrypted with the first key: the other keys are no
    longer needed to read anything (they can then be removed from every host)."""
    first = key_check(_loaded_keys()[0])
    _update_checks(engine, lambda known: {c: DECRYPTS for c in known} | {first: WRITES})


def _update_checks(engine: sa.Engine, change: Callable[[dict[str, str]], dict[str, str]]) -> None:
    table = _table()
    with engine.begin() as conn:
        if not sa.inspect(conn).has_table("key_check"):
            return
        raw = conn.scalar(sa.select(table.c.encryption_checks).where(table.c.id == 1))
        if raw is None:
            return
        _store_checks(conn, change(json.loads(raw)))


def _store_checks(conn: sa.Connection, checks: dict[str, str]) -> None:
    """Write the key-check row's encryption checks (each key's role: writes or decrypts)."""
    conn.execute(
        _table()
        .update()
        .where(_table().c.id == 1)
        .values(
            encryption_checks=json.dumps(checks, sort_keys=True),
            updated_at=dt.datetime.now(dt.UTC),
        )
    )
