"""Whether the database's schema is the one this code expects (the newest Alembic revision).

Read without Alembic (web workers never load it, clinic.cli): the newest revisions are found by
reading `revision` and `down_revision` from the files in migrations/versions, and the
database's own from its alembic_version table. Used by the commands' guard, `doctor` and
/readyz."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache

import sqlalchemy as sa

from . import resource_dir

UPGRADE_HINT = (
    "The database has no tables yet (or is behind): run `flask --app clinic db upgrade` first."
)


@dataclass(frozen=True)
class SchemaState:
    """The revisions the code expects and those the database is at."""

    expected: frozenset[str]
    current: frozenset[str]

    @property
    def at_head(self) -> bool:
        return bool(self.current) and self.current == self.expected

    @property
    def empty(self) -> bool:
        return not self.current


def _names(node: ast.expr | None) -> list[str]:
    if node is None:
        return []
    value = ast.literal_eval(node)
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


@cache
def expected_revisions() -> frozenset[str]:
    """The newest revisions (heads) of the migrations shipped with this code."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((resource_dir("migrations") / "versions").glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            target: ast.expr
            value: ast.expr | None
            if isinstance(node, ast.AnnAssign):
                target, value = node.target, node.value
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
            else:
                continue
            if not isinstance(target, ast.Name):
                continue
            if target.id == "revision":
                revisions.update(_names(value))
            elif target.id == "down_revision":
                parents.update(_names(value))
    return frozenset(revisions - parents)


def current_revisions(conn: sa.Connection) -> frozenset[str]:
    """The revisions recorded in the database (none for a database without the table)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return frozenset()
    return frozenset(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())


def state(engine: sa.Engine) -> SchemaState:
    """Where the database's schema stands; connection errors are raised as they come."""
    with engine.connect() as conn:
        return SchemaState(expected_revisions(), current_revisions(conn))
