"""ticket labels

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 19:57:33.057584
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mailbot.adapters.tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "ticket_label",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("urgency", sa.String(), nullable=False),
        sa.Column("labelled_at", mailbot.adapters.tables.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ticket_label", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_label_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("ticket_label", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_label_ticket_id"))

    op.drop_table("ticket_label")
