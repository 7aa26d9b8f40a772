"""Tickets put straight into a store, for tests and benchmarks that start after processing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from mailbot.adapters.store import Store
from mailbot.core.parse import message_id_of, parse
from mailbot.domain import (
    Action,
    Classification,
    Decision,
    FetchedMail,
    OutgoingMail,
    Promise,
    TicketView,
)


def customer_raw(n: int, *, subject: str = "s", body: str = "hi") -> bytes:
    """A minimal customer mail from c<n>@customer.test with Message-ID <c<n>@x>."""
    return (
        f"From: c{n}@customer.test\r\nMessage-ID: <c{n}@x>\r\nSubject: {subject}\r\n\r\n{body}"
    ).encode()


def simple_ack(view: TicketView) -> OutgoingMail:
    """An acknowledgement without templates: Message-ID <REF.ack@example.test>."""
    mid = f"<{view.ref}.ack@example.test>"
    raw = f"Message-ID: {mid}\r\nSubject: ack {view.ref}\r\n\r\nok\r\n".encode()
    return OutgoingMail(mid, "support@example.test", (view.customer_address,), raw)


def seed_tickets(
    store: Store,
    raws: Sequence[bytes],
    *,
    now: datetime,
    category: str = "trading",
    urgency: str = "high",
    acknowledge: bool = True,
    first_uid: int = 1,
) -> list[str]:
    """Archive `raws` and open one ticket each (with an ack in the outbox); their refs."""
    mails = [FetchedMail("a", "INBOX", 1, first_uid + i, raw) for i, raw in enumerate(raws)]
    store.store_fetched("a", "INBOX", 1, mails, [message_id_of(r) for r in raws], now=now)
    refs = []
    for row in store.pending_inbox(len(raws)):
        due = now + timedelta(hours=4)
        promise = Promise(due, due + timedelta(hours=20), 4.0, True, "UTC", "seeded")
        decision = Decision(Action.NEW_TICKET, None, acknowledge, category, promise, ("seeded",))
        refs.append(
            store.open_ticket(
                row.id,
                parse(row.raw),
                Classification(category, urgency, "en", 0.9, "seed"),
                decision,
                received=now,
                now=now,
                needs_triage=False,
                render_ack=simple_ack if acknowledge else None,
            )
        )
    return refs
