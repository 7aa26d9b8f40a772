"""ticket message new text and attachments

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 19:31:30.813222
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table("ticket_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("new_text", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(
            sa.Column("attachments", sa.Text(), server_default="[]", nullable=False)
        )


def downgrade() -> None:

    with op.batch_alter_table("ticket_message", schema=None) as batch_op:
        batch_op.drop_column("attachments")
        batch_op.drop_column("new_text")
