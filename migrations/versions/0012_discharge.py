"""the discharge written when a plan is finished: reason, risk at discharge, recommendations

Revision ID: 0012_discharge
Revises: 0011_measures_fit
Create Date: 2026-12-01 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import clinic.db

revision: str = "0012_discharge"
down_revision: str | None = "0011_measures_fit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.add_column(sa.Column("discharge_reason", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("discharge_risk", clinic.db.ClinicalText(), nullable=True))
        batch_op.add_column(
            sa.Column("discharge_recommendations", clinic.db.ClinicalText(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_column("discharge_recommendations")
        batch_op.drop_column("discharge_risk")
        batch_op.drop_column("discharge_reason")
