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
from datetime import datetime
from pathlib import Path
from typing import Any

from mailbot.adapters.smtp import SmtpConnection
from mailbot.runners.outbox import OutboxSender

HERE = Path(__file__).resolve().parent


def main() -> int:
    n = sys.argv[1] if len(sys.argv) > 1 else "1000"
    last_250 = [0.0]  # one message at a time is between its 250 and its commit
    windows: list[float] = []
    finish, mark_sent = SmtpConnection.finish, OutboxSender._mark_sent
    journaled = OutboxSender._journaled_now

    async def timed_finish(self: SmtpConnection) -> None:
        await finish(self)
        last_250[0] = time.perf_counter()

    async def timed_mark_sent(self: OutboxSender, outbox_id: int, sent_at: datetime) -> None:
        await mark_sent(self, outbox_id, sent_at)
        windows.append(time.perf_counter() - last_250[0])

    def timed_journaled(self: OutboxSender, outbox_id: int, sent_at: datetime) -> bool:
        if done := journaled(self, outbox_id, sent_at):  # recorded: the window ends here
            windows.append(time.perf_counter() - last_250[0])
        return done

    held: list[float] = []  # the commit section (final dot -> outcome committed), serial
    commit_section = OutboxSender._finish

    async def timed_commit_section(self: OutboxSender, *args: Any) -> bool:
        start = time.perf_counter()
        try:
            return await commit_section(self, *args)
        finally:
            held.append(time.perf_counter() - start)

    SmtpConnection.finish = timed_finish  # type: ignore[method-assign]
    OutboxSender._mark_sent = timed_mark_sent  # type: ignore[method-assign]
    OutboxSender._journaled_now = timed_journaled  # type: ignore[method-assign]
    OutboxSender._finish = timed_commit_section  # type: ignore[method-assign,assignment]
    out = HERE / "results" / "outbox-window-busy.json"
    sys.argv = ["e2e.py", "--only", "throughput", "--sizes", n, "--modes", "inproc"]
    sys.argv += ["--out", str(out)]
    try:
        runpy.run_path(str(HERE / "e2e.py"), run_name="__main__")
    except SystemExit:
        pass
    finally:
        SmtpConnection.finish = finish  # type: ignore[method-assign]
        OutboxSender._mark_sent = mark_sent  # type: ignore[method-assign]
        OutboxSender._journaled_now = journaled  # type: ignore[method-assign]
        OutboxSender._finish = commit_section  # type: ignore[method-assign]
    if not windows:
        print("no acknowledgement was sent")
        return 1
    print(f"window while busy over {len(windows)} acks: {_summary(windows)}")
    print(f"commit section (serial: final dot to outcome committed): {_summary(held)}")
    return 0


def _summary(values: list[float]) -> str:
    w = sorted(values)

    def q(p: float) -> float:
        return w[min(len(w) - 1, int(len(w) * p))] * 1000

    return (
        f"mean {statistics.mean(w) * 1000:.2f} ms, p50 {q(0.5):.2f}, p95 {q(0.95):.2f}, "
        f"p99 {q(0.99):.2f}, max {w[-1] * 1000:.2f} ms"
    )


if __name__ == "__main__":
    raise SystemExit(main())
