"""Backups taken while the app writes restore every committed transaction, whole."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from clinic.backup import backup, restore
from clinic.db import make_engine
from clinic.models import AuditEvent

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
