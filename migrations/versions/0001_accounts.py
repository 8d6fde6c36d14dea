"""accounts: practice, users, care, invitations

Revision ID: 0001_accounts
Revises:
Create Date: 2026-11-29 05:01:04.201441
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import clinic.db

revision: str = "0001_accounts"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "practice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("created_at", clinic.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("display_name", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.Column("created_at", clinic.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_sign_in_at", clinic.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("session_token", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "role = 'client' OR email IS NOT NULL", name=op.f("ck_user_account_staff_have_email")
        ),
        sa.CheckConstraint(
            "role IN ('admin', 'therapist', 'client')", name=op.f("ck_user_account_role_known")
        ),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_user_account_email_lowercase")),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practice.id"],
            name=op.f("fk_user_account_practice_id_practice"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("email", name=op.f("uq_user_account_email")),
        sa.UniqueConstraint("session_token", name=op.f("uq_user_account_session_token")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "care",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("therapist_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("started_at", clinic.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", clinic.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_reason", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "ended_at IS NULL OR ended_at >= started_at", name=op.f("ck_care_ends_after_start")
        ),
        sa.CheckConstraint("therapist_id <> client_id", name=op.f("ck_care_distinct_people")),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["user_account.id"],
            name=op.f("fk_care_client_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["therapist_id"],
            ["user_account.id"],
            name=op.f("fk_care_therapist_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care")),
    )
    with op.batch_alter_table("care", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_care_therapist_id"), ["therapist_id"], unique=False)
        batch_op.create_index(
            "uq_care_one_open_per_client",
            ["client_id"],
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )

    op.create_table(
        "invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", clinic.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", clinic.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", clinic.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", clinic.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "expires_at > created_at", name=op.f("ck_invitation_expires_after_creation")
        ),
        sa.CheckConstraint(
            "used_at IS NULL OR revoked_at IS NULL", name=op.f("ck_invitation_used_or_revoked")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_invitation_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_invitation_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitation_token_hash")),
    )
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invitation_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitation_user_id"))

    op.drop_table("invitation")
    with op.batch_alter_table("care", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_care_one_open_per_client",
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_care_therapist_id"))

    op.drop_table("care")
    op.drop_table("user_account")
    op.drop_table("practice")
