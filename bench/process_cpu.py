"""CPU of the processing stage alone: inbox rows -> tickets + outbox rows, no IMAP or SMTP.

    .venv/bin/python bench/process_cpu.py [--n 2000] [--stages] [--profile FILE]

The e2e benchmark's mail (bench/e2e.py MailFactory) is stored as fetched (not timed), then
`Processor._process_all` runs in this thread until the inbox is empty; thread CPU per message
is printed. `--stages` wraps the same stage functions as e2e.py (their timers cost ~1 ms a
message). Nothing else runs, so figures move less than the end-to-end ones (±5 %).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.e2e import MailFactory, Timers, instrumented  # noqa: E402
from mailbot.adapters.db import make_engine, migrate  # noqa: E402
from mailbot.adapters.store import Store  # noqa: E402
from mailbot.clock import SystemClock  # noqa: E402
from mailbot.core.parse import message_id_of  # noqa: E402
from mailbot.domain import FetchedMail  # noqa: E402
from mailbot.logconfig import configure  # noqa: E402
from mailbot.runners.app import build_processor  # noqa: E402
from mailbot.settings import load_settings  # noqa: E402


def setup(work: Path, n: int) -> tuple[Store, object]:
    config = work / "mailbot.toml"
    config.write_text(
        f"""
[imap]
host = "127.0.0.1"
port = 1143
username = "support"
tls = "none"

[smtp]
host = "127.0.0.1"
port = 1025
tls = "none"
from_address = "support@example.test"
from_name = "Example Exchange Support"

[paths]
state_dir = "{work / "state"}"
""",
        encoding="utf-8",
    )
    settings = load_settings(config)
    engine = make_engine(settings.database_url)
    migrate(engine)
    store = Store(engine, ref_prefix=settings.tickets.ref_prefix)
    factory = MailFactory("cpu")
    now = datetime.now(UTC)
    for start in range(0, n, 200):
        raws = [factory.make(i).raw for i in range(start, min(n, start + 200))]
        mails = [
            FetchedMail("support", "INBOX", 1, start + k + 1, raw) for k, raw in enumerate(raws)
        ]
        store.store_fetched("support", "INBOX", 1, mails, [message_id_of(r) for r in raws], now=now)
    return store, build_processor(settings, store, SystemClock())


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--stages", action="store_true")
    p.add_argument("--profile", type=Path)
    args = p.parse_args(argv)
    configure("INFO", "text")  # as the daemon logs (run with 2>/dev/null or 2>file)
    with tempfile.TemporaryDirectory() as tmp:
        _, processor = setup(Path(tmp), args.n)
        timers = Timers()
        prof = cProfile.Profile() if args.profile else None
        with instrumented(timers) if args.stages else contextlib.nullcontext():
            cpu, wall = time.thread_time(), time.perf_counter()
            if prof:
                prof.enable()
            done = processor._process_all(threading.Event(), None)  # type: ignore[attr-defined]
            if prof:
                prof.disable()
            cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        if prof:
            prof.dump_stats(str(args.profile))
        out = sys.__stdout__
        per = 1000 / done
        print(f"processed {done}: {per * cpu:.2f} ms CPU/msg, {per * wall:.2f} wall", file=out)
        for name, stage in sorted(timers.stages.items(), key=lambda kv: -kv[1].cpu):
            print(f"  {name:32} {stage.calls:6} {per * stage.cpu:7.2f} ms CPU/msg", file=out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
