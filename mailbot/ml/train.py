"""Train the two classifier heads from labelled JSONL and save a model directory."""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mailbot.errors import MailbotError


@dataclass(frozen=True, slots=True)
class Example:
    subject: str
    text: str
    category: str
    urgency: str
    language: str


def read_jsonl(path: Path, *, categories: Sequence[str], urgencies: Sequence[str]) -> list[Example]:
    """Labelled examples; one clear error per bad line (file:line)."""
    examples: list[Example] = []
    problems: list[str] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            ex = Example(
                str(row.get("subject", "")),
                str(row["text"]),
                str(row["category"]),
                str(row["urgency"]),
                str(row.get("language", "")),
            )
        except (ValueError, KeyError) as exc:
            problems.append(f"{path}:{lineno}: {exc.__class__.__name__}: {exc}")
            continue
        if ex.category not in categories:
            problems.append(f"{path}:{lineno}: unknown category {ex.category!r}")
        elif ex.urgency not in urgencies:
            problems.append(f"{path}:{lineno}: unknown urgency {ex.urgency!r}")
        else:
            examples.append(ex)
    if problems:
        raise MailbotError("\n".join(problems))
    return examples


def build_head() -> Any:
    """Character n-grams work for Korean, Chinese and Japanese without a word segmenter.

    Hashed features keep the saved model small and free of a vocabulary to store.
    """
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    return Pipeline(
        [
            (
                "features",
                HashingVectorizer(
                    analyzer="char_wb",
                    ngram_range=(1, 3),
                    n_features=2**18,
                    alternate_sign=False,
                    norm=None,
                ),
            ),
            ("tfidf", TfidfTransformer(sublinear_tf=True)),
            ("model", LogisticRegression(C=10.0, max_iter=1000)),
        ]
    )


def train_model(
    examples: Sequence[Example],
    out: Path,
    *,
    version: str,
    created: datetime,
    categories: Sequence[str],
    urgencies: Sequence[str],
    data_hash: str,
) -> None:
    """Fit both heads and write `out/` (category.skops, urgency.skops, metadata.json)."""
    import sklearn
    import skops.io as sio

    texts = [f"{e.subject}\n{e.text}" for e in examples]
    category = build_head().fit(texts, [e.category for e in examples])
    urgency = build_head().fit(texts, [e.urgency for e in examples])
    out.mkdir(parents=True, exist_ok=True)
    sio.dump(category, out / "category.skops")
    sio.dump(urgency, out / "urgency.skops")
    metadata = {
        "version": version,
        "created": created.isoformat(),
        "taxonomy": {"categories": list(categories), "urgencies": list(urgencies)},
        "training_data_sha256": data_hash,
        "examples": len(examples),
        "libraries": {"python": platform.python_version(), "scikit-learn": sklearn.__version__},
    }
    (out / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")


def file_sha256(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for p in sorted(paths):
        digest.update(p.read_bytes())
    return digest.hexdigest()
