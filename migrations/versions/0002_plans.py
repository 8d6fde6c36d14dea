"""plans, assignments, submissions

Revision ID: 0002_plans
Revises: 0001_accounts
Create Date: 2026-11-29 05:13:58.588236
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import clinic.db

revision: str = "0002_plans"
down_revision: str | None = "0001_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "content_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", clinic.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('program', 'worksheet')", name=op.f("ck_content_snapshot_kind_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_snapshot")),
        sa.UniqueConstraint(
            "kind", "key", "version", name=op.f("uq_content_snapshot_kind_key_version")
        ),
    )
    op.create_table(
        "plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("started_by_id", sa.Integer(), nullable=True),
        sa.Column("program_key", sa.String(length=64), nullable=False),
        sa.Column("program_version", sa.Integer(), nullable=False),
        sa.Column("first_session", sa.Date(), nullable=False),
        sa.Column("session_weekday", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("paused_on", sa.Date(), nullable=True),
        sa.Column("paused_days", sa.Integer(), nullable=False),
        sa.Column("created_at", clinic.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", clinic.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'paused') = (paused_on IS NOT NULL)", name=op.f("ck_plan_paused_has_date")
        ),
        sa.CheckConstraint(
            "status IN ('active', 'paused', 'finished')", name=op.f("ck_plan_status_known")
        ),
        sa.CheckConstraint("paused_days >= 0", name=op.f("ck_plan_paused_days_positive")),
        sa.CheckConstraint("session_weekday BETWEEN 0 AND 6", name=op.f("ck_plan_weekday_range")),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["user_account.id"],
            name=op.f("fk_plan_client_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["started_by_id"],
            ["user_account.id"],
            name=op.f("fk_plan_started_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan")),
    )
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.create_index(
            "uq_plan_one_open_per_client",
            ["client_id"],
            unique=True,
            sqlite_where=sa.text("status <> 'finished'"),
            postgresql_where=sa.text("status <> 'finished'"),
        )

    op.create_table(
        "assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("worksheet_key", sa.String(length=64), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("instruction", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", clinic.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", clinic.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("week BETWEEN 1 AND 12", name=op.f("ck_assignment_week_range")),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plan.id"], name=op.f("fk_assignment_plan_id_plan"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment")),
    )
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assignment_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answers", clinic.db.ClinicalJSON(), nullable=False),
        sa.Column("worksheet_version", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", clinic.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("saved_at", clinic.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", clinic.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_at", clinic.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("completion", sa.String(length=8), nullable=True),
        sa.Column("quality", sa.Integer(), nullable=True),
        sa.Column("feedback", clinic.db.ClinicalText(), nullable=True),
        sa.CheckConstraint(
            "completion IN ('none', 'some', 'most', 'all')",
            name=op.f("ck_submission_completion_known"),
        ),
        sa.CheckConstraint(
            "status <> 'reviewed' OR reviewed_at IS NOT NULL",
            name=op.f("ck_submission_reviewed_has_time"),
        ),
        sa.CheckConstraint(
            "status = 'draft' OR submitted_at IS NOT NULL",
            name=op.f("ck_submission_submitted_has_time"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'submitted', 'reviewed')", name=op.f("ck_submission_status_known")
        ),
        sa.CheckConstraint("quality BETWEEN 0 AND 4", name=op.f("ck_submission_quality_range")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_submission_version_positive")),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignment.id"],
            name=op.f("fk_submission_assignment_id_assignment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["user_account.id"],
            name=op.f("fk_submission_client_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["user_account.id"],
            name=op.f("fk_submission_reviewed_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission")),
        sa.UniqueConstraint("assignment_id", name=op.f("uq_submission_assignment_id")),
    )
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_submission_client_id"), ["client_id"], unique=False)

    op.create_table(
        "submission_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("answers", clinic.db.ClinicalJSON(), nullable=False),
        sa.Column("saved_at", clinic.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("saved_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["saved_by_id"],
            ["user_account.id"],
            name=op.f("fk_submission_revision_saved_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
            name=op.f("fk_submission_revision_submission_id_submission"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission_revision")),
    )
    with op.batch_alter_table("submission_revision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_submission_revision_submission_id"), ["submission_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("submission_revision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submission_revision_submission_id"))

    op.drop_table("submission_revision")
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submission_client_id"))

    op.drop_table("submission")
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignment_plan_id"))

    op.drop_table("assignment")
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_plan_one_open_per_client",
            sqlite_where=sa.text("status <> 'finished'"),
            postgresql_where=sa.text("status <> 'finished'"),
        )

    op.drop_table("plan")
    op.drop_table("content_snapshot")
