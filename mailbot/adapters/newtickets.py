"""New tickets of a processing transaction, written together (SQLite).

Storing a ticket one message at a time cost a SAVEPOINT pair and eight statements a message.
On SQLite the processing transaction holds the one write lock from its BEGIN IMMEDIATE, so
the ids the next tickets get are known (the largest + 1, as SQLite would give them) and a
ticket's rows, its ref and its rendered acknowledgement can be made before they are written.
They wait here and go to the database in one statement per table (`write`), before anything
else is written in the transaction, so rows keep the order (and ids) they had. Until then the
lookups of later messages (threading, recent tickets, recent acknowledgements) see them
through `Pending` as they would see the rows.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from mailbot.adapters import statements as sql


@dataclass(frozen=True, slots=True)
class NewTicket:
    """One message's rows: its ticket, its ticket_message rows (the customer's, then our
    acknowledgement's), the acknowledgement in the outbox, the audit event, and how its inbox
    row is finished."""

    inbox_id: int
    ticket: dict[str, Any]
    messages: tuple[dict[str, Any], ...]
    outbox: dict[str, Any] | None
    audit: dict[str, Any]
    now: datetime
    sealed: tuple[bytes, str] | None  # replaces the inbox row's raw bytes (a secret was in it)

    @property
    def ticket_id(self) -> int:
        return int(self.ticket["id"])


class Unfinished(Exception):
    """An inbox row of the group was no longer "received" (someone else finished it)."""


def write(conn: Connection, group: Sequence[NewTicket]) -> None:
    """The group's rows, one statement per table, in the order they were made. Raises
    Unfinished (the caller rolls back) when not every inbox row could be finished."""
    conn.execute(sql.INSERT_TICKET, [t.ticket for t in group])
    conn.execute(sql.INSERT_MESSAGE, [m for t in group for m in t.messages])
    outbox = [t.outbox for t in group if t.outbox is not None]
    if outbox:
        conn.execute(sql.INSERT_OUTBOX, outbox)
    finished = conn.execute(
        sql.FINISH_INBOX,
        [{"p_id": t.inbox_id, "p_ticket_id": t.ticket_id, "p_at": t.now} for t in group],
    )
    if finished.rowcount != len(group):
        raise Unfinished(f"{len(group) - finished.rowcount} inbox row(s) already finished")
    for t in group:
        if t.sealed is not None:
            conn.execute(
                sql.SEAL_INBOX, {"p_id": t.inbox_id, "p_raw": t.sealed[0], "p_state": t.sealed[1]}
            )
    conn.execute(sql.INSERT_AUDIT, [t.audit for t in group])


class Pending:
    """New tickets made but not yet written, and what the lookups would find among them."""

    def __init__(self) -> None:
        self.tickets: list[NewTicket] = []

    def __len__(self) -> int:
        return len(self.tickets)

    def take(self) -> list[NewTicket]:
        group, self.tickets = self.tickets, []
        return group

    def by_message_id(self, message_ids: Collection[str], found: dict[str, int]) -> None:
        """As statements.TICKETS_BY_MESSAGE_ID would add them (later rows win)."""
        for t in self.tickets:
            for m in t.messages:
                if m["message_id"] in message_ids:
                    found[m["message_id"]] = t.ticket_id

    def by_ref(self, refs: Collection[str], found: dict[str, tuple[int, str]]) -> None:
        for t in self.tickets:
            if t.ticket["ref"] in refs:
                found[t.ticket["ref"]] = (t.ticket_id, t.ticket["customer_address"])

    def recent_tickets_from(
        self, address: str, since: datetime, found: list[tuple[int, str]], limit: int
    ) -> list[tuple[int, str]]:
        """`found` (statements.RECENT_TICKETS_FROM) with the pending ones: newest first."""
        mine = [
            (t.ticket_id, str(t.ticket["subject"]))
            for t in self.tickets
            if t.ticket["customer_address"] == address and t.ticket["received_at"] >= since
        ]
        if not mine:
            return found
        return sorted(mine + found, key=lambda row: row[0], reverse=True)[:limit]

    def recent_acks_to(self, address: str, since: datetime) -> int:
        """Pending rows statements.RECENT_ACKS_TO would count."""
        return sum(
            1
            for t in self.tickets
            if t.outbox is not None
            and t.outbox["kind"] == "ack"
            and t.outbox["recipients"] == address
            and t.outbox["created_at"] >= since
        )
