"""The store's promises on SQLite: idempotent archiving, one ticket per message, unique keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from mailbot.adapters.store import Store, dedupe_key
from mailbot.domain import (
    FetchedMail,
    InboxStatus,
)
from mailbot.testing.seed import seed_tickets

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def raw(mid: str | None, body: str = "hi") -> bytes:
    head = f"Message-ID: {mid}\r\n" if mid else ""
    return f"From: a@customer.test\r\nSubject: s\r\n{head}\r\n{body}".encode()


def fetched(uid: int, data: bytes, uidvalidity: int = 7) -> FetchedMail:
    return FetchedMail("acct", "INBOX", uidvalidity, uid, data)


def archive(store: Store, mails: list[FetchedMail], uidvalidity: int = 7) -> int:
    from mailbot.core.parse import message_id_of

    return store.store_fetched(
        "acct", "INBOX", uidvalidity, mails, [message_id_of(m.raw) for m in mails], now=NOW
    )


def test_migrations_match_the_tables(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_archiving_is_idempotent_and_dedupes(store: Store) -> None:
    batch = [
        fetched(1, raw("<a@x>")),
        fetched(2, raw("<a@x>")),
        fetched(3, raw(None)),
        fetched(4, raw(None)),
    ]
    assert archive(store, batch) == 2  # uid 2 repeats <a@x>; uid 4 repeats uid 3's bytes
    assert archive(store, batch) == 0  # the same UIDs again: nothing new
    assert store.mailbox_state("acct", "INBOX") == (7, 4)
    pending = store.pending_inbox(10)
    assert len(pending) == 2
    # A new UIDVALIDITY re-scans from 0, and Message-ID/raw-hash dedupe stops repeats.
    assert archive(store, [fetched(1, raw("<a@x>"), 8), fetched(2, raw("<b@x>"), 8)], 8) == 1
    assert store.mailbox_state("acct", "INBOX") == (8, 2)


def test_unfetchable_uids_are_quarantined_and_duplicates_say_why(store: Store) -> None:
    first = fetched(1, raw("<a@x>"))
    resent = fetched(2, b"Received: from elsewhere\r\n" + raw("<a@x>"))
    new = store.store_fetched(
        "acct",
        "INBOX",
        7,
        [first, resent],
        ["<a@x>", "<a@x>"],
        now=NOW,
        unfetchable=[(3, "IMAP UID FETCH: NO corrupt")],
    )
    assert new == 1
    assert store.mailbox_state("acct", "INBOX") == (7, 3)
    from sqlmodel import Session, col, select

    from mailbot.adapters.tables import InboxMessage

    with Session(store.engine) as s:
        rows = s.exec(select(InboxMessage).order_by(col(InboxMessage.uid))).all()
    assert [(r.uid, r.status) for r in rows] == [
        (1, InboxStatus.RECEIVED),
        (2, InboxStatus.DUPLICATE),
        (3, InboxStatus.QUARANTINED),
    ]
    assert "different bytes" in rows[1].reason and "#1" in rows[1].reason
    assert "NO corrupt" in rows[2].reason


def test_dedupe_key_prefers_message_id() -> None:
    assert dedupe_key("<a@x>", b"1") == dedupe_key("<a@x>", b"2")
    assert dedupe_key("", b"1") != dedupe_key("", b"2")


def open_one(store: Store, mid: str = "<a@x>") -> str:
    return seed_tickets(store, [raw(mid)], now=NOW)[0]


def test_ticket_ack_and_thread_index_in_one_commit(store: Store) -> None:
    ref = open_one(store)
    assert ref == "MB-000001"
    assert store.pending_inbox(10) == []
    by_id, by_ref = store.thread_lookup(["<a@x>", "<MB-000001.ack@example.test>"], ["MB-000001"])
    assert set(by_id) == {"<a@x>", "<MB-000001.ack@example.test>"}
    assert by_ref == {"MB-000001": (1, "a@customer.test")}
    due = store.due_outbox(NOW, 10)
    assert [d.message_id for d in due] == ["<MB-000001.ack@example.test>"]
    assert store.recent_acks_to("A@customer.test", NOW - timedelta(hours=1)) == 1


def test_outbox_states(store: Store) -> None:
    open_one(store)
    row = store.due_outbox(NOW, 10)[0]
    store.mark_retry(row.id, error="451 later", next_at=NOW + timedelta(minutes=1), now=NOW)
    assert store.due_outbox(NOW, 10) == []
    assert len(store.due_outbox(NOW + timedelta(minutes=1), 10)) == 1
    store.mark_sent(row.id, now=NOW)
    assert store.due_outbox(NOW + timedelta(days=1), 10) == []
    assert store.pending_outbox_count() == 0


def test_quarantine_keeps_the_reason(store: Store) -> None:
    archive(store, [fetched(1, raw("<q@x>"))])
    row = store.pending_inbox(1)[0]
    store.quarantine(row.id, "ValueError: broken", now=NOW)
    assert store.pending_inbox(10) == []
    from sqlmodel import Session, select

    from mailbot.adapters.tables import InboxMessage

    with Session(store.engine) as s:
        saved = s.exec(select(InboxMessage)).one()
    assert saved.status == InboxStatus.QUARANTINED and "broken" in saved.reason


def test_a_lease_has_one_holder_until_it_expires(store: Store) -> None:
    ttl = timedelta(seconds=10)
    assert store.acquire_lease("ingest:a/INBOX", "one", now=NOW, ttl=ttl)
    assert not store.acquire_lease("ingest:a/INBOX", "two", now=NOW + timedelta(seconds=5), ttl=ttl)
    assert store.acquire_lease("ingest:a/INBOX", "one", now=NOW + timedelta(seconds=9), ttl=ttl)
    # "one" renewed until +19 s; it dies; "two" takes over once that has passed.
    assert not store.acquire_lease(
        "ingest:a/INBOX", "two", now=NOW + timedelta(seconds=18), ttl=ttl
    )
    assert store.acquire_lease("ingest:a/INBOX", "two", now=NOW + timedelta(seconds=19), ttl=ttl)
    assert store.acquire_lease("process", "one", now=NOW, ttl=ttl)  # leases are per job
    store.release_lease("ingest:a/INBOX", "one")  # not the holder: nothing happens
    assert not store.acquire_lease(
        "ingest:a/INBOX", "one", now=NOW + timedelta(seconds=20), ttl=ttl
    )
    store.release_lease("ingest:a/INBOX", "two")
    assert store.acquire_lease("ingest:a/INBOX", "one", now=NOW + timedelta(seconds=20), ttl=ttl)


def test_claimed_outbox_rows_are_not_claimed_twice(store: Store) -> None:
    seed_tickets(store, [raw(f"<claim-{n}@x>") for n in range(6)], now=NOW)
    hold = timedelta(minutes=2)
    first = store.claim_outbox(NOW, 4, hold=hold)
    second = store.claim_outbox(NOW, 4, hold=hold)
    assert len(first) == 4 and len(second) == 2
    assert not {r.id for r in first} & {r.id for r in second}
    assert store.claim_outbox(NOW + timedelta(minutes=1), 10, hold=hold) == []
    store.mark_sent(first[0].id, now=NOW)
    # The claimer died: after the hold, the rows it did not finish are due again.
    assert len(store.claim_outbox(NOW + hold, 10, hold=hold)) == 5


def test_concurrent_claims_split_the_outbox(store: Store) -> None:
    from concurrent.futures import ThreadPoolExecutor

    seed_tickets(store, [raw(f"<many-{n}@x>") for n in range(60)], now=NOW)

    def claim_until_empty(_: int) -> list[int]:
        mine: list[int] = []
        while batch := store.claim_outbox(NOW, 7, hold=timedelta(minutes=2)):
            mine += [r.id for r in batch]
        return mine

    with ThreadPoolExecutor(6) as pool:
        claims = list(pool.map(claim_until_empty, range(6)))
    ids = [i for claim in claims for i in claim]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 60  # each row claimed exactly once
