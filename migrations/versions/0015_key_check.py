"""key check: which secret and encryption keys the database was written with (HMACs)

Revision ID: 0015_key_check
Revises: 0014_discreet_emails
Create Date: 2026-12-09 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import clinic.db

revision: str = "0015_key_check"
down_revision: str | None = "0014_discreet_emails"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The row is written by `db upgrade` (or the first start) with the app's keys: a migration
    # never sees them.
    op.create_table(
        "key_check",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("secret_check", sa.String(length=64), nullable=False),
        sa.Column("encryption_checks", sa.Text(), nullable=False),
        sa.Column("updated_at", clinic.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_key_check_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_check")),
    )


def downgrade() -> None:
    op.drop_table("key_check")
