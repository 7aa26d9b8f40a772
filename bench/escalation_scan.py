"""The escalation scan's query with 1,000,000 tickets in SQLite.

    .venv/bin/python -m bench.escalation_scan [--tickets 1000000] [--due 200]

Most tickets are resolved (next_escalation_at NULL), some open with their next check in the
future, `--due` of them due now. Prints a table and writes bench/results/escalation_scan.json.
Target: the due-ticket query under 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tabulate import tabulate

from mailbot.adapters.db import make_engine, migrate
from mailbot.adapters.workflow import Workflow
from mailbot.clock import FrozenClock
from mailbot.core.render import Sender
from mailbot.runners.escalate import EscalationConfig, Escalator
from mailbot.settings import EscalationSettings

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent


def seed(db: Path, tickets: int, due: int) -> float:
    import sqlite3

    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    engine.dispose()
    started = time.perf_counter()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA synchronous=OFF")
    iso = "%Y-%m-%d %H:%M:%S.%f"

    def rows() -> object:
        for i in range(1, tickets + 1):
            received = NOW - timedelta(minutes=i)
            if i <= due:  # five hours old: past the 4-hour first-response window
                received -= timedelta(hours=5)
                status, next_at = "open", received.strftime(iso)
            elif i % 50 == 0:  # 2 % open, checked again later
                status, next_at = "open", (NOW + timedelta(hours=1)).strftime(iso)
            else:
                status, next_at = "resolved", None
            yield (
                f"MB-{i:07d}", f"c{i}@customer.test", "subject", "trading", "high", "en",
                status, received.strftime(iso), (received + timedelta(hours=4)).strftime(iso),
                (received + timedelta(hours=24)).strftime(iso), next_at, received.strftime(iso),
            )  # fmt: skip

    conn.executemany(
        "INSERT INTO ticket (ref, customer_address, customer_name, subject, category, urgency,"
        " language, status, needs_triage, confidence, model_version, explanation, received_at,"
        " first_response_due, resolution_due, escalation_level, created_at, assignee,"
        " next_escalation_at) VALUES (?, ?, '', ?, ?, ?, ?, ?, 0, 0.9, 'v', '', ?, ?, ?, 0, ?,"
        " '', ?)",
        ((*r[:10], r[11], r[10]) for r in rows()),  # type: ignore[attr-defined]
    )
    conn.commit()
    conn.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=200)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # one ESCALATION line per ticket is not the point here
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        seeding = seed(db, args.tickets, args.due)
        engine = make_engine(f"sqlite:///{db}")
        workflow = Workflow(engine)
        timings = []
        for _ in range(20):
            started = time.perf_counter()
            found = workflow.due_for_escalation(NOW, limit=500)
            timings.append((time.perf_counter() - started) * 1000)
        plan = (
            engine.raw_connection()
            .execute(
                "EXPLAIN QUERY PLAN SELECT * FROM ticket WHERE next_escalation_at <= ?"
                " ORDER BY next_escalation_at LIMIT 500",
                (NOW.strftime("%Y-%m-%d %H:%M:%S.%f"),),
            )
            .fetchall()
        )
        config = EscalationConfig(
            EscalationSettings().policy(), Sender("support@example.test", "Support", None)
        )
        scanner = Escalator(workflow, config, FrozenClock(NOW))
        started = time.perf_counter()
        recorded = asyncio.run(scanner.scan())
        full_scan = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        asyncio.run(scanner.scan())
        idle_scan = (time.perf_counter() - started) * 1000
    table = [
        ["tickets", f"{args.tickets:,}"],
        ["due now", f"{len(found)}"],
        ["seeding (s)", f"{seeding:.1f}"],
        ["due-ticket query p50 (ms)", f"{statistics.median(timings):.1f}"],
        ["due-ticket query max of 20 (ms)", f"{max(timings):.1f}"],
        ["query plan", " / ".join(str(row[-1]) for row in plan)],
        [f"full scan recording {recorded} escalations (ms)", f"{full_scan:.0f}"],
        ["next scan, nothing due (ms)", f"{idle_scan:.1f}"],
    ]
    print(tabulate(table, headers=["measure", "value"]))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "escalation_scan.json").write_text(json.dumps(dict(table), indent=2) + "\n")


if __name__ == "__main__":
    main()
