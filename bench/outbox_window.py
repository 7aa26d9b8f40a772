#!/usr/bin/env python3
"""How long is the duplicate window? Time from the SMTP server's 250 to the committed 'sent' mark.

A crash inside that window is the only way an acknowledgement goes out twice. This sends N
acknowledgements through the real OutboxSender into a real aiosmtpd receiver, with the real
SQLite store (WAL, synchronous=FULL), and prints the distribution of the window. The sender
here has no sent journal: this is the UPDATE path (PostgreSQL's, and SQLite's when the journal
cannot be written); bench/outbox_window_busy.py measures the daemon as it runs, journal and all.

    .venv/bin/python bench/outbox_window.py [N] [CONNECTIONS] [DELAY_MS]

N acknowledgements (default 500) over CONNECTIONS (default: smtp.connections' default);
DELAY_MS > 0 makes the receiver answer MAIL, RCPT and the final dot that much later, like a
server across a network.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from mailbot.adapters.db import make_engine, migrate
from mailbot.adapters.smtp import SmtpConnection, SmtpSender
from mailbot.adapters.store import Store
from mailbot.clock import SystemClock
from mailbot.domain import OutgoingMail
from mailbot.runners.outbox import OutboxSender
from mailbot.settings import SmtpSettings
from mailbot.testing.seed import customer_raw, seed_tickets
from mailbot.testing.servers import SmtpReceiver


class TimedConnection(SmtpConnection):
    """The real connection; notes when the 250 to a message's final dot came back."""

    def __init__(self, settings: SmtpSettings, got_250: dict[str, float]) -> None:
        super().__init__(settings)
        self.got_250 = got_250
        self.message_id = ""

    async def begin(self, mail: OutgoingMail) -> None:
        await super().begin(mail)
        self.message_id = mail.message_id

    async def finish(self) -> None:
        await super().finish()
        self.got_250[self.message_id] = time.perf_counter()


class TimedSmtp(SmtpSender):
    """The real sender, over timed connections."""

    def __init__(self, settings: SmtpSettings) -> None:
        super().__init__(settings)
        self.got_250: dict[str, float] = {}
        self._connections = [
            TimedConnection(settings, self.got_250) for _ in range(settings.connections)
        ]


class TimedStore(Store):
    """The real store; notes when the 'sent' commit returned."""

    committed: dict[int, float]

    def mark_sent(self, outbox_id: int, *, now: datetime) -> None:
        super().mark_sent(outbox_id, now=now)
        self.committed[outbox_id] = time.perf_counter()


class DistantReceiver(SmtpReceiver):
    """The harness's receiver, answering MAIL, RCPT and the final dot `delay` s late: a
    stand-in for a server across a network (the 354 to DATA and EHLO come at once)."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def start(self) -> None:
        receiver = self

        class Handler:
            async def handle_MAIL(
                self, server: Any, session: Any, envelope: Any, address: str, options: Any
            ) -> str:
                await asyncio.sleep(receiver.delay)
                envelope.mail_from = address
                envelope.mail_options.extend(options)
                return "250 OK"

            async def handle_RCPT(
                self, server: Any, session: Any, envelope: Any, address: str, options: Any
            ) -> str:
                await asyncio.sleep(receiver.delay)
                envelope.rcpt_tos.append(address)
                envelope.rcpt_options.extend(options)
                return "250 OK"

            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                await asyncio.sleep(receiver.delay)
                return receiver._accept(envelope)

        self._controller = Controller(
            Handler(), hostname=self.host, port=self.port, server_hostname="smtp.mailbot.test"
        )
        self._controller.start()


def queue(store: Store, n: int) -> None:
    seed_tickets(store, [customer_raw(i) for i in range(n)], now=datetime.now(UTC))


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    extra = {"connections": int(sys.argv[2])} if len(sys.argv) > 2 else {}
    delay = float(sys.argv[3]) / 1000 if len(sys.argv) > 3 else 0.0
    receiver = DistantReceiver(delay) if delay else SmtpReceiver()
    with tempfile.TemporaryDirectory() as tmp, receiver:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate(engine)
        store = TimedStore(engine)
        store.committed = {}
        queue(store, n)
        ids = {r.id: r.message_id for r in store.due_outbox(datetime.now(UTC), n)}
        settings = SmtpSettings(
            host=receiver.host,
            port=receiver.port,
            tls="none",
            from_address="s@example.test",
            **extra,  # type: ignore[arg-type]
        )
        smtp = TimedSmtp(settings)
        sender = OutboxSender(store, smtp, SystemClock())
        started = time.perf_counter()
        while asyncio.run(_drain(sender, smtp))[0]:
            pass
        elapsed = time.perf_counter() - started
        windows = sorted((store.committed[i] - smtp.got_250[m]) * 1000 for i, m in ids.items())
        assert len(receiver.messages) == n
    result: dict[str, Any] = {
        "messages": n,
        "connections": settings.connections,
        "reply_delay_ms": delay * 1000,
        "throughput_per_s": round(n / elapsed, 1),
        "window_ms_mean": round(statistics.mean(windows), 3),
        "window_ms_p50": round(statistics.median(windows), 3),
        "window_ms_p95": round(windows[int(0.95 * (len(windows) - 1))], 3),
        "window_ms_p99": round(windows[int(0.99 * (len(windows) - 1))], 3),
        "window_ms_max": round(windows[-1], 3),
    }
    print(f"{'metric':<20} {'value':>10}")
    for key, value in result.items():
        print(f"{key:<20} {value:>10}")
    Path("bench/results").mkdir(exist_ok=True)
    Path("bench/results/outbox_window.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


async def _drain(sender: OutboxSender, smtp: TimedSmtp) -> tuple[int, int]:
    """(sent, failed) of one drain."""
    try:
        result = await sender.drain_once(limit=100)
        return result.sent, result.retry + result.dead
    finally:
        await smtp.close()


if __name__ == "__main__":
    sys.exit(main())
