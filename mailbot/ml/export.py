"""Fitted scikit-learn heads -> runtime.npz, the export the daemon classifies with (numpy and
mmh3 only; see adapters/runtimemodel.py). Offline: imports scikit-learn.

Only pipelines the runtime reproduces are exported: hashed features (HashingVectorizer or a
FeatureUnion of them, alternate_sign=False, norm=None) -> TfidfTransformer -> SGDClassifier
(log_loss) or LogisticRegression. The export is checked against the pipelines on the given
texts before it is written; anything else leaves no runtime.npz, and the daemon falls back to
loading the skops files with scikit-learn.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mailbot.adapters.modelstore import ModelMetadata, read_metadata
from mailbot.adapters.runtimemodel import FORMAT, HEADS, RUNTIME_FILE, RuntimeModel, build_runtime
from mailbot.core.textfeatures import ANALYZERS, HasherSpec

log = logging.getLogger(__name__)

TOLERANCE = 1e-6  # largest probability difference accepted (float32 weights move ~1e-7)


class UnsupportedModel(ValueError):
    """The pipelines have a shape the runtime does not reproduce."""


def hasher_specs(features: Any) -> list[HasherSpec]:
    from sklearn.feature_extraction.text import HashingVectorizer

    parts = [features] if isinstance(features, HashingVectorizer) else []
    if not parts and not getattr(features, "transformer_weights", None):
        parts = [t for _name, t in getattr(features, "transformer_list", [])]
    if not parts or not all(isinstance(p, HashingVectorizer) for p in parts):
        raise UnsupportedModel(f"features step {type(features).__name__} is not hashed n-grams")
    specs, offset = [], 0
    for p in parts:
        plain = (
            p.input == "content"
            and p.strip_accents is None
            and p.preprocessor is None
            and p.tokenizer is None
            and p.stop_words is None
            and not p.alternate_sign
            and p.norm is None
            and not p.binary
            and p.analyzer in ANALYZERS
            and p.dtype in (np.float64, float)
        )
        if not plain:
            raise UnsupportedModel(f"unsupported HashingVectorizer parameters: {p!r}")
        specs.append(
            HasherSpec(
                str(p.analyzer),
                tuple(p.ngram_range),
                int(p.n_features),
                bool(p.lowercase),
                str(p.token_pattern),
                offset,
            )
        )
        offset += int(p.n_features)
    return specs


def _head_parts(pipeline: Any) -> tuple[Any, Any, str]:
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.linear_model import LogisticRegression, SGDClassifier

    steps = [step for _name, step in pipeline.steps]
    if len(steps) != 3 or not isinstance(steps[1], TfidfTransformer):
        raise UnsupportedModel("a head must be features -> TfidfTransformer -> linear model")
    tfidf, model = steps[1], steps[2]
    if tfidf.norm not in ("l2", None):
        raise UnsupportedModel(f"TF-IDF norm {tfidf.norm!r}")
    if isinstance(model, SGDClassifier) and model.loss == "log_loss":
        link = "ovr"
    elif isinstance(model, LogisticRegression):
        ovr = len(model.classes_) <= 2 or getattr(model, "multi_class", "auto") == "ovr"
        link = "ovr" if ovr else "softmax"
    else:
        raise UnsupportedModel(f"model {type(model).__name__} has no exported probability link")
    return tfidf, model, link


def export_arrays(
    category: Any, urgency: Any, *, version: str, created: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(spec, arrays) of runtime.npz for these two fitted pipelines."""
    specs = [hasher_specs(p.steps[0][1]) for p in (category, urgency)]
    if specs[0] != specs[1]:
        raise UnsupportedModel("the two heads hash their text differently")
    parts = {name: _head_parts(p) for name, p in zip(HEADS, (category, urgency), strict=True)}
    n_features = sum(s.n_features for s in specs[0])
    known = np.zeros(n_features, dtype=bool)
    defaults: dict[str, float] = {}
    for name, (tfidf, model, _link) in parts.items():
        known |= np.asarray(model.coef_ != 0).any(axis=0)
        if tfidf.use_idf:
            values, seen = np.unique(tfidf.idf_, return_counts=True)
            defaults[name] = float(values[seen.argmax()])  # the idf of every unseen column
            known |= tfidf.idf_ != defaults[name]
    columns = np.flatnonzero(known).astype(np.int32)
    arrays: dict[str, Any] = {"columns": columns}
    heads: dict[str, Any] = {}
    for name, (tfidf, model, link) in parts.items():
        idf = tfidf.idf_[columns] if tfidf.use_idf else np.ones(len(columns))
        arrays[f"{name}_idf"] = np.asarray(idf, dtype=np.float64)
        arrays[f"{name}_coef"] = np.asarray(model.coef_[:, columns], dtype=np.float32)
        arrays[f"{name}_intercept"] = np.asarray(model.intercept_, dtype=np.float64)
        heads[name] = {
            "classes": [str(c) for c in model.classes_],
            "link": link,
            "sublinear_tf": bool(tfidf.sublinear_tf),
            "use_idf": bool(tfidf.use_idf),
            "norm": tfidf.norm,
            "idf_default": defaults.get(name, 1.0),
        }
    spec = {
        "format": FORMAT,
        "version": version,
        "created": created,  # binds the export to its metadata.json (a stale one is refused)
        "features": [s.to_json() for s in specs[0]],
        "heads": heads,
    }
    return spec, arrays


def check_export(model: RuntimeModel, category: Any, urgency: Any, texts: Sequence[str]) -> float:
    """The largest probability difference between the export and the pipelines on texts;
    UnsupportedModel when it exceeds TOLERANCE."""
    texts = list(texts)
    if not texts:
        return 0.0
    got = model.predict_many(texts)
    worst = 0.0
    for index, pipeline in enumerate((category, urgency)):
        expected = pipeline.predict_proba(texts)
        classes = [str(c) for c in pipeline.classes_]
        mine = np.array([[row[index][c] for c in classes] for row in got])
        worst = max(worst, float(np.abs(mine - expected).max()))
    if worst > TOLERANCE:
        raise UnsupportedModel(f"export differs from the pipelines by {worst:.2e} in probability")
    return worst


def write_runtime(
    out: Path, category: Any, urgency: Any, *, metadata: ModelMetadata, check: Sequence[str]
) -> bool:
    """Write out/runtime.npz for the fitted heads, checked on `check` texts. A model the
    runtime cannot reproduce gets none (and loses a stale one); returns whether written."""
    target = out / RUNTIME_FILE
    try:
        spec, arrays = export_arrays(
            category, urgency, version=metadata.version, created=metadata.raw.get("created")
        )
        model = build_runtime(spec, arrays, metadata, target)
        check_export(model, category, urgency, check)
    except UnsupportedModel as exc:
        log.warning("no %s for model %s: %s", RUNTIME_FILE, metadata.version, exc)
        target.unlink(missing_ok=True)
        return False
    spec_bytes = np.frombuffer(json.dumps(spec, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    partial = out / f".{RUNTIME_FILE}.partial"
    with partial.open("wb") as handle:
        np.savez_compressed(handle, spec=spec_bytes, **arrays)
    os.replace(partial, target)
    return True


def export_directory(directory: Path, check: Sequence[str]) -> bool:
    """(Re)write runtime.npz of a saved model directory from its skops files."""
    from mailbot.adapters.modelstore import load_skops

    metadata = read_metadata(directory)
    category = load_skops(directory / "category.skops")
    urgency = load_skops(directory / "urgency.skops")
    return write_runtime(directory, category, urgency, metadata=metadata, check=check)
