"""The daemon's classifier without scikit-learn, scipy or skops: numpy arrays exported from
the fitted pipelines into the model directory (runtime.npz, read with allow_pickle=False).

Importing scikit-learn, scipy and skops cost the daemon ~140 MB of its memory; this needs
numpy and mmh3 only. It reproduces the pipelines (hashed n-grams -> TF-IDF -> linear model)
to ~1e-7 in probability and their explanations exactly; ml/export.py writes the file and
checks that before writing it, tests/unit/test_runtime_model.py on every training text.

runtime.npz holds `spec` (UTF-8 JSON: format, version and creation time of the model it was
exported from, the hashers' parameters, per head its
classes, link and TF-IDF settings) and arrays over the columns the model knows (`columns`,
sorted): per head `<head>_idf`, `<head>_coef` (float32, classes x columns) and
`<head>_intercept`. Every other column has no weight and the head's `idf_default`.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from mailbot.core.textfeatures import HashedFeatures, HasherSpec
from mailbot.errors import ModelError

if TYPE_CHECKING:
    from mailbot.adapters.modelstore import ModelMetadata

RUNTIME_FILE = "runtime.npz"
FORMAT = 1
HEADS = ("category", "urgency")
LINKS = ("ovr", "softmax")  # OvR sigmoids normalised (SGD log_loss), or softmax

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class RuntimeHead:
    """One head: TF-IDF settings and linear weights over the shared column map. `coef` and
    `idf` have one extra last column (zero weight, the default idf) for unknown columns."""

    classes: tuple[str, ...]
    link: str
    sublinear_tf: bool
    use_idf: bool
    l2_norm: bool
    idf: Floats
    coef: npt.NDArray[np.float32]
    intercept: Floats

    def tfidf(self, counts: Floats, positions: npt.NDArray[np.intp]) -> Floats:
        """TF-IDF before the row norm."""
        values = np.log(counts) + 1.0 if self.sublinear_tf else counts
        return values * self.idf[positions] if self.use_idf else values

    def probabilities(self, scores: Floats) -> Floats:
        """scikit-learn's predict_proba from decision scores (texts x rows of coef)."""
        if self.link == "softmax" and scores.shape[1] > 1:
            exp = np.exp(scores - scores.max(axis=1, keepdims=True))
            return np.asarray(exp / exp.sum(axis=1, keepdims=True), dtype=np.float64)
        prob = 1.0 / (1.0 + np.exp(-scores))
        if prob.shape[1] == 1:
            return np.hstack([1.0 - prob, prob])
        total = prob.sum(axis=1)
        zero = total == 0
        prob[zero, :] = 1.0  # as scikit-learn: uniform when every sigmoid underflowed
        total[zero] = prob.shape[1]
        return np.asarray(prob / total[:, None], dtype=np.float64)

    def weights(self, label: str, positions: npt.NDArray[np.intp]) -> Floats | None:
        """The weights pushing towards `label` at these positions (binary: one row, for
        classes[1])."""
        if label not in self.classes:
            return None
        index = self.classes.index(label)
        if self.coef.shape[0] == 1:
            row = self.coef[0, positions]
            return np.asarray(row if index == 1 else -row)
        return np.asarray(self.coef[index, positions])


class RuntimeModel:
    """Both heads on the hashed features; the same interface as SklearnModel."""

    def __init__(
        self,
        features: HashedFeatures,
        columns: npt.NDArray[np.integer[Any]],
        heads: Mapping[str, RuntimeHead],
        metadata: ModelMetadata,
    ) -> None:
        self.features = features
        self._heads = dict(heads)
        self.metadata = metadata
        self.version = metadata.version
        self._thresholds = metadata.thresholds
        # column -> position in the heads' arrays; unknown columns -> the extra last one
        self._position = np.full(features.n_features, len(columns), dtype=np.int32)
        self._position[columns] = np.arange(len(columns), dtype=np.int32)

    @property
    def thresholds(self) -> Mapping[str, Mapping[str, float]]:
        return self._thresholds

    def predict(self, text: str) -> tuple[Mapping[str, float], Mapping[str, float]]:
        return self.predict_many([text])[0]

    def predict_many(
        self, texts: Sequence[str]
    ) -> list[tuple[Mapping[str, float], Mapping[str, float]]]:
        rows, positions, counts = self._vectorise(texts)
        found = []
        for name in HEADS:
            head = self._heads[name]
            probabilities = head.probabilities(_scores(head, rows, positions, counts, len(texts)))
            found.append(
                [dict(zip(head.classes, map(float, p), strict=True)) for p in probabilities]
            )
        return list(zip(found[0], found[1], strict=True))

    def _vectorise(
        self, texts: Sequence[str]
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], Floats]:
        """All texts' non-zero columns at once: (text index, position, count) per entry."""
        rows, columns, counts = self.features.transform(texts)
        return rows, self._position[columns].astype(np.intp), counts

    def forget(self) -> None:
        """Free the n-grams kept from the last predict_many for explanations."""
        self.features.forget()

    def predict_labels(self, texts: Sequence[str]) -> list[tuple[str, str]]:
        """(category, urgency) per text, decided as the daemon does (thresholds applied)."""
        from mailbot.core.classify import decide_labels

        return decide_labels(self.predict_many(texts), self._thresholds)

    def explain(self, text: str, labels: Mapping[str, str], k: int = 5) -> dict[str, list[str]]:
        """As SklearnModel.explain: per head, the n-grams with the largest TF-IDF value x the
        label's coefficient (the row norm is left out: it changes no ranking)."""
        analysis = self.features.analyse(text)
        if not analysis.grams:
            return {}
        positions = self._position[analysis.columns].astype(np.intp)
        counts = analysis.counts
        found: dict[str, list[str]] = {}
        for name, label in labels.items():
            head = self._heads.get(name)
            weights = None if head is None else head.weights(label, positions)
            if head is None or weights is None:
                continue
            contribution = head.tfidf(counts, positions) * weights
            found[name] = strongest(analysis.grams, contribution, k)
        return found


def _scores(
    head: RuntimeHead,
    rows: npt.NDArray[np.intp],
    positions: npt.NDArray[np.intp],
    counts: Floats,
    n_texts: int,
) -> Floats:
    """Decision scores (texts x coef rows): the sparse product, one text per bincount bin."""
    values = head.tfidf(counts, positions)
    if head.l2_norm:
        norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=n_texts))
        norms[norms == 0] = 1.0
        values = values / norms[rows]
    gathered = head.coef[:, positions]
    scores = np.empty((n_texts, gathered.shape[0]), dtype=np.float64)
    for j in range(gathered.shape[0]):
        scores[:, j] = np.bincount(rows, weights=gathered[j] * values, minlength=n_texts)
    return scores + head.intercept


def strongest(grams: list[str], contribution: Any, k: int) -> list[str]:
    """The k n-grams with the largest positive contribution that a reader can make sense of:
    not punctuation alone, not a single Latin letter, and one n-gram per overlapping group
    (the longest), since "log" and "login" say the same thing."""
    chosen: list[str] = []
    for i in np.argsort(-contribution, kind="stable"):
        if contribution[i] <= 0 or len(chosen) == k:
            break
        gram = grams[int(i)].strip()
        if _readable(gram) and not any(gram in c for c in chosen):
            # a longer n-gram replaces the weaker pieces of itself chosen before it
            chosen = [c for c in chosen if c not in gram] + [gram]
    return chosen


def _readable(gram: str) -> bool:
    return any(ch.isalnum() for ch in gram) and (len(gram) > 1 or not gram.isascii())


def has_runtime(directory: Path) -> bool:
    return (directory / RUNTIME_FILE).exists()


_UNREADABLE = (
    OSError,
    EOFError,
    ValueError,
    LookupError,
    TypeError,
    zipfile.BadZipFile,
    zlib.error,
)


def load_runtime(directory: Path, metadata: ModelMetadata) -> RuntimeModel:
    """runtime.npz of a model directory; ModelError when it is corrupt, stale or unusable."""
    path = directory / RUNTIME_FILE
    try:
        arrays = _read_npz(path)
        spec = json.loads(bytes(arrays.pop("spec")).decode("utf-8"))
        return build_runtime(spec, arrays, metadata, path)
    except ModelError:
        raise
    except _UNREADABLE as exc:  # a damaged file fails in many ways inside zipfile/numpy
        raise ModelError(f"{path}: cannot load ({exc.__class__.__name__}: {exc})") from None


def _read_npz(path: Path) -> dict[str, Any]:
    """Every array of an .npz, never unpickling anything; the file is closed either way."""
    with path.open("rb") as handle:
        data = np.load(handle, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("not an .npz archive")
        with data:
            return {name: data[name] for name in data.files}


def build_runtime(
    spec: Mapping[str, Any],
    arrays: Mapping[str, Any],
    metadata: ModelMetadata,
    path: Path,
) -> RuntimeModel:
    """The model from runtime.npz's spec and arrays, checked against its metadata.json (`path`
    only names the file in errors); also used by ml/export.py before writing."""
    if spec.get("format") != FORMAT:
        raise ModelError(f"{path}: format {spec.get('format')!r}, expected {FORMAT}")
    if spec.get("created") != metadata.raw.get("created"):
        raise ModelError(
            f"{path}: written for the model trained at {spec.get('created')!r}, but "
            f"metadata.json says {metadata.raw.get('created')!r} (a stale export; re-export "
            "it with scripts/export-runtime-model.py)"
        )
    features = HashedFeatures([HasherSpec.from_json(h) for h in spec["features"]])
    columns = np.asarray(arrays["columns"], dtype=np.int64)
    if columns.ndim != 1 or (
        len(columns) and not 0 <= columns.min() <= columns.max() < features.n_features
    ):
        raise ValueError("columns out of range")
    heads = {name: _head(spec["heads"][name], arrays, name, len(columns)) for name in HEADS}
    taxonomy = {"category": metadata.categories, "urgency": metadata.urgencies}
    for name, head in heads.items():
        if set(head.classes) != set(taxonomy[name]):
            raise ModelError(f"{path}: {name} classes {head.classes} differ from metadata.json")
    return RuntimeModel(features, columns, heads, metadata)


def _head(raw: Mapping[str, Any], arrays: Mapping[str, Any], name: str, n: int) -> RuntimeHead:
    coef = np.asarray(arrays[f"{name}_coef"], dtype=np.float32)
    idf = np.asarray(arrays[f"{name}_idf"], dtype=np.float64)
    intercept = np.asarray(arrays[f"{name}_intercept"], dtype=np.float64)
    classes = tuple(str(c) for c in raw["classes"])
    rows = 1 if len(classes) == 2 and coef.shape[0] == 1 else len(classes)
    if coef.shape != (rows, n) or idf.shape != (n,) or intercept.shape != (rows,):
        raise ValueError(f"{name}: array shapes {coef.shape}, {idf.shape}, {intercept.shape}")
    if raw["link"] not in LINKS or raw.get("norm") not in ("l2", None):
        raise ValueError(f"{name}: unsupported link {raw['link']!r} or norm {raw.get('norm')!r}")
    return RuntimeHead(
        classes=classes,
        link=str(raw["link"]),
        sublinear_tf=bool(raw["sublinear_tf"]),
        use_idf=bool(raw["use_idf"]),
        l2_norm=raw.get("norm") == "l2",
        idf=np.append(idf, float(raw["idf_default"])),
        coef=np.hstack([coef, np.zeros((rows, 1), dtype=np.float32)]),
        intercept=intercept,
    )
