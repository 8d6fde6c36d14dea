"""record erasures (export, then erase, with a reason)

Revision ID: 0008_erasure
Revises: 0007_mfa
Create Date: 2026-11-29 08:09:53.045934
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import clinic.db

revision: str = "0008_erasure"
down_revision: str | None = "0007_mfa"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erasure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("client_number", sa.Integer(), nullable=False),
        sa.Column("exported_at", clinic.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("exported_by_id", sa.Integer(), nullable=False),
        sa.Column("export_sha256", sa.String(length=64), nullable=False),
        sa.Column("record_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("erased_at", clinic.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("erased_by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "erased_at IS NULL OR (reason IS NOT NULL AND erased_by_id IS NOT NULL)",
            name=op.f("ck_erasure_erased_has_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practice.id"],
            name=op.f("fk_erasure_practice_id_practice"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure")),
    )
    with op.batch_alter_table("erasure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_erasure_practice_id"), ["practice_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("erasure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erasure_practice_id"))

    op.drop_table("erasure")
