"""Versioned classifiers on disk (skops format, never bare pickle) and loading them safely.

A model directory holds category.skops, urgency.skops and metadata.json (version, created,
taxonomy, training-data hash, library versions, metrics).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailbot.errors import ModelError

# Types a shipped or trained model may contain beyond skops' own defaults. Anything else in a
# model file is refused: loading it could run code.
_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.sparse.", "builtins.", "collections.")


@dataclass(frozen=True)
class ModelMetadata:
    version: str
    categories: tuple[str, ...]
    urgencies: tuple[str, ...]
    raw: Mapping[str, Any]


class SklearnModel:
    """A pair of fitted scikit-learn pipelines (category head, urgency head)."""

    def __init__(self, category: Any, urgency: Any, metadata: ModelMetadata) -> None:
        self._category = category
        self._urgency = urgency
        self.metadata = metadata
        self.version = metadata.version

    def predict(self, text: str) -> tuple[Mapping[str, float], Mapping[str, float]]:
        return self.predict_many([text])[0]

    def predict_many(
        self, texts: Sequence[str]
    ) -> list[tuple[Mapping[str, float], Mapping[str, float]]]:
        cats = self._category.predict_proba(list(texts))
        urgs = self._urgency.predict_proba(list(texts))
        cat_labels = [str(c) for c in self._category.classes_]
        urg_labels = [str(c) for c in self._urgency.classes_]
        return [
            (
                dict(zip(cat_labels, map(float, c), strict=True)),
                dict(zip(urg_labels, map(float, u), strict=True)),
            )
            for c, u in zip(cats, urgs, strict=True)
        ]


def load_model(
    directory: Path, *, categories: Sequence[str], urgencies: Sequence[str]
) -> SklearnModel:
    """Load and check a model directory; ModelError says exactly what is wrong."""
    metadata = read_metadata(directory)
    if set(metadata.categories) != set(categories) or set(metadata.urgencies) != set(urgencies):
        raise ModelError(
            f"model {metadata.version} was trained for categories {sorted(metadata.categories)} "
            f"and urgencies {sorted(metadata.urgencies)}, but the config's taxonomy is "
            f"{sorted(categories)} / {sorted(urgencies)}; retrain with `mailbot train`"
        )
    return SklearnModel(
        _load_skops(directory / "category.skops"),
        _load_skops(directory / "urgency.skops"),
        metadata,
    )


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


def _load_skops(path: Path) -> Any:
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
