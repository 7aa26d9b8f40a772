"""ticket.promise_start and last_response_at: a ticket re-opened by its customer gets a new promise

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 23:50:00

promise_start is when the current promise began (NULL: at received_at); last_response_at is
the latest agent reply, so the first-response chain of a re-opened ticket runs until an agent
answers again, while first_response_at keeps the first answer for reports.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mailbot.adapters.tables

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("promise_start", mailbot.adapters.tables.UtcDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_response_at", mailbot.adapters.tables.UtcDateTime(), nullable=True)
        )
    op.execute("UPDATE ticket SET last_response_at = first_response_at")


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_column("last_response_at")
        batch_op.drop_column("promise_start")
