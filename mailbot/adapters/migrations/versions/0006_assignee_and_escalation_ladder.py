"""assignee, next escalation check, escalation target and webhook

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mailbot.adapters.tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TS = mailbot.adapters.tables.UtcDateTime


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignee", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("next_escalation_at", _TS(), nullable=True))
        batch_op.create_index(batch_op.f("ix_ticket_next_escalation_at"), ["next_escalation_at"])
    # Open tickets are looked at by the next scan, which works out their real next time.
    op.execute("UPDATE ticket SET next_escalation_at = received_at WHERE status = 'open'")

    # The unique key gains the target (first response or resolution): a new table, rows copied.
    op.create_table(
        "escalation_new",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False, server_default="first_response"),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("due_at", _TS(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("created_at", _TS(), nullable=False),
        sa.Column("webhook", sa.Text(), nullable=False, server_default=""),
        sa.Column("webhook_sent_at", _TS(), nullable=True),
        sa.Column("webhook_error", sa.Text(), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "target", "level", "due_at"),
    )
    op.execute(
        "INSERT INTO escalation_new (id, ticket_id, level, due_at, reason, created_at) "
        "SELECT id, ticket_id, level, due_at, reason, created_at FROM escalation"
    )
    op.drop_table("escalation")
    op.rename_table("escalation_new", "escalation")
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_escalation_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    op.create_table(
        "escalation_old",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("due_at", _TS(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("created_at", _TS(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "level", "due_at"),
    )
    op.execute(
        "INSERT INTO escalation_old (id, ticket_id, level, due_at, reason, created_at) "
        "SELECT id, ticket_id, level, due_at, reason, created_at FROM escalation "
        "WHERE target = 'first_response'"
    )
    op.drop_table("escalation")
    op.rename_table("escalation_old", "escalation")
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_escalation_ticket_id"), ["ticket_id"], unique=False)
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_next_escalation_at"))
        batch_op.drop_column("next_escalation_at")
        batch_op.drop_column("assignee")
