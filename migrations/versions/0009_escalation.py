"""escalate alerts nobody acknowledged in time: the practice's response time, its safety
contacts, when an alert was escalated, and the escalation email; the practice's domestic abuse
helplines for the client's "Need help now?" page; alerts raised by a flagged worksheet answer; structured acknowledgement; alert grades

Revision ID: 0009_escalation
Revises: 0008_erasure
Create Date: 2026-12-01 01:30:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import clinic.db

revision: str = "0009_escalation"
down_revision: str | None = "0008_erasure"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("invitation", "reminder", "digest", "alert", "escalation")
OLD_KINDS = ("invitation", "reminder", "digest", "alert")
ALERT_KINDS = ("item9", "severe", "deterioration", "distress", "red_flag")
OLD_ALERT_KINDS = ("item9", "severe", "deterioration", "distress")


def upgrade() -> None:
    with op.batch_alter_table("practice", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("alert_response_hours", sa.Integer(), nullable=False, server_default="24")
        )
        batch_op.add_column(sa.Column("abuse_helplines", sa.Text(), nullable=True))
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("safety_contact", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("escalated_at", clinic.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("submission_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("grade", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("risk_review", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("safety_plan", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("contact", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("contacted_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("next_step", clinic.db.ClinicalText(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_alert_submission_id_submission"),
            "submission",
            ["submission_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.drop_constraint(op.f("ck_alert_kind_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_alert_kind_known"), f"kind IN {ALERT_KINDS!r}")
        batch_op.drop_constraint(op.f("ck_alert_has_source"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_alert_has_source"),
            "administration_id IS NOT NULL OR check_in_id IS NOT NULL OR submission_id IS NOT NULL",
        )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notification_kind_known"), type_="check")
        batch_op.create_check_constraint(op.f("ck_notification_kind_known"), f"kind IN {KINDS!r}")
    _grade_existing_alerts()


def _grade_existing_alerts() -> None:
    """Alerts raised before grades existed get theirs: the item-9 answer (answers are plain
    JSON) and the check-in's distress rating."""
    conn = op.get_bind()
    item9 = conn.execute(
        sa.text(
            "SELECT alert.id, administration.answers FROM alert JOIN administration "
            "ON administration.id = alert.administration_id WHERE alert.kind = 'item9'"
        )
    ).all()
    for alert_id, answers in item9:
        data = json.loads(answers) if isinstance(answers, str) else (answers or {})
        value = data.get("9")
        if isinstance(value, int):
            conn.execute(
                sa.text("UPDATE alert SET grade = :grade WHERE id = :id"),
                {"grade": value, "id": alert_id},
            )
    conn.execute(
        sa.text(
            "UPDATE alert SET grade = (SELECT distress FROM check_in "
            "WHERE check_in.id = alert.check_in_id) WHERE kind = 'distress'"
        )
    )


def downgrade() -> None:
    op.execute("DELETE FROM notification WHERE kind = 'escalation'")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notification_kind_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_notification_kind_known"), f"kind IN {OLD_KINDS!r}"
        )
    op.execute("DELETE FROM alert WHERE submission_id IS NOT NULL")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_alert_has_source"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_alert_has_source"), "administration_id IS NOT NULL OR check_in_id IS NOT NULL"
        )
        batch_op.drop_constraint(op.f("ck_alert_kind_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_alert_kind_known"), f"kind IN {OLD_ALERT_KINDS!r}"
        )
        batch_op.drop_constraint(op.f("fk_alert_submission_id_submission"), type_="foreignkey")
        batch_op.drop_column("submission_id")
        batch_op.drop_column("grade")
        for name in ("next_step", "contacted_on", "contact", "safety_plan", "risk_review"):
            batch_op.drop_column(name)
        batch_op.drop_column("escalated_at")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("safety_contact")
    with op.batch_alter_table("practice", schema=None) as batch_op:
        batch_op.drop_column("abuse_helplines")
        batch_op.drop_column("alert_response_hours")
