"""measures that fit the client: battery measures a plan leaves out, the client's own words for
"[problem]" in the WSAS items, and what a questionnaire total is out of when an item did not apply

Revision ID: 0011_measures_fit
Revises: 0010_screen
Create Date: 2026-12-08 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import clinic.db

revision: str = "0011_measures_fit"
down_revision: str | None = "0010_screen"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "left_out_measures", sa.JSON(), nullable=False, server_default=sa.text("'[]'")
            )
        )
        batch_op.add_column(sa.Column("problem_wording", clinic.db.ClinicalText(), nullable=True))
    with op.batch_alter_table("administration", schema=None) as batch_op:
        batch_op.add_column(sa.Column("out_of", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("administration", schema=None) as batch_op:
        batch_op.drop_column("out_of")
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_column("problem_wording")
        batch_op.drop_column("left_out_measures")
