"""not on track: the progress signal (PHQ-9/GAD-7 above the expected path) and its checklist

Revision ID: 0021_not_on_track
Revises: 0020_goals
Create Date: 2026-12-01 06:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import clinic.db

revision: str = "0021_not_on_track"
down_revision: str | None = "0020_goals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "progress_signal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("instrument_code", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("administration_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("updated_on", sa.Date(), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("checklist", clinic.db.ClinicalJSON(), nullable=True),
        sa.Column("reviewed_at", clinic.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", clinic.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('open', 'reviewed', 'resolved')", name=op.f("ck_progress_signal_state_known")
        ),
        sa.CheckConstraint(
            "instrument_code IN ('phq9', 'gad7')",
            name=op.f("ck_progress_signal_instrument_tracked"),
        ),
        sa.CheckConstraint(
            "(state = 'resolved') = (resolved_on IS NOT NULL)",
            name=op.f("ck_progress_signal_resolved_has_date"),
        ),
        sa.CheckConstraint(
            "(reviewed_at IS NULL) = (checklist IS NULL)",
            name=op.f("ck_progress_signal_reviewed_has_checklist"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["user_account.id"],
            name=op.f("fk_progress_signal_client_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plan.id"],
            name=op.f("fk_progress_signal_plan_id_plan"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["administration_id"],
            ["administration.id"],
            name=op.f("fk_progress_signal_administration_id_administration"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["user_account.id"],
            name=op.f("fk_progress_signal_reviewed_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_progress_signal")),
    )
    op.create_index("ix_progress_signal_plan_id", "progress_signal", ["plan_id"])
    op.create_index("ix_progress_signal_client_state", "progress_signal", ["client_id", "state"])
    op.create_index(
        "uq_progress_signal_standing",
        "progress_signal",
        ["plan_id", "instrument_code"],
        unique=True,
        sqlite_where=sa.text("state <> 'resolved'"),
        postgresql_where=sa.text("state <> 'resolved'"),
    )


def downgrade() -> None:
    op.drop_table("progress_signal")
