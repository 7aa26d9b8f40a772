"""ticket resolution due time

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 21:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mailbot.adapters.tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("resolution_due", mailbot.adapters.tables.UtcDateTime(), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_ticket_resolution_due"), ["resolution_due"])


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_resolution_due"))
        batch_op.drop_column("resolution_due")
