"""Backups taken while the app writes restore every committed transaction, whole."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from clinic import db as database
from clinic.backup import backup, restore
from clinic.db import make_engine
from clinic.models import AuditEvent, Role, User

from .conftest import PG_URL


def _writer(url: str, stop: threading.Event, committed: list[int]) -> None:
    engine = make_engine(url)
    i = 0
    try:
        while not stop.is_set() and i < 5000:
            with engine.begin() as conn:  # two rows per transaction: both or neither
                for _ in range(2):
                    conn.execute(
                        sa.insert(AuditEvent).values(
                            action="view", object_type="backup-test", object_id=i
                        )
                    )
            committed.append(i)
            i += 1
    finally:
        engine.dispose()


def _counts(url: str) -> dict[int, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(AuditEvent.object_id, sa.func.count())
                .where(AuditEvent.object_type == "backup-test")
                .group_by(AuditEvent.object_id)
            ).all()
        return dict(rows)
    finally:
        engine.dispose()


def test_backup_while_writing_then_restore_finds_every_committed_row(app, database_url, tmp_path):
    stop, committed = threading.Event(), []
    writer = threading.Thread(target=_writer, args=(database_url, stop, committed))
    writer.start()
    while len(committed) < 50:
        time.sleep(0.01)
    before = set(committed)
    target = tmp_path / "bedrock.backup"
    backup(database_url, target)
    time.sleep(0.05)
    stop.set()
    writer.join()
    assert len(committed) > len(before)  # writing went on during the backup
    restored_url = database_url
    if not PG_URL:
        restored_url = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    restore(restored_url, target)
    counts = _counts(restored_url)
    assert before <= set(counts), "a transaction committed before the backup is missing"
    assert set(counts.values()) == {2}, "a transaction was restored half"
    assert set(counts) <= set(committed)


def test_the_backup_commands(app, database_url, tmp_path):
    runner = app.test_cli_runner()
    target = tmp_path / "cli.backup"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0 and "encryption keys are not in it" in result.output, result.output
    assert target.stat().st_size > 0
    refused = runner.invoke(args=["restore", str(target)], input="n\n")
    assert refused.exit_code != 0
    result = runner.invoke(args=["restore", str(target), "--yes"])
    assert result.exit_code == 0, result.output


def test_an_encrypted_backup_restores_with_its_passphrase_alone(
    app, database_url, tmp_path, monkeypatch, make_user
):
    person = make_user(Role.THERAPIST, name="Dr Backup")
    runner = app.test_cli_runner()
    target = tmp_path / "offsite" / "sealed.backup"
    monkeypatch.setenv("BACKUP_PASSPHRASE", "a long passphrase for the safe")
    result = runner.invoke(args=["backup", str(target), "--passphrase-env", "BACKUP_PASSPHRASE"])
    assert result.exit_code == 0 and "(encrypted)" in result.output, result.output
    data = target.read_bytes()
    assert data.startswith(b"BEDROCK-BACKUP-1") and b"SQLite format" not in data
    assert b"Dr Backup" not in data and b"PGDMP" not in data
    assert (target.stat().st_mode & 0o777) == 0o600
    assert (target.parent.stat().st_mode & 0o777) == 0o700
    bare = runner.invoke(args=["restore", str(target), "--yes"])
    assert bare.exit_code != 0 and "This backup is encrypted" in bare.output
    monkeypatch.setenv("WRONG", "not the passphrase at all")
    wrong = runner.invoke(args=["restore", str(target), "--yes", "--passphrase-env", "WRONG"])
    assert wrong.exit_code != 0 and "does not open this backup" in wrong.output
    with app.app_context():
        database.session().execute(sa.delete(User).where(User.id == person.id))
        database.session().commit()
    done = runner.invoke(
        args=["restore", str(target), "--yes", "--passphrase-env", "BACKUP_PASSPHRASE"]
    )
    assert done.exit_code == 0, done.output
    with app.app_context():
        assert database.session().get(User, person.id) is not None
    monkeypatch.setenv("SHORT", "short")
    short = runner.invoke(args=["backup", str(tmp_path / "x.backup"), "--passphrase-env", "SHORT"])
    assert short.exit_code != 0 and "at least 12 characters" in short.output
