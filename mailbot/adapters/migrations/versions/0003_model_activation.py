"""model activation

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 19:53:14.919065
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mailbot.adapters.tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "model_activation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("activated_at", mailbot.adapters.tables.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:

    op.drop_table("model_activation")
