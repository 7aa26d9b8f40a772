#!/usr/bin/env python3
"""CPU time the prepare worker spends per message (parse, classify, explain, FAQ), in this
process, on the e2e benchmark's mail mix.

    .venv/bin/python bench/worker_cpu.py [--messages 1000] [--repeats 4]

Calls the worker's own functions (`runners/preparepool.py`: `_configure`, `_load_model`,
`_prepare_here`) on batches of 200, as the daemon sends them; prints the best of the repeats
(thread CPU time) and a digest of the results, so two versions of the code can be compared
on identical output. Writes JSON to bench/results/worker_cpu.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.e2e import MailFactory  # noqa: E402
from mailbot.domain import PendingInbox  # noqa: E402
from mailbot.runners import preparepool  # noqa: E402
from mailbot.runners.app import _sender, process_config, worker_spec  # noqa: E402
from mailbot.settings import load_settings  # noqa: E402
from tests.conftest import write_offline_config  # noqa: E402

BATCH = 200


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=4)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(write_offline_config(Path(tmp)))
    spec = worker_spec(settings, process_config(settings, _sender(settings)))
    factory = MailFactory("worker-cpu")
    now = datetime.now(UTC)
    rows = [PendingInbox(i, factory.make(i).raw, now) for i in range(args.messages)]
    model = str(ROOT / "models" / "default")
    preparepool._configure(spec)
    preparepool._load_model(model)
    preparepool._prepare_here(model, rows[:BATCH])  # first-use imports and caches
    times, results = [], []
    for _ in range(args.repeats):
        started = time.thread_time()
        results = [
            item
            for start in range(0, len(rows), BATCH)
            for item in preparepool._prepare_here(model, rows[start : start + BATCH])
        ]
        times.append(time.thread_time() - started)
    shown = [(r.classification, r.faq, type(r.error).__name__) for r in results]
    digest = hashlib.sha256(repr(shown).encode()).hexdigest()[:16]
    per_message = [t / len(rows) * 1000 for t in times]
    print(f"{'messages':>9} {'best ms/msg':>12} {'all runs':>24}  results")
    runs = " ".join(f"{t:.2f}" for t in per_message)
    print(f"{len(rows):>9} {min(per_message):>12.3f} {runs:>24}  {digest}")
    out = ROOT / "bench" / "results" / "worker_cpu.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps({"messages": len(rows), "ms_per_msg": per_message, "results": digest}),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
