"""erasure without a clinical read by the admin: the admin asks, the therapist downloads the
record, the admin erases (the export columns are filled by the therapist's download)

Revision ID: 0013_erasure_request
Revises: 0012_discharge
Create Date: 2026-12-01 04:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import clinic.db

revision: str = "0013_erasure_request"
down_revision: str | None = "0012_discharge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("erasure", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("requested_at", clinic.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("requested_by_id", sa.Integer(), nullable=True))
        batch_op.alter_column(
            "exported_at", existing_type=clinic.db.UTCDateTime(timezone=True), nullable=True
        )
        batch_op.alter_column("exported_by_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("export_sha256", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column(
            "record_fingerprint", existing_type=sa.String(length=64), nullable=True
        )
        batch_op.create_check_constraint(
            op.f("ck_erasure_erased_after_export"), "erased_at IS NULL OR export_sha256 IS NOT NULL"
        )
    # Erasures before this were asked for and exported by the same admin at the same moment.
    op.execute("UPDATE erasure SET requested_at = exported_at, requested_by_id = exported_by_id")


def downgrade() -> None:
    op.execute("DELETE FROM erasure WHERE export_sha256 IS NULL")
    with op.batch_alter_table("erasure", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_erasure_erased_after_export"), type_="check")
        batch_op.alter_column(
            "record_fingerprint", existing_type=sa.String(length=64), nullable=False
        )
        batch_op.alter_column("export_sha256", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("exported_by_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column(
            "exported_at", existing_type=clinic.db.UTCDateTime(timezone=True), nullable=False
        )
        batch_op.drop_column("requested_by_id")
        batch_op.drop_column("requested_at")
