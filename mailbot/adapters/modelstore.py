"""Versioned classifiers on disk (skops format, never bare pickle) and loading them safely.

A model directory holds category.skops, urgency.skops and metadata.json (version, created,
taxonomy, training-data hash, library versions, metrics), and since the numpy runtime also
runtime.npz (adapters/runtimemodel.py). With runtime.npz the daemon loads that alone and never
imports scikit-learn, scipy or skops; an older directory without it is loaded with them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailbot.adapters.memory import release_free_memory
from mailbot.adapters.runtimemodel import RuntimeModel, has_runtime, load_runtime, strongest
from mailbot.errors import ModelError

__all__ = [
    "Explainer",
    "Model",
    "ModelMetadata",
    "RuntimeModel",
    "SklearnModel",
    "class_coefficients",
    "load_model",
    "load_skops",
    "read_metadata",
    "strongest",
    "tfidf_values",
]

# Types a shipped or trained model may contain beyond skops' own defaults. Anything else in a
# model file is refused: loading it could run code.
_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.sparse.", "builtins.", "collections.")


@dataclass(frozen=True)
class ModelMetadata:
    version: str
    categories: tuple[str, ...]
    urgencies: tuple[str, ...]
    raw: Mapping[str, Any]

    @property
    def thresholds(self) -> dict[str, dict[str, float]]:
        """Per-head decision thresholds (metadata.json "thresholds"); empty for older models."""
        found = self.raw.get("thresholds") or {}
        return {
            str(head): {str(label): float(t) for label, t in labels.items()}
            for head, labels in found.items()
        }


HEADS = ("category", "urgency")


class SklearnModel:
    """A pair of fitted scikit-learn pipelines (category head, urgency head).

    Each pipeline is features -> tfidf -> model. When both heads use the same (stateless,
    hashed) features, a text is vectorised once for both.
    """

    def __init__(self, category: Any, urgency: Any, metadata: ModelMetadata) -> None:
        self._heads = {"category": category, "urgency": urgency}
        self.metadata = metadata
        self.version = metadata.version
        self._thresholds = metadata.thresholds
        self._features = category.steps[0][1]
        self._vectorizers = _hashing_vectorizers(self._features)
        self._shared = _same_features(category, urgency)
        self._grams = Explainer(self._vectorizers)
        for pipeline in self._heads.values():
            _compact_coefficients(pipeline.steps[-1][1])

    @property
    def thresholds(self) -> Mapping[str, Mapping[str, float]]:
        return self._thresholds

    def predict(self, text: str) -> tuple[Mapping[str, float], Mapping[str, float]]:
        return self.predict_many([text])[0]

    def predict_many(
        self, texts: Sequence[str]
    ) -> list[tuple[Mapping[str, float], Mapping[str, float]]]:
        texts = list(texts)
        with _trusted_input():
            if self._shared:  # vectorise once, then the rest of each pipeline
                hashed = self._vectorise(texts)
                rows = [_predict_proba(self._heads[head], hashed, 1) for head in HEADS]
            else:
                rows = [_predict_proba(self._heads[head], texts, 0) for head in HEADS]
        cats, urgs = (
            [dict(zip(labels, map(float, row), strict=True)) for row in head_rows]
            for labels, head_rows in zip(self._labels(), rows, strict=True)
        )
        return list(zip(cats, urgs, strict=True))

    def _labels(self) -> list[list[str]]:
        return [[str(c) for c in self._heads[head].classes_] for head in HEADS]

    def _vectorise(self, texts: list[str]) -> Any:
        """The features step's output; a union of hashers is stacked directly (the same
        matrix, without FeatureUnion's per-call overhead)."""
        import scipy.sparse as sp

        union = getattr(self._features, "transformer_list", None)
        if (
            union
            and len(self._vectorizers) == len(union)
            and not self._features.transformer_weights
        ):
            return sp.hstack([v.transform(texts) for v in self._vectorizers], format="csr")
        return self._features.transform(texts)

    def predict_labels(self, texts: Sequence[str]) -> list[tuple[str, str]]:
        """(category, urgency) per text, decided as the daemon does (thresholds applied)."""
        from mailbot.core.classify import decide_labels

        return decide_labels(self.predict_many(texts), self._thresholds)

    def explain(self, text: str, labels: Mapping[str, str], k: int = 5) -> dict[str, list[str]]:
        """Per head, the n-grams of `text` that contribute most to the given label's score,
        strongest first (at most k, positive contributions only).

        The contribution of an n-gram is its TF-IDF value times the label's coefficient for
        its column. The text is analysed once for both heads, and only the given labels are
        scored, so this costs about as much as one more vectorisation.
        """
        grams, columns, counts = self._grams.analyse(text)
        found: dict[str, list[str]] = {}
        for head, label in labels.items():
            pipeline = self._heads.get(head)
            if pipeline is None or not grams:
                continue
            weights = class_coefficients(pipeline[-1], label)
            if weights is None:
                continue
            values = tfidf_values(pipeline.steps[1][1], columns, counts)
            found[head] = strongest(grams, values * weights[columns], k)
        return found


def _predict_proba(pipeline: Any, features: Any, start: int) -> Any:
    """pipeline[start:].predict_proba(features), with the final step's input in the dtype of
    its coefficients: sparse float64 times float32 weights would make scipy copy the weights
    to float64 (25-45 MB) on every call."""
    import numpy as np
    import scipy.sparse as sp

    steps = [step for _name, step in pipeline.steps[start:]]
    for step in steps[:-1]:
        features = step.transform(features)
    model = steps[-1]
    coef = getattr(model, "coef_", None)
    if sp.issparse(features) and isinstance(coef, np.ndarray) and coef.dtype == np.float32:
        features = features.astype(np.float32)
    return model.predict_proba(features)


@contextmanager
def _trusted_input() -> Iterator[None]:
    """Our own vectorised text needs no finiteness or parameter checks on every call; they
    cost more than the arithmetic for one email."""
    import sklearn

    with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
        yield


def _compact_coefficients(model: Any) -> None:
    """Store coef_ as float32 and column-major, once at load. float32 halves the largest
    arrays of the model (11 x 393,216 weights: 35 -> 17 MB); the scores are still computed
    in float64 (sparse float64 x float32 gives float64) and move by ~1e-7. Column-major:
    scikit-learn multiplies the features by coef_.T, which scipy would otherwise copy (tens
    of MB) on every prediction."""
    import numpy as np

    for estimator in (model, *(c.estimator for c in getattr(model, "calibrated_classifiers_", []))):
        coef = getattr(estimator, "coef_", None)
        if isinstance(coef, np.ndarray) and coef.dtype == np.float64:
            estimator.coef_ = np.asfortranarray(coef, dtype=np.float32)
        elif isinstance(coef, np.ndarray) and not coef.flags.f_contiguous:
            estimator.coef_ = np.asfortranarray(coef)


def _same_features(category: Any, urgency: Any) -> bool:
    try:
        return bool(
            repr(category.steps[0][1].get_params()) == repr(urgency.steps[0][1].get_params())
        )
    except (AttributeError, IndexError, TypeError):
        return False


class Explainer:
    """Maps the n-grams of a text to their hashed feature columns, exactly as the pipeline's
    HashingVectorizer(s) do (a FeatureUnion of them is laid side by side)."""

    def __init__(self, vectorizers: Sequence[Any]) -> None:
        self._parts: list[tuple[Callable[[str], list[str]], int, int]] = []
        offset = 0
        for vectorizer in vectorizers:
            self._parts.append((vectorizer.build_analyzer(), vectorizer.n_features, offset))
            offset += vectorizer.n_features

    def analyse(self, text: str) -> tuple[list[str], Any, Any]:
        """The distinct n-grams of text, their columns, and each column's count in text."""
        import numpy as np
        from sklearn.utils import murmurhash3_32

        grams: list[str] = []
        columns: list[int] = []
        counts: dict[int, int] = {}
        for analyze, n_features, offset in self._parts:
            seen = analyze(text)
            # FeatureHasher's column: abs(signed murmurhash3 of the UTF-8 bytes, seed 0) % n.
            column_of = {g: abs(murmurhash3_32(g, 0)) % n_features + offset for g in seen}
            grams.extend(column_of)
            columns.extend(column_of.values())
            for g in seen:
                counts[column_of[g]] = counts.get(column_of[g], 0) + 1
        cols = np.array(columns, dtype=np.int64)
        return grams, cols, np.array([counts[c] for c in columns], dtype=np.float64)


def _hashing_vectorizers(features: Any) -> list[Any]:
    from sklearn.feature_extraction.text import HashingVectorizer

    if isinstance(features, HashingVectorizer):
        return [features]
    parts = [t for _name, t in getattr(features, "transformer_list", [])]
    if parts and all(isinstance(p, HashingVectorizer) for p in parts):
        return parts
    return []  # some other features step: no explanations, predictions are unaffected


def class_coefficients(model: Any, label: str) -> Any:
    """The linear weights pushing towards `label` (1-D), or None for a non-linear model.

    LogisticRegression/SGDClassifier: coef_; CalibratedClassifierCV(ensemble=False): its one
    fitted estimator's coef_. A binary model has one row, for classes_[1].
    """
    import numpy as np

    inner = model
    if hasattr(model, "calibrated_classifiers_"):
        inner = model.calibrated_classifiers_[0].estimator
    coef = getattr(inner, "coef_", None)
    classes = [str(c) for c in getattr(model, "classes_", [])]
    if coef is None or label not in classes:
        return None
    coef = np.asarray(coef.toarray() if hasattr(coef, "toarray") else coef)
    index = classes.index(label)
    if coef.shape[0] == 1:
        return coef[0] if index == 1 else -coef[0]
    return coef[index]


def tfidf_values(transformer: Any, columns: Any, counts: Any) -> Any:
    """TF-IDF of these columns up to the row's norm, which is one positive factor for the
    whole text and so changes no ranking (TfidfTransformer: log(tf)+1 when sublinear, x idf)."""
    import numpy as np

    values = np.log(counts) + 1.0 if getattr(transformer, "sublinear_tf", False) else counts
    idf = getattr(transformer, "idf_", None)
    if getattr(transformer, "use_idf", False) and idf is not None:
        values = values * idf[columns]
    return values


Model = SklearnModel | RuntimeModel


def load_model(
    directory: Path,
    *,
    categories: Sequence[str],
    urgencies: Sequence[str],
    runtime: bool = True,
) -> Model:
    """Load and check a model directory; ModelError says exactly what is wrong.

    Its runtime.npz when there is one (and `runtime`), else the skops files with
    scikit-learn (imported only then)."""
    metadata = read_metadata(directory)
    if set(metadata.categories) != set(categories) or set(metadata.urgencies) != set(urgencies):
        raise ModelError(
            f"model {metadata.version} was trained for categories {sorted(metadata.categories)} "
            f"and urgencies {sorted(metadata.urgencies)}, but the config's taxonomy is "
            f"{sorted(categories)} / {sorted(urgencies)}; retrain with `mailbot train`"
        )
    model: Model
    if runtime and has_runtime(directory):
        model = load_runtime(directory, metadata)
    else:
        model = SklearnModel(
            load_skops(directory / "category.skops"),
            load_skops(directory / "urgency.skops"),
            metadata,
        )
    release_free_memory(collect=True)  # the loader's garbage: ~40 MB of RSS otherwise
    return model


def read_metadata(directory: Path) -> ModelMetadata:
    path = directory / "metadata.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return ModelMetadata(
            version=str(raw["version"]),
            categories=tuple(raw["taxonomy"]["categories"]),
            urgencies=tuple(raw["taxonomy"]["urgencies"]),
            raw=raw,
        )
    except FileNotFoundError:
        raise ModelError(f"{path}: missing") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{path}: malformed ({exc.__class__.__name__}: {exc})") from None


def load_skops(path: Path) -> Any:
    import skops.io as sio  # imported here: it is slow to import and only needed at load

    try:
        untrusted = sio.get_untrusted_types(file=path)
        refused = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
        if refused:
            raise ModelError(f"{path}: refusing to load untrusted types {refused}")
        return sio.load(path, trusted=untrusted)
    except ModelError:
        raise
    except Exception as exc:  # a corrupt file fails in many ways inside skops/zipfile
        raise ModelError(f"{path}: cannot load ({exc.__class__.__name__}: {exc})") from exc
