#!/usr/bin/env python3
"""How long does `mailbot report` take on a large database?

Seeds N tickets (default 100,000) received over the last 30 days into a fresh SQLite file,
each with its archived raw mail, its message body, its acknowledgement in the outbox, and
escalations for the late ones (so the database is as heavy as a real one, and loading a body
by mistake would show). Then it times the real command, `python -m mailbot report`, as
`--format json` and `--format html`, each several times, and also the stages in-process.

    .venv/bin/python bench/report.py [N] [--runs 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert

from mailbot.adapters.db import make_engine, migrate
from mailbot.adapters.reporting import load_report_rows
from mailbot.adapters.tables import EscalationRow, InboxMessage, Outbox, Ticket, TicketMessage
from mailbot.core.report import build_report, period
from mailbot.settings import DEFAULT_CATEGORIES

URGENCIES = {"critical": (1, 0.05), "high": (4, 0.25), "normal": (24, 0.5), "low": (72, 0.2)}
LANGUAGES = {"en": 0.4, "ko": 0.3, "zh": 0.2, "ja": 0.1}
TOPICS = [
    "Deposit of {n} USDT not credited",
    "Withdrawal {n} pending for hours",
    "Cannot log in after 2FA reset",
    "KYC verification rejected",
    "API key returns error {n}",
    "Account hacked, unauthorised withdrawal",
    "Trading fee question",
    "Order {n} not filled",
]
BODY = "Hello, " + "please help me with my account. " * 24  # ~800 bytes of text
RAW = b"From: c@customer.test\r\nSubject: x\r\n\r\n" + BODY.encode() + b"\r\n" * 100
BATCH = 5_000


def main() -> int:
    args = _args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(args.keep or tmp)
        directory.mkdir(parents=True, exist_ok=True)
        config = _config(directory)
        for stale in directory.glob("mailbot.db*"):  # a kept directory from an earlier run
            stale.unlink()
        now = datetime.now(UTC)
        started = time.perf_counter()
        seeded = seed(make_engine(f"sqlite:///{directory / 'mailbot.db'}"), args.n, now)
        seed_s = time.perf_counter() - started
        size_mb = (directory / "mailbot.db").stat().st_size / 1e6
        stages = in_process(directory, now)
        startup = [_timed(sys.executable, "-m", "mailbot", "--version") for _ in range(args.runs)]
        json_runs = [_timed_cli(config, "json", directory) for _ in range(args.runs)]
        html_runs = [_timed_cli(config, "html", directory) for _ in range(args.runs)]
        max_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result: dict[str, Any] = {
        "tickets": args.n,
        "rows": seeded,
        "database_mb": round(size_mb, 1),
        "seed_s": round(seed_s, 1),
        "cli_json_s_median": round(statistics.median(json_runs), 2),
        "cli_json_s_min": round(min(json_runs), 2),
        "cli_html_s_median": round(statistics.median(html_runs), 2),
        "cli_html_s_min": round(min(html_runs), 2),
        "cli_max_rss_mb": round(max_rss_mb, 1),
        "cli_startup_s_median": round(statistics.median(startup), 2),  # mailbot --version
        "runs": args.runs,
        **{f"stage_{k}_s": round(v, 3) for k, v in stages.items()},
    }
    print(f"{'metric':<26} {'value':>10}")
    for key, value in result.items():
        print(f"{key:<26} {value!s:>10}")
    out = Path(__file__).resolve().parent / "results" / "report.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("n", nargs="?", type=int, default=100_000, help="tickets to seed")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each format")
    parser.add_argument("--keep", help="seed into this directory and keep it")
    return parser.parse_args()


def _config(directory: Path) -> Path:
    path = directory / "mailbot.toml"
    path.write_text(
        '[imap]\nhost = "127.0.0.1"\nusername = "s@example.test"\ntls = "none"\n'
        '[smtp]\nhost = "127.0.0.1"\ntls = "none"\nfrom_address = "s@example.test"\n'
        f'[database]\nurl = "sqlite:///{directory / "mailbot.db"}"\n',
        encoding="utf-8",
    )
    return path


def seed(engine: Engine, n: int, now: datetime) -> dict[str, int]:
    """Bulk-insert n tickets with their inbox rows, messages, acks and escalations."""
    migrate(engine)
    counts = {"ticket": 0, "inbox": 0, "ticket_message": 0, "outbox": 0, "escalation": 0}
    rng = random.Random(42)
    with engine.begin() as conn:
        for start in range(0, n, BATCH):
            batch = [_ticket(rng, i, now) for i in range(start, min(n, start + BATCH))]
            conn.execute(insert(Ticket), [t for t, _ in batch])
            for table, key in (
                (InboxMessage, "inbox"),
                (TicketMessage, "ticket_message"),
                (Outbox, "outbox"),
                (EscalationRow, "escalation"),
            ):
                rows = [r for _, extra in batch for r in extra[key]]
                if rows:
                    conn.execute(insert(table), rows)
                counts[key] += len(rows)
            counts["ticket"] += len(batch)
    engine.dispose()
    return counts


def _ticket(
    rng: random.Random, i: int, now: datetime
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """One ticket row (id i + 1) and the rows that belong to it."""
    urgency = rng.choices(list(URGENCIES), [w for _, w in URGENCIES.values()])[0]
    window = timedelta(hours=URGENCIES[urgency][0])
    received = now - timedelta(seconds=rng.uniform(60, 29.5 * 86400))
    due = received + window
    first = received + window * rng.lognormvariate(-1.0, 0.7) if rng.random() < 0.92 else None
    first = first if first is not None and first < now else None
    resolved = first + timedelta(hours=rng.uniform(1, 48)) if first and rng.random() < 0.6 else None
    resolved = resolved if resolved is not None and resolved < now else None
    confidence = round(rng.betavariate(5, 2), 3)
    ticket = {
        "id": i + 1,
        "ref": f"MB-{i + 1:06d}",
        "customer_address": f"c{i}@customer.test",
        "customer_name": "",
        "subject": _subject(rng),
        "category": rng.choice(DEFAULT_CATEGORIES),
        "urgency": urgency,
        "language": rng.choices(list(LANGUAGES), list(LANGUAGES.values()))[0],
        "status": "resolved" if resolved else "open",
        "needs_triage": confidence < 0.45,
        "confidence": confidence,
        "model_version": "default",
        "explanation": "",
        "received_at": received,
        "first_response_due": due,
        "first_response_at": first,
        "resolved_at": resolved,
        "escalation_level": 0,
        "created_at": received,
    }
    return ticket, _belongings(rng, i + 1, ticket, now)


def _subject(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return f"Question about my account #{rng.randrange(10**6)} (ref {rng.random():.6f})"
    prefix = rng.choice(["", "", "Re: ", "Fwd: "])
    return prefix + rng.choice(TOPICS).format(n=rng.randrange(1, 5000))


def _belongings(
    rng: random.Random, tid: int, t: dict[str, Any], now: datetime
) -> dict[str, list[dict[str, Any]]]:
    received: datetime = t["received_at"]
    quarantined = rng.random() < 0.01
    inbox = {
        "id": tid,
        "account": "a",
        "mailbox": "INBOX",
        "uidvalidity": 1,
        "uid": tid,
        "dedupe_key": f"mid:<c{tid}@x>",
        "message_id": f"<c{tid}@x>",
        "raw_sha256": f"{tid:064x}",
        "raw": RAW,
        "size": len(RAW),
        "status": "quarantined" if quarantined else "processed",
        "reason": rng.choice(["noise: auto-submitted", "ValueError: bad MIME"])
        if quarantined
        else "",
        "duplicate_of": None,
        "ticket_id": None if quarantined else tid,
        "fetched_at": received,
        "processed_at": received,
    }
    message = {
        "ticket_id": tid,
        "direction": "in",
        "kind": "customer",
        "message_id": f"<c{tid}@x>",
        "inbox_id": tid,
        "from_address": t["customer_address"],
        "subject": t["subject"],
        "body": BODY,
        "new_text": BODY,
        "attachments": "[]",
        "created_at": received,
    }
    return {
        "inbox": [inbox],
        "ticket_message": [message],
        "outbox": [_ack(rng, tid, received)],
        "escalation": list(_escalations(rng, tid, t, now)),
    }


def _ack(rng: random.Random, tid: int, received: datetime) -> dict[str, Any]:
    roll = rng.random()
    status = "sent" if roll < 0.97 else "pending" if roll < 0.99 else "dead"
    return {
        "ticket_id": tid,
        "kind": "ack",
        "seq": 0,
        "message_id": f"<MB-{tid:06d}.ack@example.test>",
        "sender": "support@example.test",
        "recipients": f"c{tid}@customer.test",
        "raw": RAW,
        "status": status,
        "attempts": 1,
        "next_attempt_at": received,
        "last_error": "",
        "created_at": received,
        "sent_at": received + timedelta(seconds=rng.lognormvariate(0.5, 0.6))
        if status == "sent"
        else None,
    }


def _escalations(
    rng: random.Random, tid: int, t: dict[str, Any], now: datetime
) -> Iterator[dict[str, Any]]:
    due: datetime = t["first_response_due"]
    answered: datetime | None = t["first_response_at"]
    if (answered or now) <= due:
        return
    for level, delay in ((1, 0), (2, 4)):
        at = due + timedelta(hours=delay)
        if at < (answered or now) and (level == 1 or rng.random() < 0.5):
            yield {
                "ticket_id": tid,
                "level": level,
                "due_at": at,
                "reason": "seeded",
                "created_at": at,
            }


def in_process(directory: Path, now: datetime) -> dict[str, float]:
    """Seconds per stage of one default-period report, without interpreter start-up."""
    from mailbot.reports.document import to_document
    from mailbot.reports.html import render_html

    engine = make_engine(f"sqlite:///{directory / 'mailbot.db'}", create=False)
    since, until = period(None, None, now=now)
    t0 = time.perf_counter()
    rows = load_report_rows(engine, since=since, until=until, now=now)
    t1 = time.perf_counter()
    report = build_report(rows, since=since, until=until, now=now)
    t2 = time.perf_counter()
    json.dumps(to_document(report))
    t3 = time.perf_counter()
    render_html(report)
    t4 = time.perf_counter()
    engine.dispose()
    return {"load": t1 - t0, "compute": t2 - t1, "json": t3 - t2, "html": t4 - t3}


def _timed_cli(config: Path, fmt: str, directory: Path) -> float:
    out = directory / f"report.{fmt}"
    return _timed(
        *(sys.executable, "-m", "mailbot", "report", "--config", str(config)),
        *("--format", fmt, "--out", str(out)),
    )


def _timed(*command: str) -> float:
    """Wall-clock seconds of one run of `command`, which must succeed."""
    started = time.perf_counter()
    done = subprocess.run(list(command), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[1:])} failed: {done.stderr[-2000:]}")
    return elapsed


if __name__ == "__main__":
    sys.exit(main())
