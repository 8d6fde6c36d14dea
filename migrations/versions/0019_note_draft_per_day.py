"""one draft note per client, therapist and session date (a partial unique index)

Revision ID: 0019_note_draft_per_day
Revises: 0018_retention
Create Date: 2026-12-10 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_note_draft_per_day"
down_revision: str | None = "0018_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DRAFT = sa.text("status = 'draft'")


def _untouched_duplicates(conn: sa.Connection) -> list[int]:
    """Drafts that repeat another draft of the same client, therapist and date and were never
    saved (version 1: their text is only what the record filled in, nothing a person wrote).
    Earlier versions made one on every click of "Start today's note". In a group of untouched
    drafts the newest stays."""
    rows = conn.execute(
        sa.text(
            "SELECT id, client_id, therapist_id, session_date, version FROM session_note "
            "WHERE status = 'draft' AND therapist_id IS NOT NULL "
            "ORDER BY client_id, therapist_id, session_date, version DESC, id DESC"
        )
    ).all()
    groups: dict[tuple[int, int, object], list[tuple[int, int]]] = {}
    for note_id, client_id, therapist_id, day, version in rows:
        groups.setdefault((client_id, therapist_id, day), []).append((note_id, version))
    drop = []
    for members in groups.values():
        keep, *rest = members  # the most edited, then the newest
        drop += [note_id for note_id, version in rest if version == 1]
        left = [m for m in rest if m[1] != 1]
        if left:
            raise RuntimeError(
                f"Note {keep[0]} and note(s) {', '.join(str(m[0]) for m in left)} are drafts of "
                "the same client's session on the same date, each with its own text. Open them "
                "from the client's session notes, keep one (sign the others, or copy their text "
                "into it and sign), then run `flask --app clinic db upgrade` again."
            )
    return drop


def upgrade() -> None:
    conn = op.get_bind()
    drop = _untouched_duplicates(conn)
    if drop:
        table = sa.table("session_note", sa.column("id"))
        revision_table = sa.table("session_note_revision", sa.column("note_id"))
        op.execute(revision_table.delete().where(revision_table.c.note_id.in_(drop)))
        op.execute(table.delete().where(table.c.id.in_(drop)))
    with op.batch_alter_table("session_note", schema=None) as batch_op:
        batch_op.create_index(
            "uq_session_note_one_draft",
            ["client_id", "therapist_id", "session_date"],
            unique=True,
            sqlite_where=DRAFT,
            postgresql_where=DRAFT,
        )


def downgrade() -> None:
    with op.batch_alter_table("session_note", schema=None) as batch_op:
        batch_op.drop_index("uq_session_note_one_draft")
