#!/usr/bin/env python3
"""The duplicate window while the daemon is busy: SMTP 250 -> the sender sees 'sent' committed.

bench/outbox_window.py measures the window with nothing else running. Here the same moments
are noted inside bench/e2e.py's in-process run (real Dovecot, receiver, processing thread and
SQLite), where the 'sent' UPDATE waits for the GIL and for the processing transaction that
holds SQLite's write lock. The end is when the sender's coroutine resumes after the commit,
so the figure is a slight over-estimate of the window itself.

    .venv/bin/python bench/outbox_window_busy.py [N]     # N messages, default 1,000
"""

from __future__ import annotations

import runpy
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from mailbot.adapters.smtp import SmtpSender
from mailbot.domain import OutgoingMail
from mailbot.runners.outbox import OutboxSender

HERE = Path(__file__).resolve().parent


def main() -> int:
    n = sys.argv[1] if len(sys.argv) > 1 else "1000"
    accepted: dict[str, float] = {}
    windows: list[float] = []
    send, tagged = SmtpSender.send, OutboxSender._send_tagged

    async def timed_send(self: SmtpSender, mail: OutgoingMail) -> None:
        await send(self, mail)
        accepted[mail.message_id] = time.perf_counter()

    async def timed_tagged(self: OutboxSender, row: Any, result: Any) -> None:
        await tagged(self, row, result)
        if row.message_id in accepted:
            windows.append(time.perf_counter() - accepted.pop(row.message_id))

    SmtpSender.send = timed_send  # type: ignore[method-assign]
    OutboxSender._send_tagged = timed_tagged  # type: ignore[method-assign]
    out = HERE / "results" / "outbox-window-busy.json"
    sys.argv = ["e2e.py", "--only", "throughput", "--sizes", n, "--modes", "inproc"]
    sys.argv += ["--out", str(out)]
    try:
        runpy.run_path(str(HERE / "e2e.py"), run_name="__main__")
    except SystemExit:
        pass
    finally:
        SmtpSender.send = send  # type: ignore[method-assign]
        OutboxSender._send_tagged = tagged  # type: ignore[method-assign]
    if not windows:
        print("no acknowledgement was sent")
        return 1
    w = sorted(windows)

    def q(p: float) -> float:
        return w[min(len(w) - 1, int(len(w) * p))] * 1000

    print(
        f"window while busy over {len(w)} acks: mean {statistics.mean(w) * 1000:.2f} ms, "
        f"p50 {q(0.5):.2f}, p95 {q(0.95):.2f}, p99 {q(0.99):.2f}, max {w[-1] * 1000:.2f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
