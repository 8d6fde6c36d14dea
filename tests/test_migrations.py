"""Migrations build the schema from nothing, agree with the models, and go back down."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from clinic import create_app
from clinic.cli import alembic_config
from clinic.db import Base, make_engine

from .conftest import PG_URL


@pytest.fixture
def empty_database_url(tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A database with nothing in it: a new SQLite file, or a new PostgreSQL database."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    name = f"bedrock_migrations_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _diff(url: str) -> list:  # type: ignore[type-arg]
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_from_nothing_matches_the_models_and_downgrade_empties(
    tmp_path, empty_database_url
):
    app = create_app({"DATABASE_URL": empty_database_url, "SECRET_KEY": "x" * 32})
    with app.app_context():
        cfg = alembic_config()
        command.upgrade(cfg, "head")
        assert _tables(empty_database_url) == set(Base.metadata.tables)
        assert _diff(empty_database_url) == [], "models and migrations disagree: write a migration"
        command.downgrade(cfg, "base")
        assert _tables(empty_database_url) == set()
        command.upgrade(cfg, "head")  # and back up again
        assert _diff(empty_database_url) == []


def test_the_documented_cli_commands_upgrade_and_downgrade(empty_database_url):
    app = create_app({"DATABASE_URL": empty_database_url, "SECRET_KEY": "x" * 32})
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert _tables(empty_database_url) == set(Base.metadata.tables)
    result = runner.invoke(args=["db", "downgrade", "base"])
    assert result.exit_code == 0, result.output
    assert _tables(empty_database_url) == set()


def test_the_app_never_calls_create_all():
    from pathlib import Path

    import clinic

    for path in Path(clinic.__file__).parent.rglob("*.py"):
        assert "create_all" not in path.read_text(encoding="utf-8"), path


def test_upgrading_a_database_in_use_keeps_every_row(empty_database_url):
    """Later migrations rebuild tables on SQLite (batch mode); the rows that refer to them
    must survive (with foreign keys enforced, dropping the old table would cascade)."""
    app = create_app({"DATABASE_URL": empty_database_url, "SECRET_KEY": "x" * 32})
    with app.app_context():
        cfg = alembic_config()
        command.upgrade(cfg, "0005_sign_in_throttle")
        engine = make_engine(empty_database_url)
        tables = ("practice", "user_account", "care", "plan", "assignment")
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO practice (id, name, is_demo, time_zone, created_at, "
                "clients_see_scores) VALUES (1, 'P', false, 'UTC', CURRENT_TIMESTAMP, true)"
            )
            for uid, role, email in ((1, "therapist", "t@example.org"), (2, "client", None)):
                conn.exec_driver_sql(
                    "INSERT INTO user_account (id, practice_id, role, email, display_name, "
                    "active, created_at, session_token) VALUES "
                    f"({uid}, 1, '{role}', {repr(email) if email else 'NULL'}, 'Person {uid}', "
                    f"true, CURRENT_TIMESTAMP, 'token-{uid}')"
                )
            conn.exec_driver_sql(
                "INSERT INTO care (id, therapist_id, client_id, started_at) "
                "VALUES (1, 1, 2, CURRENT_TIMESTAMP)"
            )
            conn.exec_driver_sql(
                "INSERT INTO plan (id, client_id, program_key, program_version, first_session, "
                "session_weekday, status, paused_days, created_at) VALUES "
                "(1, 2, 'trust12', 1, '2026-01-05', 0, 'active', 0, CURRENT_TIMESTAMP)"
            )
            conn.exec_driver_sql(
                "INSERT INTO assignment (id, plan_id, week, worksheet_key, due_on, position, "
                "created_at) VALUES (1, 1, 1, 'trust_history', '2026-01-11', 0, CURRENT_TIMESTAMP)"
            )
            # An item-9 alert from before alerts had grades (0009 grades it from the answer).
            conn.exec_driver_sql(
                "INSERT INTO administration (id, client_id, plan_id, instrument_code, "
                "instrument_version, slot, week, requested_at, completed_at, answers, total) "
                "VALUES (1, 2, 1, 'phq9', 1, 'baseline', 1, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP, '{\"9\": 3}', 20)"
            )
            conn.exec_driver_sql(
                "INSERT INTO alert (id, client_id, kind, administration_id, detail, opened_at) "
                "VALUES (1, 2, 'item9', 1, 'PHQ-9 item 9 answered 3 (of 3)', CURRENT_TIMESTAMP)"
            )
        command.upgrade(cfg, "head")
        with engine.connect() as conn:
            counts = {t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar() for t in tables}
            grade = conn.exec_driver_sql("SELECT grade FROM alert WHERE id = 1").scalar()
        engine.dispose()
    assert counts == {"practice": 1, "user_account": 2, "care": 1, "plan": 1, "assignment": 1}
    assert grade == 3


def _two_people_at(url: str, revision: str):  # type: ignore[no-untyped-def]
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x" * 32})
    with app.app_context():
        command.upgrade(alembic_config(), revision)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO practice (id, name, is_demo, time_zone, created_at, "
            "clients_see_scores) VALUES (1, 'P', false, 'UTC', CURRENT_TIMESTAMP, true)"
        )
        for uid, role, email in ((1, "therapist", "t@example.org"), (2, "client", None)):
            conn.exec_driver_sql(
                "INSERT INTO user_account (id, practice_id, role, email, display_name, "
                "active, created_at, session_token) VALUES "
                f"({uid}, 1, '{role}', {repr(email) if email else 'NULL'}, 'Person {uid}', "
                f"true, CURRENT_TIMESTAMP, 'token-{uid}')"
            )
    return app, engine


def _draft(conn, note_id: int, version: int) -> None:  # type: ignore[no-untyped-def]
    conn.exec_driver_sql(
        "INSERT INTO session_note (id, client_id, therapist_id, session_date, duration_minutes, "
        "attendance, format, status, version, created_at, updated_at) VALUES "
        f"({note_id}, 2, 1, '2026-03-02', 50, 'attended', 'in_person', 'draft', {version}, "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )


def test_the_one_draft_migration_drops_only_untouched_repeats(empty_database_url):
    """Earlier versions made a draft on every click of "Start today's note": repeats nobody
    saved go; the draft the therapist wrote in stays; two written drafts stop the upgrade
    with a message that says what to do."""
    app, engine = _two_people_at(empty_database_url, "0018_retention")
    with engine.begin() as conn:
        _draft(conn, 1, 1)
        _draft(conn, 2, 3)  # saved twice: the therapist wrote in it
        _draft(conn, 3, 1)
    with app.app_context():
        command.upgrade(alembic_config(), "0019_note_draft_per_day")
    with engine.connect() as conn:
        assert [r[0] for r in conn.exec_driver_sql("SELECT id FROM session_note")] == [2]
    with app.app_context():
        command.downgrade(alembic_config(), "0018_retention")
    with engine.begin() as conn:
        _draft(conn, 4, 2)
    with app.app_context(), pytest.raises(RuntimeError, match="same client's session"):
        command.upgrade(alembic_config(), "0019_note_draft_per_day")
    engine.dispose()
