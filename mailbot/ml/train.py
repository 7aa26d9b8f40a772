"""Train the two classifier heads from labelled JSONL and save a model directory."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import platform
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mailbot.errors import InputError


@dataclass(frozen=True, slots=True)
class Example:
    subject: str
    text: str
    category: str
    urgency: str
    language: str


def read_labelled(
    path: Path, *, categories: Sequence[str], urgencies: Sequence[str]
) -> list[Example]:
    """Labelled examples from JSONL or CSV (header row: text, category, urgency required;
    subject, language optional). Every problem is reported with file:line; none is skipped."""
    rows = list(_rows(path))
    examples: list[Example] = []
    problems: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    for lineno, row in rows:
        problem = _row_problem(row, categories, urgencies)
        key = (str(row.get("subject", "")).strip(), str(row.get("text", "")).strip())
        if problem is None and key in seen:
            problem = f"duplicate of line {seen[key]}"
        if problem is not None:
            problems.append(f"{path}:{lineno}: {problem}")
            continue
        seen[key] = lineno
        examples.append(
            Example(
                key[0],
                str(row["text"]),
                str(row["category"]),
                str(row["urgency"]),
                str(row.get("language", "") or ""),
            )
        )
    if problems:
        raise InputError("\n".join(problems))
    return examples


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        missing = {"text", "category", "urgency"} - set(reader.fieldnames or [])
        if missing:
            raise InputError(f"{path}:1: missing columns {sorted(missing)}")
        for row in reader:
            yield reader.line_num, dict(row)
        return
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                row = json.loads(line)
            except ValueError as exc:
                row = {"_error": f"not JSON: {exc}"}
            yield lineno, row if isinstance(row, dict) else {"_error": "not a JSON object"}


def _row_problem(
    row: dict[str, Any], categories: Sequence[str], urgencies: Sequence[str]
) -> str | None:
    if "_error" in row:
        return str(row["_error"])
    for column in ("text", "category", "urgency"):
        if column not in row:
            return f"missing {column!r}"
    if not str(row["text"]).strip():
        return "empty text"
    if row["category"] not in categories:
        return f"category {row['category']!r} is not in the taxonomy {list(categories)}"
    if row["urgency"] not in urgencies:
        return f"urgency {row['urgency']!r} is not in the taxonomy {list(urgencies)}"
    return None


read_jsonl = read_labelled  # the name scripts/build-default-model.py uses


def model_input(example: Example) -> str:
    """Exactly what the daemon feeds the model (core.classify.model_text)."""
    return f"{example.subject}\n{example.text}"


def _fit_head(head: str, texts: Sequence[str], labels: Sequence[str]) -> Any:
    """build_head fitted; calibration needs a few examples of every label, said plainly."""
    fewest = min(Counter(labels).values())
    if fewest < 2:
        rare = [label for label, n in Counter(labels).items() if n < 2]
        raise InputError(f"{head} {rare} has fewer than 2 examples; cannot train on it")
    return build_head(head, calibration_folds=min(3, fewest)).fit(list(texts), list(labels))


def build_head(head: str, calibration_folds: int = 3) -> Any:
    """Character n-grams work for Korean, Chinese and Japanese without a word segmenter;
    hashed features keep the saved model free of a vocabulary to store.

    Chosen by 3-fold cross-validation on the training split only (never the held-out split):
    logistic regression for the category (macro-F1 0.843 vs 0.818 for the SVM); a calibrated
    linear SVM for urgency (macro-F1 0.742 vs 0.647, critical recall 0.737 vs 0.502, and
    ~15x faster to fit), whose sigmoid calibration gives usable probabilities.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC

    features = HashingVectorizer(
        analyzer="char_wb",
        ngram_range=(1, 3),
        n_features=2**18,
        alternate_sign=False,
        norm=None,
    )
    model: Any = (
        LogisticRegression(C=10.0, max_iter=1000)
        if head == "category"
        else CalibratedClassifierCV(LinearSVC(C=1.0), cv=calibration_folds, ensemble=False)
    )
    return Pipeline(
        [("features", features), ("tfidf", TfidfTransformer(sublinear_tf=True)), ("model", model)]
    )


def cross_validate(
    examples: Sequence[Example], *, folds: int, progress: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """Stratified k-fold macro-F1 of both heads (stratified on category)."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    texts = [model_input(e) for e in examples]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    scores: dict[str, list[float]] = {"category": [], "urgency": []}
    for fold, (train_idx, test_idx) in enumerate(
        splitter.split(texts, [e.category for e in examples]), start=1
    ):
        for head in ("category", "urgency"):
            labels = [getattr(e, head) for e in examples]
            model = _fit_head(head, [texts[i] for i in train_idx], [labels[i] for i in train_idx])
            predicted = model.predict([texts[i] for i in test_idx])
            truth = [labels[i] for i in test_idx]
            scores[head].append(float(f1_score(truth, predicted, average="macro")))
        if progress is not None:
            progress(fold)
    return {
        head: {"macro_f1_mean": round(sum(v) / len(v), 4), "folds": [round(x, 4) for x in v]}
        for head, v in scores.items()
    }


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

    texts = [model_input(e) for e in examples]
    category = _fit_head("category", texts, [e.category for e in examples])
    urgency = _fit_head("urgency", texts, [e.urgency for e in examples])
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
