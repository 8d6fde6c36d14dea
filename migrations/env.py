"""Alembic environment: the database URL comes from the app config (see clinic/cli.py)."""

from __future__ import annotations

from alembic import context

from clinic import models  # noqa: F401  (registers every table on Base.metadata)
from clinic.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # a caller (e.g. a test) lends its own connection
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    # Batch mode lets ALTERs work on SQLite, which rebuilds tables to change them: it copies a
    # table, drops the old one and renames the copy. With foreign keys enforced, dropping the
    # old table would delete (ON DELETE CASCADE) every row that refers to it, so enforcement
    # is off while migrating and the result is checked before it is switched on again. The
    # pragma only works outside a transaction, hence the driver connection.
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        # `flask db upgrade` prints each migration it runs (clinic.cli.run_migrations).
        on_version_apply=config.attributes.get("on_version_apply") or (),
    )
    try:
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(
                        f"the migration left rows without their parent: {broken[:5]}"
                    )
    finally:
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys = ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
