#!/usr/bin/env python3
"""How long is the duplicate window? Time from the SMTP server's 250 to the committed 'sent' mark.

A crash inside that window is the only way an acknowledgement goes out twice. This sends N
acknowledgements through the real OutboxSender into a real aiosmtpd receiver, with the real
SQLite store (WAL, synchronous=FULL), and prints the distribution of the window.

    .venv/bin/python bench/outbox_window.py [N]
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

from mailbot.adapters.db import make_engine, migrate
from mailbot.adapters.smtp import SmtpSender
from mailbot.adapters.store import Store
from mailbot.clock import SystemClock
from mailbot.domain import OutgoingMail
from mailbot.runners.outbox import OutboxSender
from mailbot.settings import SmtpSettings
from mailbot.testing.seed import customer_raw, seed_tickets
from mailbot.testing.servers import SmtpReceiver


class TimedSmtp:
    """Passes through to the real sender; notes when the 250 came back."""

    def __init__(self, inner: SmtpSender) -> None:
        self.inner = inner
        self.got_250: dict[str, float] = {}

    async def send(self, mail: OutgoingMail) -> None:
        await self.inner.send(mail)
        self.got_250[mail.message_id] = time.perf_counter()


class TimedStore(Store):
    """The real store; notes when the 'sent' commit returned."""

    committed: dict[int, float]

    def mark_sent(self, outbox_id: int, *, now: datetime) -> None:
        super().mark_sent(outbox_id, now=now)
        self.committed[outbox_id] = time.perf_counter()


def queue(store: Store, n: int) -> None:
    seed_tickets(store, [customer_raw(i) for i in range(n)], now=datetime.now(UTC))


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    with tempfile.TemporaryDirectory() as tmp, SmtpReceiver() as receiver:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate(engine)
        store = TimedStore(engine)
        store.committed = {}
        queue(store, n)
        ids = {r.id: r.message_id for r in store.due_outbox(datetime.now(UTC), n)}
        smtp = TimedSmtp(
            SmtpSender(
                SmtpSettings(
                    host=receiver.host,
                    port=receiver.port,
                    tls="none",
                    from_address="s@example.test",
                )
            )
        )
        sender = OutboxSender(store, smtp, SystemClock())  # type: ignore[arg-type]
        started = time.perf_counter()
        while asyncio.run(_drain(sender, smtp))[0]:
            pass
        elapsed = time.perf_counter() - started
        windows = sorted((store.committed[i] - smtp.got_250[m]) * 1000 for i, m in ids.items())
        assert len(receiver.messages) == n
    result: dict[str, Any] = {
        "messages": n,
        "throughput_per_s": round(n / elapsed, 1),
        "window_ms_p50": round(statistics.median(windows), 3),
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
        await smtp.inner.close()


if __name__ == "__main__":
    sys.exit(main())
