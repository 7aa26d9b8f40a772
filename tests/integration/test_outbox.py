"""Outbox delivery against a real aiosmtpd receiver: retry on 4xx/down, dead on 5xx, never twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from mailbot.adapters.smtp import SmtpSender
from mailbot.adapters.store import Store
from mailbot.clock import FrozenClock
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


def drain(store: Store, smtp: SmtpSender, clock: FrozenClock) -> tuple[int, int]:
    """(sent, failed) of one drain."""

    async def go() -> tuple[int, int]:
        try:
            result = await OutboxSender(store, smtp, clock).drain_once()
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
