"""notifications: the email outbox, reminder settings, reminder choices

Revision ID: 0006_notifications
Revises: 0005_sign_in_throttle
Create Date: 2026-11-29 07:43:23.585911
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import clinic.db

revision: str = "0006_notifications"
down_revision: str | None = "0005_sign_in_throttle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", clinic.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", clinic.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", clinic.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claim", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", clinic.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", clinic.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("secret", clinic.db.ClinicalText(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('invitation', 'reminder', 'digest', 'alert')",
            name=op.f("ck_notification_kind_known"),
        ),
        sa.CheckConstraint(
            "status <> 'sent' OR sent_at IS NOT NULL", name=op.f("ck_notification_sent_has_time")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'cancelled', 'expired')",
            name=op.f("ck_notification_status_known"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_notification_attempts_positive")),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practice.id"],
            name=op.f("fk_notification_practice_id_practice"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["user_account.id"],
            name=op.f("fk_notification_recipient_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint("key", name=op.f("uq_notification_key")),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_practice_status", ["practice_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notification_recipient_id"), ["recipient_id"], unique=False
        )
        batch_op.create_index(
            "ix_notification_status_next", ["status", "next_attempt_at"], unique=False
        )

    with op.batch_alter_table("practice", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "reminder_days", sa.String(length=40), server_default="-1,0,2", nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("reminder_window_days", sa.Integer(), server_default="7", nullable=False)
        )
        batch_op.add_column(
            sa.Column("quiet_from_hour", sa.Integer(), server_default="21", nullable=False)
        )
        batch_op.add_column(
            sa.Column("quiet_until_hour", sa.Integer(), server_default="8", nullable=False)
        )
        batch_op.add_column(
            sa.Column("digest_hour", sa.Integer(), server_default="7", nullable=False)
        )

    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reminders_wanted", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("reminders_allowed", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("reminders_allowed")
        batch_op.drop_column("reminders_wanted")

    with op.batch_alter_table("practice", schema=None) as batch_op:
        batch_op.drop_column("digest_hour")
        batch_op.drop_column("quiet_until_hour")
        batch_op.drop_column("quiet_from_hour")
        batch_op.drop_column("reminder_window_days")
        batch_op.drop_column("reminder_days")

    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_status_next")
        batch_op.drop_index(batch_op.f("ix_notification_recipient_id"))
        batch_op.drop_index("ix_notification_practice_status")

    op.drop_table("notification")
