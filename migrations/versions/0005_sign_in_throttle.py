"""sign-in throttle

Revision ID: 0005_sign_in_throttle
Revises: 0004_notes_audit
Create Date: 2026-11-29 06:24:37.463081
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import clinic.db

revision: str = "0005_sign_in_throttle"
down_revision: str | None = "0004_notes_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_throttle",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", clinic.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", clinic.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_throttle")),
    )


def downgrade() -> None:
    op.drop_table("sign_in_throttle")
