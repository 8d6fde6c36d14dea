"""the suitability and safety screen before a plan starts: screens (answers encrypted), the
screen a plan follows, and screen definitions among the content snapshots

Revision ID: 0010_screen
Revises: 0009_escalation
Create Date: 2026-12-01 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import clinic.db

revision: str = "0010_screen"
down_revision: str | None = "0009_escalation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTCOMES = ("suitable", "with_changes", "not_suitable")


def upgrade() -> None:
    op.create_table(
        "screen",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("therapist_id", sa.Integer(), nullable=True),
        sa.Column("screened_on", sa.Date(), nullable=False),
        sa.Column("content_key", sa.String(length=64), nullable=False),
        sa.Column("content_version", sa.Integer(), nullable=False),
        sa.Column("answers", clinic.db.ClinicalJSON(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("week_changes", sa.JSON(), nullable=False),
        sa.Column("created_at", clinic.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"outcome IN {OUTCOMES!r}", name=op.f("ck_screen_outcome_known")),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["user_account.id"],
            name=op.f("fk_screen_client_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["therapist_id"],
            ["user_account.id"],
            name=op.f("fk_screen_therapist_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screen")),
    )
    op.create_index("ix_screen_client_date", "screen", ["client_id", "screened_on"])
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.add_column(sa.Column("screen_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_plan_screen_id_screen"), "screen", ["screen_id"], ["id"], ondelete="SET NULL"
        )
    with op.batch_alter_table("content_snapshot", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_content_snapshot_kind_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_content_snapshot_kind_known"), "kind IN ('program', 'worksheet', 'screen')"
        )


def downgrade() -> None:
    op.execute("DELETE FROM content_snapshot WHERE kind = 'screen'")
    with op.batch_alter_table("content_snapshot", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_content_snapshot_kind_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_content_snapshot_kind_known"), "kind IN ('program', 'worksheet')"
        )
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_plan_screen_id_screen"), type_="foreignkey")
        batch_op.drop_column("screen_id")
    op.drop_index("ix_screen_client_date", table_name="screen")
    op.drop_table("screen")
