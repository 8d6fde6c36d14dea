"""Consistent online backups and restores: SQLite's backup API, or pg_dump/pg_restore.

The encryption keys are not in a backup (they must never sit beside the data): keep
instance/encryption_keys (or CLINIC_ENCRYPTION_KEYS) safe separately, or the restored text
cannot be read."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa

from .db import private_file


class BackupError(Exception):
    """A backup or restore could not be made."""


def _sqlite_path(url: sa.URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("An in-memory database cannot be backed up.")
    return Path(url.database)


def _libpq(url: sa.URL) -> str:
    """A libpq connection string for pg_dump and pg_restore (keyword form, so that options
    such as 'options=-c ...' survive without URL-encoding trouble)."""
    from psycopg.conninfo import make_conninfo

    params = {
        "host": url.host,
        "port": url.port,
        "dbname": url.database,
        "user": url.username,
        **{k: v for k, v in url.query.items() if isinstance(v, str)},
    }
    return make_conninfo(**{k: v for k, v in params.items() if v is not None})


def _env(url: sa.URL) -> dict[str, str]:
    """The password goes in the environment, not on the command line (visible to `ps`)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client).")
    return found


def _sqlite_copy(source: Path, target: Path) -> None:
    src, dest = sqlite3.connect(source), sqlite3.connect(target)
    try:
        # One step (pages=-1): the copy is one consistent snapshot of committed data.
        src.backup(dest, pages=-1)
    finally:
        dest.close()
        src.close()


def _pg(tool: str, args: list[str], url: sa.URL) -> None:
    result = subprocess.run(
        [_tool(tool), *args, "--no-owner", "--dbname", _libpq(url)],
        capture_output=True,
        text=True,
        check=False,
        env=_env(url),
    )
    if result.returncode != 0:
        raise BackupError(f"{tool} failed: {result.stderr.strip()}")


def backup(database_url: str, target: Path) -> Path:
    """Write a consistent copy of the live database to `target` while it stays in use."""
    url = sa.make_url(database_url)
    if not target.parent.exists():  # a folder made for backups: the owner's alone (0700)
        target.parent.mkdir(parents=True, mode=0o700)
    # The backup holds the whole record: readable by the app's user only (0600), from the
    # moment it exists (pg_dump and SQLite write into the file made here, keeping its mode).
    private_file(target)
    match url.get_backend_name():
        case "sqlite":
            _sqlite_copy(_sqlite_path(url), target)
        case "postgresql":
            _pg("pg_dump", ["--format=custom", f"--file={target}"], url)
        case other:
            raise BackupError(f"No backup method for {other}.")
    return target


def restore(database_url: str, source: Path) -> None:
    """Replace the database's contents with a backup (stop the app's workers first)."""
    if not source.is_file():
        raise BackupError(f"{source} does not exist.")
    url = sa.make_url(database_url)
    match url.get_backend_name():
        case "sqlite":
            _sqlite_copy(source, _sqlite_path(url))
        case "postgresql":
            _pg("pg_restore", ["--clean", "--if-exists", "--single-transaction", str(source)], url)
        case other:
            raise BackupError(f"No restore method for {other}.")
