"""New tickets of a processing transaction: written together on SQLite, one at a time when
that fails; what later messages of the same transaction see of them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from mailbot.adapters.store import AlreadyProcessed, Batch, Store
from mailbot.adapters.tables import AuditEvent, InboxMessage, Outbox, Ticket
from mailbot.clock import FrozenClock
from mailbot.core.parse import message_id_of, parse
from mailbot.core.render import make_message_id
from mailbot.domain import (
    Action,
    Classification,
    Decision,
    FetchedMail,
    InboxStatus,
    OutboxStatus,
    PendingInbox,
    Promise,
)
from mailbot.testing.seed import customer_raw, simple_ack
from tests.contract.test_processing import processor

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def archive(store: Store, raws: list[bytes], first_uid: int = 1) -> list[PendingInbox]:
    mails = [FetchedMail("a", "INBOX", 1, first_uid + i, r) for i, r in enumerate(raws)]
    store.store_fetched("a", "INBOX", 1, mails, [message_id_of(r) for r in raws], now=NOW)
    return store.pending_inbox(100)


def new_ticket(tx: Batch, row: PendingInbox) -> str:
    due = NOW + timedelta(hours=4)
    promise = Promise(due, due + timedelta(hours=20), 4.0, True, "UTC", "test")
    decision = Decision(Action.NEW_TICKET, None, True, "trading", promise, ("test",))
    return tx.open_ticket(
        row.id,
        parse(row.raw),
        Classification("trading", "high", "en", 0.9, "test"),
        decision,
        received=NOW,
        now=NOW,
        needs_triage=False,
        render_ack=simple_ack,
    )


def open_ticket(tx: Batch, row: PendingInbox) -> str:
    with tx.item():
        return new_ticket(tx, row)


def states(store: Store) -> dict[int, tuple[str, int | None, str]]:
    with Session(store.engine) as s:
        rows = s.exec(select(InboxMessage).order_by(col(InboxMessage.id))).all()
        return {r.id or 0: (r.status, r.ticket_id, r.reason) for r in rows}


def refs(store: Store) -> list[str]:
    with Session(store.engine) as s:
        return [t.ref for t in s.exec(select(Ticket).order_by(col(Ticket.id))).all()]


def take_ack_message_id(store: Store, message_id: str) -> None:
    """An outbox row already holding `message_id`: the unique key a new ticket's ack clashes on."""
    with Session(store.engine) as s:
        s.add(
            Outbox(
                ticket_id=999,
                kind="ack",
                seq=1,
                message_id=message_id,
                sender="support@example.test",
                recipients="someone@else.test",
                raw=b"",
                status=OutboxStatus.SENT,
                next_attempt_at=NOW,
                created_at=NOW,
            )
        )
        s.commit()


def test_later_messages_see_the_batchs_own_new_tickets(store: Store) -> None:
    """Threading and the acknowledgement limit count tickets of the same transaction, before
    and after they are written, alike."""
    [first, _] = archive(store, [customer_raw(1), customer_raw(2)])
    hour_ago = NOW - timedelta(hours=1)
    ids = ["<c1@x>", "<MB-000001.ack@example.test>", "<nothing@x>"]

    def lookups(tx: Batch | Store) -> object:
        return (
            tx.thread_lookup(ids, ["MB-000001", "MB-000002"]),
            tx.recent_tickets_from("C1@customer.test", hour_ago),
            tx.recent_tickets_from("c1@customer.test", NOW + timedelta(seconds=1)),
            tx.recent_acks_to("c1@customer.test", hour_ago),
            tx.recent_acks_to("c2@customer.test", hour_ago),
        )

    with store.batch() as tx:
        assert open_ticket(tx, first) == "MB-000001"
        with tx.item():
            seen_in_batch = lookups(tx)
        failed = tx.commit()
    assert failed == {}
    by_id = {"<c1@x>": 1, "<MB-000001.ack@example.test>": 1}
    expected: object = ((by_id, {"MB-000001": (1, "c1@customer.test")}), [(1, "s")], [], 1, 0)
    assert seen_in_batch == expected
    assert lookups(store) == expected


def test_one_bad_row_among_the_batchs_new_tickets_is_quarantined_alone(store: Store) -> None:
    """Ticket 2's acknowledgement collides with an outbox row (unique Message-ID): written
    together the batch fails, so each is written alone and only that one is quarantined."""
    rows = archive(store, [customer_raw(n) for n in (1, 2, 3)])
    take_ack_message_id(store, "<MB-000002.ack@example.test>")
    failed: dict[int, Exception] = {}
    with store.batch() as tx:
        for row in rows:
            try:
                open_ticket(tx, row)
            except Exception as exc:  # PostgreSQL writes at once: the item fails by itself
                failed[row.id] = exc
                with tx.item():
                    tx.quarantine(row.id, f"{exc.__class__.__name__}: {exc}", now=NOW)
        failed |= tx.commit()
    assert list(failed) == [rows[1].id]
    status = states(store)
    assert status[rows[0].id][:2] == (InboxStatus.PROCESSED, 1)
    assert status[rows[1].id][0] == InboxStatus.QUARANTINED
    assert status[rows[1].id][2].startswith("IntegrityError: ")
    assert status[rows[2].id][:2] == (InboxStatus.PROCESSED, 3)
    assert refs(store) == ["MB-000001", "MB-000003"]
    with Session(store.engine) as s:
        acks = s.exec(select(Outbox.ticket_id).where(Outbox.status == OutboxStatus.PENDING))
        assert sorted(acks.all()) == [1, 3]
        audit = s.exec(select(AuditEvent.kind, AuditEvent.inbox_id).order_by(col(AuditEvent.id)))
        assert sorted(audit.all(), key=lambda a: a[1] or 0) == [
            ("ticket_opened", rows[0].id),
            ("quarantined", rows[1].id),
            ("ticket_opened", rows[2].id),
        ]


# SQLite only: PostgreSQL writes each new ticket at once (tests/integration/test_multi_instance.py)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_row_finished_meanwhile_is_left_alone_and_the_rest_written(store: Store) -> None:
    """Someone else finished inbox row 3 before the batch wrote its new tickets: row 3 gets
    no ticket and no acknowledgement (it is not quarantined either), row 2 is written."""
    assert store.engine.dialect.name == "sqlite"
    rows = archive(store, [customer_raw(n) for n in (1, 2, 3)])
    with store.batch() as tx:
        open_ticket(tx, rows[0])
        with tx.item():  # an immediate write: the waiting ticket 1 is written before it
            tx.apply(
                lambda s: s.connection().execute(
                    update(InboxMessage)
                    .where(col(InboxMessage.id) == rows[2].id)
                    .values(status=InboxStatus.PROCESSED)
                )
            )
        open_ticket(tx, rows[1])
        open_ticket(tx, rows[2])
        failed = tx.commit()
    assert list(failed) == [rows[2].id] and isinstance(failed[rows[2].id], AlreadyProcessed)
    status = states(store)
    assert [status[r.id][:2] for r in rows] == [
        (InboxStatus.PROCESSED, 1),
        (InboxStatus.PROCESSED, 2),
        (InboxStatus.PROCESSED, None),
    ]
    assert refs(store) == ["MB-000001", "MB-000002"]


def test_the_processor_quarantines_only_the_bad_message_of_a_batch(store: Store) -> None:
    """End to end through Processor: the batch's other messages get their tickets and acks,
    the bad one its quarantine row; each message ends in exactly one state."""
    clock = FrozenClock(NOW)
    proc = processor(store, clock)
    archive(store, [customer_raw(0, subject="warm-up")])
    asyncio.run(proc.process_pending())  # templates compiled: the next three are one batch
    clash = make_message_id("MB-000003", "ack", 1, "example.test")
    take_ack_message_id(store, clash)
    subjects = ("Order stuck", "Fees question", "API key")
    rows = archive(store, [customer_raw(n, subject=sub) for n, sub in enumerate(subjects, 1)], 2)
    assert asyncio.run(proc.process_pending()) == 3
    status = states(store)
    assert [status[r.id][0] for r in rows] == [
        InboxStatus.PROCESSED,
        InboxStatus.QUARANTINED,
        InboxStatus.PROCESSED,
    ]
    assert status[rows[1].id][2].startswith("IntegrityError: ")
    assert status[rows[0].id][1] == 2 and status[rows[2].id][1] == 4
    assert refs(store) == ["MB-000001", "MB-000002", "MB-000004"]
    assert store.pending_inbox(10) == []
    with Session(store.engine) as s:
        acks = s.exec(select(Outbox.ticket_id).where(Outbox.status == OutboxStatus.PENDING))
        assert sorted(acks.all()) == [1, 2, 4]


def test_a_failing_item_takes_its_new_ticket_and_later_writes_with_it(store: Store) -> None:
    """An item that fails after making its new ticket and writing something else leaves
    nothing behind, and the next ticket gets the id it would have had."""
    rows = archive(store, [customer_raw(n) for n in (1, 2)])
    with store.batch() as tx:
        with pytest.raises(RuntimeError), tx.item():
            new_ticket(tx, rows[0])
            tx.quarantine(rows[1].id, "written after the item's own ticket", now=NOW)
            raise RuntimeError("the item fails")
        # PostgreSQL's sequence does not give back an id that was rolled back.
        number = 1 if store.engine.dialect.name == "sqlite" else 2
        assert open_ticket(tx, rows[1]) == f"MB-00000{number}"
        assert tx.commit() == {}
    status = states(store)
    assert status[rows[0].id][:2] == (InboxStatus.RECEIVED, None)
    assert status[rows[1].id][:2] == (InboxStatus.PROCESSED, number)
    assert refs(store) == [f"MB-00000{number}"]
    with Session(store.engine) as s:
        assert [a.kind for a in s.exec(select(AuditEvent)).all()] == ["ticket_opened"]
