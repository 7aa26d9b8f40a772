#!/usr/bin/env python3
"""Rebuild the shipped default model under models/default from the shipped training split.

    .venv/bin/python scripts/build-default-model.py [FILE.jsonl ...]

Default: models/training/train-*.jsonl and seed.jsonl. Never heldout.jsonl: that split only
measures the model (bench/classifier.py).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from mailbot.ml.train import file_sha256, read_jsonl, train_model
from mailbot.settings import DEFAULT_CATEGORIES, DEFAULT_URGENCIES, ClassifierSettings

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    split = ROOT / "models/training"
    sources = [Path(p) for p in sys.argv[1:]] or [
        *sorted(split.glob("train-*.jsonl")),
        split / "seed.jsonl",
    ]
    if any(p.name == "heldout.jsonl" for p in sources):
        raise SystemExit("heldout.jsonl is for measuring, never for training")
    examples = [
        ex
        for src in sources
        for ex in read_jsonl(src, categories=DEFAULT_CATEGORIES, urgencies=DEFAULT_URGENCIES)
    ]
    now = datetime.now(UTC)
    train_model(
        examples,
        ROOT / "models/default",
        version=f"default-{now:%Y%m%d-%H%M}",
        created=now,
        categories=DEFAULT_CATEGORIES,
        urgencies=DEFAULT_URGENCIES,
        data_hash=file_sha256(sources),
        rules=ClassifierSettings().compiled_rules(),
    )
    print(f"trained on {len(examples)} examples -> models/default")
    return 0


if __name__ == "__main__":
    sys.exit(main())
