"""Outbox delivery against a real aiosmtpd receiver: retry on 4xx/down, dead on 5xx, never twice."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session

from mailbot.adapters.sentjournal import SentJournal
from mailbot.adapters.smtp import SmtpSender, data_block
from mailbot.adapters.store import Store
from mailbot.clock import FrozenClock
from mailbot.domain import OutgoingMail
from mailbot.errors import TransientError
from mailbot.runners.outbox import OutboxSender
from mailbot.settings import SmtpSettings
from mailbot.testing.seed import customer_raw, seed_tickets
from mailbot.testing.servers import SmtpReceiver, free_port

START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def queue_acks(store: Store, count: int) -> None:
    seed_tickets(store, [customer_raw(i) for i in range(count)], now=START)


def sender_for(port: int) -> SmtpSender:
    return SmtpSender(
        SmtpSettings(
            host="127.0.0.1", port=port, tls="none", from_address="support@example.test", timeout=5
        )
    )


def drain(
    store: Store, smtp: SmtpSender, clock: FrozenClock, journal: SentJournal | None = None
) -> tuple[int, int]:
    """(sent, failed) of one drain, and what the journal holds committed after it."""

    async def go() -> tuple[int, int]:
        outbox = OutboxSender(store, smtp, clock, journal=journal)
        try:
            result = await outbox.drain_once()
            await outbox.record_sent()
            return result.sent, result.retry + result.dead
        finally:
            await smtp.close()

    return asyncio.run(go())


def test_receiver_down_then_up_delivers_each_exactly_once(store: Store) -> None:
    queue_acks(store, 3)
    clock = FrozenClock(START)
    port = free_port()
    # Nobody listening: the first row backs off and the drain stops instead of hammering.
    assert drain(store, sender_for(port), clock) == (0, 1)
    assert store.pending_outbox_count() == 3
    with SmtpReceiver(port=port) as receiver:
        assert drain(store, sender_for(port), clock) == (2, 0)  # row 1 still backing off
        clock.advance(timedelta(minutes=5))
        assert drain(store, sender_for(port), clock) == (1, 0)
        clock.advance(timedelta(hours=2))
        assert drain(store, sender_for(port), clock) == (0, 0)
        got = sorted(m.rcpt_tos[0] for m in receiver.messages)
    assert got == ["c0@customer.test", "c1@customer.test", "c2@customer.test"]


def test_4xx_retries_and_5xx_is_dead(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    queue_acks(store, 1)
    clock = FrozenClock(START)
    with SmtpReceiver() as receiver:
        receiver.reply_code = "451 4.3.0 try again later"
        assert drain(store, sender_for(receiver.port), clock) == (0, 1)
        assert store.pending_outbox_count() == 1
        receiver.reply_code = "550 5.1.1 no such user"
        clock.advance(timedelta(hours=1))
        assert drain(store, sender_for(receiver.port), clock) == (0, 1)
        assert store.pending_outbox_count() == 0
        receiver.reply_code = None
        clock.advance(timedelta(days=1))
        assert drain(store, sender_for(receiver.port), clock) == (0, 0)
        assert receiver.messages == []
    ticket = store.ticket("MB-000001")
    assert ticket is not None
    assert ticket[2][0].status == "dead" and "550" in ticket[2][0].last_error
    assert any("ALERT" in r.getMessage() for r in caplog.records)


class SlowEnvelopes:
    """aiosmtpd handler: RCPT takes `rcpt_delay` s, so that connections can overlap there, and
    the reply to a message's final dot `data_delay` s. On each final dot it checks, from the
    server's side, the rule of docs/delivery.md: every message accepted before this one is
    already committed as sent, i.e. at most one accepted message is ever unrecorded."""

    def __init__(
        self, db: Path, *, rcpt_delay: float, data_delay: float, journal: Path | None = None
    ) -> None:
        self.db, self.journal = db, journal
        self.rcpt_delay, self.data_delay = rcpt_delay, data_delay
        self.accepted: list[str] = []
        self.unrecorded_at_a_dot: list[int] = []  # accepted before, not committed as sent
        self.in_envelope = 0  # sessions between MAIL FROM and their final dot
        self.most_in_envelope = 0
        self.refuse_after: int | None = None  # EHLO/HELO of the sessions after that: 421
        self.sessions: list[Session] = []

    def _greet(self, session: Session, hostname: str) -> bool:
        if session not in self.sessions:
            self.sessions.append(session)
        if self.refuse_after is None or self.sessions.index(session) < self.refuse_after:
            session.host_name = hostname
            return True
        return False

    async def handle_EHLO(
        self,
        server: object,
        session: Session,
        envelope: object,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        return responses if self._greet(session, hostname) else ["421 4.7.0 too many connections"]

    async def handle_HELO(
        self, server: object, session: Session, envelope: object, hostname: str
    ) -> str:
        return "250 smtp.mailbot.test" if self._greet(session, hostname) else "421 4.7.0 too many"

    async def handle_MAIL(
        self, server: object, session: object, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        envelope.mail_from = address
        self.in_envelope += 1
        self.most_in_envelope = max(self.most_in_envelope, self.in_envelope)
        return "250 OK"

    async def handle_RCPT(
        self, server: object, session: object, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        await asyncio.sleep(self.rcpt_delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: object, session: object, envelope: Envelope) -> str:
        self.in_envelope -= 1
        with closing(sqlite3.connect(self.db)) as conn:
            rows = conn.execute("SELECT id FROM outbox WHERE status = 'sent'").fetchall()
        recorded = {outbox_id for (outbox_id,) in rows}
        if self.journal is not None and self.journal.exists():  # committed to the table later
            lines = self.journal.read_text("ascii").splitlines()
            recorded |= {int(line.split()[0]) for line in lines}
        self.unrecorded_at_a_dot.append(len(self.accepted) - len(recorded))
        self.accepted.append(str(envelope.rcpt_tos[0]))
        await asyncio.sleep(self.data_delay)  # the window, widened
        return "250 2.0.0 OK: queued"


@contextmanager
def slow_receiver(handler: SlowEnvelopes) -> Iterator[int]:
    port = free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, server_hostname="smtp.mailbot.test"
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def connections_for(port: int, connections: int) -> SmtpSender:
    settings = SmtpSettings(
        host="127.0.0.1",
        port=port,
        tls="none",
        from_address="support@example.test",
        timeout=5,
        connections=connections,
    )
    return SmtpSender(settings)


@pytest.mark.parametrize("journal", [False, True], ids=["marked-in-db", "sent-journal"])
@pytest.mark.parametrize("connections", [1, 4])
def test_connections_overlap_but_the_server_accepts_one_unrecorded_message_at_most(
    store: Store, tmp_path: Path, connections: int, journal: bool
) -> None:
    queue_acks(store, 24)
    path = tmp_path / "store.db-sent"
    handler = SlowEnvelopes(
        tmp_path / "store.db", rcpt_delay=0.05, data_delay=0.01, journal=path if journal else None
    )
    with slow_receiver(handler) as port:
        sent = drain(
            store,
            connections_for(port, connections),
            FrozenClock(START),
            SentJournal(path) if journal else None,
        )
    assert sent == (24, 0)
    assert sorted(handler.accepted) == sorted(f"c{i}@customer.test" for i in range(24))
    # When a message's final dot arrives, every message accepted before it is recorded.
    assert handler.unrecorded_at_a_dot == [0] * 24
    # Several envelopes were open at once with several connections; one with one.
    assert handler.most_in_envelope == (1 if connections == 1 else connections)
    assert store.pending_outbox_count() == 0
    if journal:  # committed to the table, then emptied
        assert path.stat().st_size == 0


def test_a_refused_extra_connection_leaves_the_rows_to_the_others(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    queue_acks(store, 12)
    handler = SlowEnvelopes(tmp_path / "store.db", rcpt_delay=0.01, data_delay=0.0)
    handler.refuse_after = 2  # e.g. a limit on connections per client
    with slow_receiver(handler) as port:
        assert drain(store, connections_for(port, 4), FrozenClock(START)) == (12, 0)
    assert sorted(handler.accepted) == sorted(f"c{i}@customer.test" for i in range(12))
    attempts = [
        r[0]
        for r in sqlite3.connect(tmp_path / "store.db").execute(
            "SELECT attempts FROM outbox WHERE status = 'sent'"
        )
    ]
    assert attempts == [1] * 12  # none was marked for a retry
    refused = [r for r in caplog.records if "refused, sending over the others" in r.getMessage()]
    assert len(refused) == 2


def test_the_body_arrives_as_written_dots_and_line_endings_included() -> None:
    raw = b"Subject: dots\n\n.leading dot\r\n..two\rlone CR\nlast line without newline"
    with SmtpReceiver() as receiver:

        async def go() -> None:
            connection = sender_for(receiver.port).connections[0]
            try:
                await connection.send(
                    OutgoingMail("<d@x>", "support@example.test", ("c@customer.test",), raw)
                )
            finally:
                await connection.close()

        asyncio.run(go())
        (got,) = receiver.messages
    assert data_block(raw) == (
        b"Subject: dots\r\n\r\n..leading dot\r\n...two\r\nlone CR\r\n"
        b"last line without newline\r\n.\r\n"
    )
    assert got.data == (
        b"Subject: dots\r\n\r\n.leading dot\r\n..two\r\nlone CR\r\nlast line without newline\r\n"
    )


def test_what_a_previous_run_left_in_the_journal_is_recorded_and_never_sent_again(
    store: Store, tmp_path: Path
) -> None:
    """The run that sent #2 died before its journal line was committed to the table."""
    queue_acks(store, 3)
    journal = SentJournal(tmp_path / "store.db-sent")
    assert journal.acquire()
    journal.record(2, START - timedelta(minutes=1))
    journal.close()
    with SmtpReceiver() as receiver:
        assert drain(store, sender_for(receiver.port), FrozenClock(START), journal) == (2, 0)
        got = sorted(m.rcpt_tos[0] for m in receiver.messages)
    assert got == ["c0@customer.test", "c2@customer.test"]
    assert store.pending_outbox_count() == 0
    with closing(sqlite3.connect(tmp_path / "store.db")) as conn:
        second = conn.execute("SELECT status, sent_at FROM outbox WHERE id = 2").fetchone()
    assert second[0] == "sent" and second[1].startswith("2026-11-22 08:59:00")
    assert journal.path.stat().st_size == 0


def test_a_journal_whose_lines_cannot_be_committed_keeps_them_and_sends_nothing(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue_acks(store, 3)
    journal = SentJournal(tmp_path / "store.db-sent")
    assert journal.acquire()
    journal.record(2, START)
    journal.close()

    def locked(_sent: object) -> None:
        raise TransientError("database is locked")

    with SmtpReceiver() as receiver:
        with monkeypatch.context() as patch:
            patch.setattr(store, "mark_sent_many", locked)
            outbox = OutboxSender(
                store, sender_for(receiver.port), FrozenClock(START), journal=journal
            )
            result = asyncio.run(outbox.drain_once())
            outbox.close()
        assert "locked" in result.database_error and result.sent == 0
        assert receiver.messages == [] and journal.path.read_text().startswith("2 ")
        assert drain(store, sender_for(receiver.port), FrozenClock(START), journal) == (2, 0)
        assert sorted(m.rcpt_tos[0] for m in receiver.messages) == [
            "c0@customer.test",
            "c2@customer.test",
        ]


def test_a_sender_without_the_journal_records_in_the_database_and_frees_no_claims(
    store: Store, tmp_path: Path
) -> None:
    """Two daemons on one SQLite file: the journal is the first one's; the second records
    in the table, and leaves the first one's claimed rows alone even when it has ended, until
    it holds the journal and has committed what the first one left in it."""
    queue_acks(store, 3)
    first = SentJournal(tmp_path / "store.db-sent")
    assert first.acquire()
    store.claim_outbox(START, 1, hold=timedelta(minutes=2), holder="first")  # row 1
    first.record(1, START)  # the first one sent row 1, then died before committing it
    everyone_gone = lambda _holder: True  # noqa: E731
    with SmtpReceiver() as receiver:

        async def second_drain() -> tuple[int, str]:
            smtp = sender_for(receiver.port)
            outbox = OutboxSender(
                store,
                smtp,
                FrozenClock(START),
                holder="second",
                gone=everyone_gone,
                journal=SentJournal(first.path),
            )
            try:
                result = await outbox.drain_once()
                return result.sent, result.database_error
            finally:
                outbox.close()
                await smtp.close()

        assert asyncio.run(second_drain()) == (2, "")  # rows 2 and 3; row 1 left claimed
        assert first.path.read_text().startswith("1 ")  # not emptied by the second
        first.close()  # the first process is gone, and its lock with it
        assert asyncio.run(second_drain()) == (0, "")  # row 1 committed from the journal
        assert sorted(m.rcpt_tos[0] for m in receiver.messages) == [
            "c1@customer.test",
            "c2@customer.test",
        ]
    assert store.pending_outbox_count() == 0


def test_a_journal_that_cannot_be_written_leaves_marking_sent_to_the_database(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue_acks(store, 2)

    def disk_full(self: SentJournal, outbox_id: int, at: datetime) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(SentJournal, "record", disk_full)
    journal = SentJournal(tmp_path / "store.db-sent")
    with SmtpReceiver() as receiver:
        assert drain(store, sender_for(receiver.port), FrozenClock(START), journal) == (2, 0)
        assert len(receiver.messages) == 2
    assert store.pending_outbox_count() == 0
    assert any("recording in the database" in r.getMessage() for r in caplog.records)


def test_a_journal_that_cannot_be_opened_pauses_sending(store: Store, tmp_path: Path) -> None:
    """What an earlier run left in it cannot be read: sending could repeat those."""
    queue_acks(store, 1)
    journal = SentJournal(tmp_path / "no-such-directory" / "store.db-sent")
    with SmtpReceiver() as receiver:
        outbox = OutboxSender(store, sender_for(receiver.port), FrozenClock(START), journal=journal)
        result = asyncio.run(outbox.drain_once())
        assert "sent journal" in result.database_error and result.blocked
        assert receiver.messages == []
    assert store.pending_outbox_count() == 1
