"""what a message exposed: sealed raw archives, the secret kinds and lookalikes of a ticket

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 00:10:00

inbox.raw_state: "" (plain), "fernet" (encrypted: it held a secret) or "dropped".
ticket.exposed: comma-separated secret kinds the customer's mail contained (redacted).
ticket.lookalikes: comma-separated lookalike domains of a forwarded phishing mail.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("raw_state", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("exposed", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("lookalikes", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_column("lookalikes")
        batch_op.drop_column("exposed")
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_column("raw_state")
