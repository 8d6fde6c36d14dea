"""measures: administrations, check-ins, alerts, practice settings

Revision ID: 0003_measures
Revises: 0002_plans
Create Date: 2026-11-29 05:38:20.157329
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import clinic.db

revision: str = "0003_measures"
down_revision: str | None = "0002_plans"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "administration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("instrument_code", sa.String(length=64), nullable=False),
        sa.Column("instrument_version", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(length=16), nullable=False),
        sa.Column("week", sa.Integer(), nullable=True),
        sa.Column("requested_at", clinic.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("completed_at", clinic.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("band", sa.String(length=64), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "slot IN ('baseline', 'midpoint', 'end', 'fortnightly', 'ad_hoc')",
            name=op.f("ck_administration_slot_known"),
        ),
        sa.CheckConstraint(
            "(completed_at IS NULL) = (total IS NULL)",
            name=op.f("ck_administration_completed_has_total"),
        ),
        sa.CheckConstraint(
            "week IS NULL OR week BETWEEN 1 AND 12", name=op.f("ck_administration_week_range")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["user_account.id"],
            name=op.f("fk_administration_client_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entered_by_id"],
            ["user_account.id"],
            name=op.f("fk_administration_entered_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plan.id"],
            name=op.f("fk_administration_plan_id_plan"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["user_account.id"],
            name=op.f("fk_administration_requested_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_administration")),
    )
    with op.batch_alter_table("administration", schema=None) as batch_op:
        batch_op.create_index(
            "ix_administration_client_code", ["client_id", "instrument_code"], unique=False
        )
        batch_op.create_index(
            "uq_administration_scheduled",
            ["plan_id", "week", "instrument_code"],
            unique=True,
            sqlite_where=sa.text("slot <> 'ad_hoc'"),
            postgresql_where=sa.text("slot <> 'ad_hoc'"),
        )

    op.create_table(
        "check_in",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("trust", sa.Integer(), nullable=False),
        sa.Column("distress", sa.Integer(), nullable=False),
        sa.Column("helpfulness", sa.Integer(), nullable=True),
        sa.Column("note", clinic.db.ClinicalText(), nullable=True),
        sa.Column("created_at", clinic.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("distress BETWEEN 0 AND 10", name=op.f("ck_check_in_distress_range")),
        sa.CheckConstraint(
            "helpfulness BETWEEN 0 AND 4", name=op.f("ck_check_in_helpfulness_range")
        ),
        sa.CheckConstraint("trust BETWEEN 0 AND 10", name=op.f("ck_check_in_trust_range")),
        sa.CheckConstraint("week BETWEEN 1 AND 12", name=op.f("ck_check_in_week_range")),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["user_account.id"],
            name=op.f("fk_check_in_client_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entered_by_id"],
            ["user_account.id"],
            name=op.f("fk_check_in_entered_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plan.id"], name=op.f("fk_check_in_plan_id_plan"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_in")),
        sa.UniqueConstraint("plan_id", "week", name=op.f("uq_check_in_plan_id_week")),
    )
    with op.batch_alter_table("check_in", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_check_in_client_id"), ["client_id"], unique=False)

    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("administration_id", sa.Integer(), nullable=True),
        sa.Column("check_in_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("opened_at", clinic.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", clinic.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("note", clinic.db.ClinicalText(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('item9', 'severe', 'deterioration', 'distress')",
            name=op.f("ck_alert_kind_known"),
        ),
        sa.CheckConstraint(
            "acknowledged_by_id IS NULL OR acknowledged_at IS NOT NULL",
            name=op.f("ck_alert_ack_has_time"),
        ),
        sa.CheckConstraint(
            "acknowledged_at IS NULL OR note IS NOT NULL", name=op.f("ck_alert_ack_has_note")
        ),
        sa.CheckConstraint(
            "administration_id IS NOT NULL OR check_in_id IS NOT NULL",
            name=op.f("ck_alert_has_source"),
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"],
            ["user_account.id"],
            name=op.f("fk_alert_acknowledged_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["administration_id"],
            ["administration.id"],
            name=op.f("fk_alert_administration_id_administration"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["check_in_id"],
            ["check_in.id"],
            name=op.f("fk_alert_check_in_id_check_in"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["user_account.id"],
            name=op.f("fk_alert_client_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert")),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index(
            "ix_alert_client_open", ["client_id", "acknowledged_at"], unique=False
        )

    with op.batch_alter_table("practice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("crisis_contacts", sa.Text(), nullable=True))
        # Existing practices keep the default: clients see their scores.
        batch_op.add_column(
            sa.Column("clients_see_scores", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("practice", schema=None) as batch_op:
        batch_op.drop_column("clients_see_scores")
        batch_op.drop_column("crisis_contacts")

    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_client_open")

    op.drop_table("alert")
    with op.batch_alter_table("check_in", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_check_in_client_id"))

    op.drop_table("check_in")
    with op.batch_alter_table("administration", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_administration_scheduled",
            sqlite_where=sa.text("slot <> 'ad_hoc'"),
            postgresql_where=sa.text("slot <> 'ad_hoc'"),
        )
        batch_op.drop_index("ix_administration_client_code")

    op.drop_table("administration")
