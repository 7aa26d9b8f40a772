"""The numpy runtime (runtime.npz) against the scikit-learn pipelines it was exported from:
the same n-grams, columns, probabilities, labels and explanations on every training text.

This test imports scikit-learn; the daemon does not (tests/unit/test_runtime_imports.py)."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from mailbot.adapters.modelstore import (
    ModelMetadata,
    RuntimeModel,
    SklearnModel,
    load_model,
    load_skops,
    read_metadata,
)
from mailbot.adapters.runtimemodel import RUNTIME_FILE
from mailbot.core.textfeatures import (
    HashedFeatures,
    HasherSpec,
    build_analyzer,
    build_counter,
    columns_of_hashes,
    hashed_columns,
)
from mailbot.errors import ModelError
from mailbot.ml.export import export_arrays, write_runtime
from mailbot.ml.train import build_features
from mailbot.resources import shipped
from mailbot.settings import DEFAULT_CATEGORIES, DEFAULT_URGENCIES

TRAINING = shipped("models") / "training"
ODD = [
    "",
    "   ",
    "a",
    "A b",
    "\t\n x  y\u3000z\u00a0w\x1c",
    "İstanbul ß ǅ ÀÉÎ",
    "ＦＵＬＬ　ｗｉｄｔｈ 全角",
    "emoji 🙂🙂 and 한글 섞임 text_with_underscores 1,000.50",
    "don't re-send e-mail!!! ...",
]


def training_texts() -> list[str]:
    texts = []
    for path in sorted(TRAINING.glob("train-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                texts.append(f"{row.get('subject', '')}\n{row['text']}")
    return texts


TEXTS = training_texts()


@pytest.mark.parametrize(
    "params",
    [
        {"analyzer": "char_wb", "ngram_range": (1, 3)},
        {"analyzer": "char_wb", "ngram_range": (2, 4)},
        {"analyzer": "char", "ngram_range": (1, 3)},
        {"analyzer": "char", "ngram_range": (3, 5), "lowercase": False},
        {"analyzer": "word", "ngram_range": (1, 2), "token_pattern": r"(?u)\b\w+\b"},
        {"analyzer": "word", "ngram_range": (2, 3)},
        {"analyzer": "word", "ngram_range": (1, 1), "lowercase": False},
    ],
)
def test_analyzers_are_scikit_learns(params: dict[str, object]) -> None:
    from sklearn.feature_extraction.text import HashingVectorizer

    theirs = HashingVectorizer(**params).build_analyzer()  # type: ignore[arg-type]
    spec = HasherSpec(n_features=2**10, **params)  # type: ignore[arg-type]
    ours, counter = build_analyzer(spec), build_counter(spec)
    for text in [*ODD, *TEXTS]:
        assert ours(text) == theirs(text), text
        assert list(counter(text).items()) == list(Counter(theirs(text)).items()), text


def test_columns_are_feature_hashers() -> None:
    from sklearn.feature_extraction import FeatureHasher

    grams = ["a", " ab", "입금", "ＦＵＬＬ", "🙂", "x" * 300, *{g for t in ODD for g in t.split()}]
    for n in (2**18, 2**17, 1000, 7):
        hasher = FeatureHasher(n_features=n, input_type="string", alternate_sign=False)
        expected = [int(hasher.transform([[g]]).indices[0]) for g in grams]
        assert hashed_columns(grams, n).tolist() == expected


def test_the_one_hash_whose_abs_overflows() -> None:
    """_hashing_fast.pyx defines abs(-2**31) % n as (2**31 - 1 - (n - 1)) % n."""
    for n in (2**18, 1000, 7):
        got = columns_of_hashes(np.array([-(2**31), -5, 5], dtype=np.int64), n)
        assert got.tolist() == [(2147483647 - (n - 1)) % n, 5 % n, 5 % n]


def test_hashed_matrix_is_the_feature_unions() -> None:
    union = build_features()
    ours = HashedFeatures(
        [
            HasherSpec("char_wb", (1, 3), 2**18),
            HasherSpec("word", (1, 2), 2**17, token_pattern=r"(?u)\b\w+\b", offset=2**18),
        ]
    )
    texts = [*ODD, *TEXTS]
    theirs = union.transform(texts).tocoo()
    rows, columns, counts = ours.transform(texts)
    values = counts.tolist()
    expected = sorted(
        zip(theirs.row.tolist(), theirs.col.tolist(), theirs.data.tolist(), strict=True)
    )
    assert sorted(zip(rows.tolist(), columns.tolist(), values, strict=True)) == expected


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped default model's skops files, exported afresh."""
    directory = tmp_path_factory.mktemp("model") / "default"
    shutil.copytree(shipped("models") / "default", directory)
    (directory / RUNTIME_FILE).unlink(missing_ok=True)
    category = load_skops(directory / "category.skops")
    urgency = load_skops(directory / "urgency.skops")
    meta = read_metadata(directory)
    assert write_runtime(directory, category, urgency, metadata=meta, check=TEXTS[:50])
    return directory


def test_runtime_equals_the_pipelines_on_every_training_text(exported: Path) -> None:
    taxonomy = {"categories": DEFAULT_CATEGORIES, "urgencies": DEFAULT_URGENCIES}
    ours = load_model(exported, **taxonomy)
    daemon_before = load_model(exported, runtime=False, **taxonomy)  # float32 weights
    assert isinstance(ours, RuntimeModel) and isinstance(daemon_before, SklearnModel)
    got = ours.predict_many(TEXTS)
    for index, head in enumerate(("category", "urgency")):
        pipeline = load_skops(exported / f"{head}.skops")  # pristine float64
        expected = pipeline.predict_proba(TEXTS)
        mine = np.array([[row[index][str(c)] for c in pipeline.classes_] for row in got])
        np.testing.assert_allclose(mine, expected, rtol=0, atol=1e-5)
    assert ours.predict_labels(TEXTS) == daemon_before.predict_labels(TEXTS)
    for text, (cats, _urgs) in zip(TEXTS, got, strict=True):
        labels = {"category": max(cats, key=cats.__getitem__), "urgency": "critical"}
        assert ours.explain(text, labels) == daemon_before.explain(text, labels), text


def test_shipped_default_carries_its_export() -> None:
    directory = shipped("models") / "default"
    model = load_model(directory, categories=DEFAULT_CATEGORIES, urgencies=DEFAULT_URGENCIES)
    assert isinstance(model, RuntimeModel)
    assert model.version == read_metadata(directory).version
    assert sum(p.stat().st_size for p in directory.iterdir()) < 50e6


def test_corrupt_or_stale_export_is_a_model_error(exported: Path, tmp_path: Path) -> None:
    taxonomy = {"categories": DEFAULT_CATEGORIES, "urgencies": DEFAULT_URGENCIES}
    broken = tmp_path / "broken"
    shutil.copytree(exported, broken)
    (broken / RUNTIME_FILE).write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ModelError, match=r"runtime\.npz: cannot load"):
        load_model(broken, **taxonomy)
    data = (exported / RUNTIME_FILE).read_bytes()
    (broken / RUNTIME_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match=r"runtime\.npz"):
        load_model(broken, **taxonomy)
    stale = tmp_path / "stale"
    shutil.copytree(exported, stale)
    meta = json.loads((stale / "metadata.json").read_text())
    (stale / "metadata.json").write_text(json.dumps(meta | {"created": "2026-01-01T00:00:00"}))
    with pytest.raises(ModelError, match="stale export"):
        load_model(stale, **taxonomy)


def test_a_pipeline_the_runtime_cannot_reproduce_gets_no_export(
    exported: Path, tmp_path: Path
) -> None:
    """A calibrated SVM head: no runtime.npz (a stale one is removed), loaded with sklearn."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    category = load_skops(exported / "category.skops")
    urgency = load_skops(exported / "urgency.skops")
    rows = [json.loads(x) for x in (TRAINING / "train-en.jsonl").read_text().splitlines() if x]
    texts = [f"{r.get('subject', '')}\n{r['text']}" for r in rows]
    hashed = urgency[:2].transform(texts)
    calibrated = CalibratedClassifierCV(LinearSVC(), cv=3, ensemble=False)
    urgency.steps[-1] = ("model", calibrated.fit(hashed, [r["urgency"] for r in rows]))
    target = tmp_path / "m"
    shutil.copytree(exported, target)
    meta = read_metadata(target)
    assert not write_runtime(target, category, urgency, metadata=meta, check=texts[:5])
    assert not (target / RUNTIME_FILE).exists()
    with pytest.raises(ValueError, match="no exported probability link"):
        export_arrays(category, urgency, version="x")


def test_binary_and_softmax_heads() -> None:
    """Two-class heads (one weight row) and multinomial logistic regression also match."""
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.pipeline import Pipeline

    from mailbot.adapters.runtimemodel import build_runtime

    rows = [json.loads(x) for x in (TRAINING / "train-en.jsonl").read_text().splitlines() if x]
    texts = [f"{r.get('subject', '')}\n{r['text']}" for r in rows]

    def head(model: object, labels: list[str]) -> Pipeline:
        features = HashingVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 3),
            n_features=2**12,
            alternate_sign=False,
            norm=None,
        )
        steps = [("f", features), ("t", TfidfTransformer()), ("m", model)]
        return Pipeline(steps).fit(texts, labels)

    binary = ["critical" if r["urgency"] == "critical" else "low" for r in rows]
    category = head(LogisticRegression(max_iter=500), [r["category"] for r in rows])
    urgency = head(SGDClassifier(loss="log_loss", random_state=0), binary)
    meta = ModelMetadata("t", tuple(sorted(set(category.classes_))), ("critical", "low"), {})
    assert meta.raw.get("created") is None
    spec, arrays = export_arrays(category, urgency, version="t")
    assert spec["heads"]["category"]["link"] == "softmax"
    model = build_runtime(spec, arrays, meta, Path("runtime.npz"))
    got = model.predict_many(texts)
    for index, pipeline in enumerate((category, urgency)):
        mine = np.array([[row[index][str(c)] for c in pipeline.classes_] for row in got])
        np.testing.assert_allclose(mine, pipeline.predict_proba(texts), rtol=0, atol=1e-5)
    text = texts[0]
    for label in ("critical", "low"):
        explained = model.explain(text, {"urgency": label})["urgency"]
        assert all(g in text.lower() for g in explained)


def test_explanations_of_just_predicted_texts_reuse_their_ngrams_and_equal_fresh_ones() -> None:
    taxonomy = {"categories": DEFAULT_CATEGORIES, "urgencies": DEFAULT_URGENCIES}
    directory = shipped("models") / "default"
    chunked = load_model(directory, **taxonomy)
    fresh = load_model(directory, **taxonomy)
    assert isinstance(chunked, RuntimeModel) and isinstance(fresh, RuntimeModel)
    features = chunked.features
    labels = {"category": "deposit_withdrawal", "urgency": "critical"}
    texts = [*ODD, *TEXTS[:40]]
    for start in range(0, len(texts), 16):
        chunk = texts[start : start + 16]
        chunked.predict_many(chunk)
        assert set(features._memo) == set(chunk)  # this chunk's texts, no more
        for text in chunk:
            assert chunked.explain(text, labels) == fresh.explain(text, labels), text
            assert text not in features._memo  # explained once, then freed
    chunked.predict_many(texts[:3])
    chunked.forget()
    assert features._memo == {}
    chunked.predict_many(TEXTS[: HashedFeatures.MEMO_TEXTS + 1])
    assert features._memo == {}  # a larger call keeps nothing
