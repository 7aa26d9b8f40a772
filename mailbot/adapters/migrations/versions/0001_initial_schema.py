"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 18:08:11.291500
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mailbot.adapters.tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", mailbot.adapters.tables.UtcDateTime(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("inbox_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "escalation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("due_at", mailbot.adapters.tables.UtcDateTime(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("created_at", mailbot.adapters.tables.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "level", "due_at"),
    )
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_escalation_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("mailbox", sa.String(), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("dedupe_key", sa.String(), nullable=True),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("raw_sha256", sa.String(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("fetched_at", mailbot.adapters.tables.UtcDateTime(), nullable=False),
        sa.Column("processed_at", mailbot.adapters.tables.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account", "mailbox", "uidvalidity", "uid"),
        sa.UniqueConstraint("dedupe_key"),
    )
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbox_message_id"), ["message_id"], unique=False)
        batch_op.create_index("ix_inbox_status", ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbox_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "mailbox_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("mailbox", sa.String(), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account", "mailbox"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("sender", sa.String(), nullable=False),
        sa.Column("recipients", sa.String(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", mailbot.adapters.tables.UtcDateTime(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=False),
        sa.Column("created_at", mailbot.adapters.tables.UtcDateTime(), nullable=False),
        sa.Column("sent_at", mailbot.adapters.tables.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
        sa.UniqueConstraint("ticket_id", "kind", "seq"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "ticket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(), nullable=False),
        sa.Column("customer_address", sa.String(), nullable=False),
        sa.Column("customer_name", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("urgency", sa.String(), nullable=False),
        sa.Column("language", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("needs_triage", sa.Boolean(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("model_version", sa.String(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("received_at", mailbot.adapters.tables.UtcDateTime(), nullable=False),
        sa.Column("first_response_due", mailbot.adapters.tables.UtcDateTime(), nullable=False),
        sa.Column("first_response_at", mailbot.adapters.tables.UtcDateTime(), nullable=True),
        sa.Column("resolved_at", mailbot.adapters.tables.UtcDateTime(), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("created_at", mailbot.adapters.tables.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ref"),
    )
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_customer_address"), ["customer_address"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ticket_first_response_due"), ["first_response_due"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ticket_status"), ["status"], unique=False)

    op.create_table(
        "ticket_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("inbox_id", sa.Integer(), nullable=True),
        sa.Column("from_address", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", mailbot.adapters.tables.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ticket_message", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_message_message_id"), ["message_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ticket_message_ticket_id"), ["ticket_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("ticket_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_message_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_ticket_message_message_id"))

    op.drop_table("ticket_message")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_status"))
        batch_op.drop_index(batch_op.f("ix_ticket_first_response_due"))
        batch_op.drop_index(batch_op.f("ix_ticket_customer_address"))

    op.drop_table("ticket")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_due")

    op.drop_table("outbox")
    op.drop_table("mailbox_state")
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_ticket_id"))
        batch_op.drop_index("ix_inbox_status")
        batch_op.drop_index(batch_op.f("ix_inbox_message_id"))

    op.drop_table("inbox")
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_ticket_id"))

    op.drop_table("escalation")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_audit_event_kind"))
        batch_op.drop_index(batch_op.f("ix_audit_event_at"))

    op.drop_table("audit_event")
