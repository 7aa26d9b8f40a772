"""SQLModel tables. Every state change of a message is a row update in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Index, LargeBinary, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UtcDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: SQLite has no time zones, PostgreSQL does."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing to store a naive datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _u32(default: int | None = None) -> Any:
    """IMAP UIDs and UIDVALIDITY are unsigned 32-bit: too big for PostgreSQL's INTEGER."""
    return Field(default=default, sa_column=Column(BigInteger, nullable=False))


def _ts(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UtcDateTime(), nullable=nullable, index=index))


class MailboxState(SQLModel, table=True):
    __tablename__ = "mailbox_state"
    __table_args__ = (UniqueConstraint("account", "mailbox"),)

    id: int | None = Field(default=None, primary_key=True)
    account: str
    mailbox: str
    uidvalidity: int = _u32()
    last_uid: int = _u32(0)


class InboxMessage(SQLModel, table=True):
    """Raw bytes of every fetched message and where it stands."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("account", "mailbox", "uidvalidity", "uid"),
        Index("ix_inbox_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account: str
    mailbox: str
    uidvalidity: int = _u32()
    uid: int = _u32()
    # "mid:<Message-ID>" or "sha256:<hex of raw>"; NULL on rows that repeat an earlier message.
    dedupe_key: str | None = Field(default=None, unique=True)
    message_id: str = Field(default="", index=True)
    raw_sha256: str
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # "" plain; "fernet" / "dropped" once processing found a secret in it (adapters/archive.py)
    raw_state: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    size: int
    status: str
    reason: str = ""
    duplicate_of: int | None = None
    ticket_id: int | None = Field(default=None, index=True)
    fetched_at: datetime = _ts()
    processed_at: datetime | None = _ts(nullable=True)


class Ticket(SQLModel, table=True):
    __tablename__ = "ticket"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(unique=True)
    customer_address: str = Field(index=True)
    customer_name: str = ""
    subject: str = ""
    category: str
    urgency: str
    language: str
    status: str = Field(index=True)
    needs_triage: bool = False
    confidence: float = 0.0
    model_version: str = ""
    explanation: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    received_at: datetime = _ts()
    first_response_due: datetime = _ts(index=True)
    resolution_due: datetime | None = _ts(nullable=True, index=True)  # None: before 0005
    first_response_at: datetime | None = _ts(nullable=True)
    resolved_at: datetime | None = _ts(nullable=True)
    escalation_level: int = 0
    created_at: datetime = _ts()
    assignee: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # When the escalation scan should look at this ticket next; NULL once nothing can fire.
    next_escalation_at: datetime | None = _ts(nullable=True, index=True)
    # When the current promise began: NULL for the first (received_at); a customer's
    # follow-up that re-opens a resolved ticket starts a new one (migration 0010).
    promise_start: datetime | None = _ts(nullable=True)
    # The latest agent reply; first_response_at keeps the first one, for reports.
    last_response_at: datetime | None = _ts(nullable=True)
    # Secret kinds the customer's mail exposed (redacted before storing), comma-separated.
    exposed: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # Lookalike domains found in a forwarded phishing mail, comma-separated.
    lookalikes: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class TicketMessage(SQLModel, table=True):
    """A message of a ticket: the customer's, or one we sent. Message-IDs drive threading."""

    __tablename__ = "ticket_message"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(index=True)
    direction: str  # "in" | "out"
    kind: str  # "customer" | "follow_up" | "ack" | "escalation"
    message_id: str = Field(default="", index=True)
    inbox_id: int | None = None
    from_address: str = ""
    subject: str = ""
    body: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # The customer's new text without quoted history and signature (body keeps everything).
    new_text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # JSON list of {"filename", "content_type", "size"}.
    attachments: str = Field(
        default="[]", sa_column=Column(Text, nullable=False, server_default="[]")
    )
    created_at: datetime = _ts()


class Outbox(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("ticket_id", "kind", "seq"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # The per-sender acknowledgement rate limit asks this for every new message.
        Index("ix_outbox_recipients_created", "recipients", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int
    kind: str
    seq: int
    message_id: str = Field(unique=True)
    sender: str
    recipients: str  # comma-separated addr-specs
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: str
    attempts: int = 0
    next_attempt_at: datetime = _ts()
    last_error: str = ""
    created_at: datetime = _ts()
    sent_at: datetime | None = _ts(nullable=True)
    # The instance (runners.leases.instance_name) whose claim holds a pending row, or "".
    claimed_by: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class EscalationRow(SQLModel, table=True):
    __tablename__ = "escalation"
    __table_args__ = (UniqueConstraint("ticket_id", "target", "level", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(index=True)
    # "first_response" | "resolution"; level 0 is the warning before the due time.
    target: str = Field(
        default="first_response",
        sa_column=Column(Text, nullable=False, server_default="first_response"),
    )
    level: int
    due_at: datetime = _ts()
    reason: str = ""
    created_at: datetime = _ts()
    webhook: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    webhook_sent_at: datetime | None = _ts(nullable=True)
    webhook_error: str = Field(
        default="", sa_column=Column(Text, nullable=False, server_default="")
    )


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(index=True)
    kind: str = Field(index=True)
    ticket_id: int | None = Field(default=None, index=True)
    inbox_id: int | None = None
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class ModelActivation(SQLModel, table=True):
    """Which classifier is active: the newest row. Kept in the database so that every
    instance on it agrees, and so that rollback knows what was active before."""

    __tablename__ = "model_activation"

    id: int | None = Field(default=None, primary_key=True)
    version: str
    path: str
    action: str = "promote"  # "promote" pushes a version; "rollback" returns to the one before
    activated_at: datetime = _ts()


class TicketLabel(SQLModel, table=True):
    """An operator's correction of a ticket's classification (newest wins); training data."""

    __tablename__ = "ticket_label"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(index=True)
    category: str
    urgency: str
    labelled_at: datetime = _ts()


class Lease(SQLModel, table=True):
    """Who does a job that only one instance may do at a time (ingest a mailbox, process,
    scan), until when. A holder that dies stops renewing; another takes over at expiry."""

    __tablename__ = "lease"

    name: str = Field(primary_key=True)
    holder: str
    expires_at: datetime = _ts()
