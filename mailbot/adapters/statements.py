"""The per-message SQL of processing, built once.

A statement object built for every call costs more CPU than SQLite spends running it:
`.values({...})` coerces each value into a bind parameter, and the new object's cache key is
computed again before the compiled form is found (bench/README.md: ~1.5 ms a message for the
six inserts and updates of a new ticket). These are built at import, with bind parameters,
and executed as `conn.execute(STATEMENT, {params})`; their compiled forms stay in the engine's
cache. Parameter names start with "p_" where a column of the same name is set (SQLAlchemy
reserves the column names in SET clauses).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, bindparam, func, select

from mailbot.adapters.tables import AuditEvent, InboxMessage, Outbox, Ticket, TicketMessage
from mailbot.domain import InboxStatus, OutboxStatus


def _t(model: type[Any]) -> Any:
    return model.__table__


TICKETS = _t(Ticket)
MESSAGES = _t(TicketMessage)
OUTBOX = _t(Outbox)
AUDIT = _t(AuditEvent)
INBOX = _t(InboxMessage)

INSERT_INBOX = INBOX.insert()
INSERT_TICKET = TICKETS.insert()
SET_TICKET_REF = (
    TICKETS.update().where(TICKETS.c.id == bindparam("p_id")).values(ref=bindparam("p_ref"))
)
INSERT_MESSAGE = MESSAGES.insert()
INSERT_OUTBOX = OUTBOX.insert()
INSERT_AUDIT = AUDIT.insert()

# Finishing an inbox row is conditional: of two instances finishing the same row, the second
# waits for the first's row lock (PostgreSQL), then finds the condition false and changes
# nothing; on SQLite the write lock orders them the same way.
FINISH_INBOX = (
    INBOX.update()
    .where(INBOX.c.id == bindparam("p_id"), INBOX.c.status == InboxStatus.RECEIVED)
    .values(
        status=InboxStatus.PROCESSED,
        ticket_id=bindparam("p_ticket_id"),
        processed_at=bindparam("p_at"),
    )
)
# Marking an acknowledgement sent, right after the server's 250 (Store.mark_sent): the
# statement is in the duplicate window, so it is built once like the others.
MARK_SENT = (
    OUTBOX.update()
    .where(OUTBOX.c.id == bindparam("p_id"))
    .values(status=OutboxStatus.SENT, sent_at=bindparam("p_at"), attempts=OUTBOX.c.attempts + 1)
)
# Only once: a row folded again from the sent journal keeps its first time and attempts.
MARK_SENT_IF_PENDING = MARK_SENT.where(OUTBOX.c.status != OutboxStatus.SENT)
INBOX_STATUS = select(INBOX.c.status).where(INBOX.c.id == bindparam("p_id"))

# The thread and loop lookups (one of each per message).
TICKETS_BY_MESSAGE_ID = select(MESSAGES.c.message_id, MESSAGES.c.ticket_id).where(
    MESSAGES.c.message_id.in_(bindparam("p_ids", expanding=True))
)
TICKETS_BY_REF = select(TICKETS.c.ref, TICKETS.c.id, TICKETS.c.customer_address).where(
    TICKETS.c.ref.in_(bindparam("p_refs", expanding=True))
)
RECENT_TICKETS_FROM = (
    select(TICKETS.c.id, TICKETS.c.subject)
    .where(
        TICKETS.c.customer_address == bindparam("p_address"),
        TICKETS.c.received_at >= bindparam("p_since"),
    )
    .order_by(TICKETS.c.id.desc())
    .limit(bindparam("p_limit", type_=Integer))
)
RECENT_ACKS_TO = (
    select(func.count())
    .select_from(OUTBOX)
    .where(
        OUTBOX.c.kind == "ack",
        OUTBOX.c.recipients == bindparam("p_address"),
        OUTBOX.c.created_at >= bindparam("p_since"),
    )
)
# A message that held a secret: its raw bytes are replaced in the same transaction.
SEAL_INBOX = (
    INBOX.update()
    .where(INBOX.c.id == bindparam("p_id"))
    .values(raw=bindparam("p_raw"), raw_state=bindparam("p_state"))
)
MAX_TICKET_ID = select(func.coalesce(func.max(TICKETS.c.id), 0))
