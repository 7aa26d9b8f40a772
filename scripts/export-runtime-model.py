#!/usr/bin/env python3
"""Write runtime.npz (the numpy-only export the daemon loads, see ml/export.py) into model
directories from their skops files, without retraining.

    .venv/bin/python scripts/export-runtime-model.py [--recompress] [MODEL_DIR ...]

Default: models/default. For models trained before the export existed (state_dir/models/*):
without runtime.npz the daemon still loads them, with scikit-learn. The export is checked
against the pipelines on the shipped training texts before it is written. --recompress also
rewrites the skops files deflated (the same models, about half the size).
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path

from mailbot.adapters.modelstore import load_skops
from mailbot.ml.export import export_directory

ROOT = Path(__file__).resolve().parent.parent


def training_texts() -> list[str]:
    texts = []
    for path in sorted((ROOT / "models/training").glob("train-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                texts.append(f"{row.get('subject', '')}\n{row['text']}")
    return texts


def recompress(directory: Path) -> None:
    import skops.io as sio

    for name in ("category.skops", "urgency.skops"):
        path = directory / name
        partial = path.with_name(f".{name}.partial")
        sio.dump(load_skops(path), partial, compression=zipfile.ZIP_DEFLATED)
        partial.replace(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dirs", nargs="*", type=Path, default=[ROOT / "models/default"])
    parser.add_argument("--recompress", action="store_true")
    args = parser.parse_args()
    texts = training_texts()
    failed = 0
    for directory in args.dirs:
        if args.recompress:
            recompress(directory)
        written = export_directory(directory, texts)
        failed += not written
        size = sum(p.stat().st_size for p in directory.iterdir()) / 1e6
        state = "runtime.npz written" if written else "NOT exported"
        print(f"{directory}: {state} ({size:.1f} MB)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
