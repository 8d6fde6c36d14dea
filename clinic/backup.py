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


# An encrypted backup (for copies that leave the server): the backup file sealed with
# AES-256-GCM under a key derived from a passphrase with scrypt (RFC 7914; n=2^15, r=8, p=1),
# so it can be restored on a new machine with the passphrase alone. Layout: MAGIC, 16-byte
# salt, 12-byte nonce, ciphertext with its tag.
MAGIC = b"BEDROCK-BACKUP-1\n"
PASSPHRASE_MIN = 12


def _key(passphrase: str, salt: bytes) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase.encode())


def seal(path: Path, passphrase: str) -> None:
    """Encrypt a backup file in place (it stays 0600)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if len(passphrase) < PASSPHRASE_MIN:
        raise BackupError(f"Use a passphrase of at least {PASSPHRASE_MIN} characters.")
    salt, nonce = os.urandom(16), os.urandom(12)
    sealed = AESGCM(_key(passphrase, salt)).encrypt(nonce, path.read_bytes(), MAGIC)
    with path.open("r+b") as fh:
        fh.truncate()
        fh.write(MAGIC + salt + nonce + sealed)


def is_sealed(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(len(MAGIC)) == MAGIC


def unseal(source: Path, passphrase: str, target: Path) -> None:
    """Decrypt a sealed backup into `target` (0600); a wrong passphrase is a clear error."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    data = source.read_bytes()
    body = data[len(MAGIC) :]
    salt, nonce, sealed = body[:16], body[16:28], body[28:]
    try:
        plain = AESGCM(_key(passphrase, salt)).decrypt(nonce, sealed, MAGIC)
    except InvalidTag:
        raise BackupError("The passphrase does not open this backup.") from None
    private_file(target)
    with target.open("r+b") as fh:
        fh.truncate()
        fh.write(plain)


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
    return make_conninfo("", **{k: v for k, v in params.items() if v is not None})


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
