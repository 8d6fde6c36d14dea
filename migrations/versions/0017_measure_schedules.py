"""questionnaire schedules per client: the weeks a plan gives each instrument when the therapist
changes the program's schedule or adds a practice-supplied instrument, and the "scheduled" slot
for the weeks such a schedule adds

Revision ID: 0017_measure_schedules
Revises: 0015_key_check
Create Date: 2026-12-10 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_measure_schedules"
down_revision: str | None = "0015_key_check"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLOTS = ("baseline", "midpoint", "end", "fortnightly", "scheduled", "ad_hoc")
OLD_SLOTS = ("baseline", "midpoint", "end", "fortnightly", "ad_hoc")


def upgrade() -> None:
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "measure_schedules", sa.JSON(), nullable=False, server_default=sa.text("'{}'")
            )
        )
    with op.batch_alter_table("administration", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_administration_slot_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_administration_slot_known"), f"slot IN {SLOTS!r}")


def downgrade() -> None:
    # Answers given in a week only the client's own schedule added are kept, as if the
    # therapist had sent them (the older schema has no other slot for them).
    op.execute("UPDATE administration SET slot = 'ad_hoc' WHERE slot = 'scheduled'")
    with op.batch_alter_table("administration", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_administration_slot_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_administration_slot_known"), f"slot IN {OLD_SLOTS!r}"
        )
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_column("measure_schedules")
