#!/usr/bin/env python3
"""The shipped classifier on the frozen held-out split: quality, speed, size, language detection.

    .venv/bin/python bench/classifier.py

Prints a table and writes bench/results/classifier.json. Quality figures use
models/training/heldout.jsonl only (never trained on); its sha256 is checked against
models/training/HELDOUT.md first.
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from sklearn.metrics import f1_score, recall_score

from mailbot.adapters.language import make_detector
from mailbot.adapters.modelstore import Model, load_model
from mailbot.core.classify import decide_label
from mailbot.core.rules import raise_urgency
from mailbot.settings import (
    DEFAULT_CATEGORIES,
    DEFAULT_LANGUAGES,
    DEFAULT_URGENCIES,
    ClassifierSettings,
)

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "models/training/heldout.jsonl"


def check_frozen() -> str:
    digest = hashlib.sha256(HELDOUT.read_bytes()).hexdigest()
    recorded = re.findall(r"[0-9a-f]{64}", (ROOT / "models/training/HELDOUT.md").read_text())
    if digest not in recorded:
        raise SystemExit(f"heldout.jsonl changed: {digest} is not the recorded hash")
    return digest


def one_by_one(model: Model, texts: list[str]) -> tuple[list[float], list[float]]:
    """Milliseconds per email, sorted: predict alone, and what the daemon's classify() asks of
    the model (predict, decide with the thresholds, explain the winning labels)."""
    single, explained = [], []
    for text in texts:
        t0 = time.perf_counter()
        cats, urgs = model.predict(text)
        t1 = time.perf_counter()
        labels = {
            "category": decide_label(cats, model.thresholds.get("category", {})),
            "urgency": decide_label(urgs, model.thresholds.get("urgency", {})),
        }
        model.explain(text, labels)
        t2 = time.perf_counter()
        single.append((t1 - t0) * 1000)
        explained.append((t2 - t0) * 1000)
    return sorted(single), sorted(explained)


def main() -> int:
    digest = check_frozen()
    rows = [json.loads(line) for line in HELDOUT.read_text(encoding="utf-8").splitlines() if line]
    texts = [f"{r['subject']}\n{r['text']}" for r in rows]
    model_dir = ROOT / "models/default"
    model = load_model(model_dir, categories=DEFAULT_CATEGORIES, urgencies=DEFAULT_URGENCIES)

    started = time.perf_counter()
    predicted = model.predict_labels(texts)  # thresholds applied, as the daemon does
    batch_rate = len(texts) / (time.perf_counter() - started)
    single, explained = one_by_one(model, texts)

    cats = [c for c, _ in predicted]
    urgs = [u for _, u in predicted]
    # What the daemon stores: the model's urgency raised by the shipped default rules.
    rules = ClassifierSettings().compiled_rules()  # with their negation cues
    ruled = [
        raise_urgency(t, u, rules, DEFAULT_URGENCIES)[0] for t, u in zip(texts, urgs, strict=True)
    ]
    truth = [r["urgency"] for r in rows]
    detect = make_detector(DEFAULT_LANGUAGES)
    long_rows = [r for r in rows if len(r["text"]) >= 50]
    lang_ok = sum(detect(f"{r['subject']}\n{r['text']}") == r["language"] for r in long_rows)

    result: dict[str, Any] = {
        "heldout_rows": len(rows),
        "heldout_sha256": digest[:16],
        "model": model.version,
        "category_macro_f1": round(
            f1_score([r["category"] for r in rows], cats, average="macro"), 3
        ),
        "urgency_macro_f1": round(f1_score([r["urgency"] for r in rows], urgs, average="macro"), 3),
        "critical_recall": round(
            recall_score(truth, urgs, labels=["critical"], average="macro"), 3
        ),
        "urgency_macro_f1_with_rules": round(f1_score(truth, ruled, average="macro"), 3),
        "critical_recall_with_rules": round(
            recall_score(truth, ruled, labels=["critical"], average="macro"), 3
        ),
        "batch_emails_per_s": round(batch_rate),
        "single_p50_ms": round(statistics.median(single), 2),
        "single_p99_ms": round(single[int(0.99 * (len(single) - 1))], 2),
        "explained_p50_ms": round(statistics.median(explained), 2),
        "explained_p99_ms": round(explained[int(0.99 * (len(explained) - 1))], 2),
        "model_mb": round(sum(p.stat().st_size for p in model_dir.iterdir()) / 1e6, 1),
        "language_accuracy_50plus": round(lang_ok / len(long_rows), 4),
    }
    print(f"{'metric':<28} {'value':>14}")
    for key, value in result.items():
        print(f"{key:<28} {value!s:>14}")
    out = ROOT / "bench/results"
    out.mkdir(exist_ok=True)
    (out / "classifier.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
