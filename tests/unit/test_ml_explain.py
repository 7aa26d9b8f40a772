"""Feature-level explanations of a real trained model: the n-grams are really in the text,
their columns are the pipeline's own, and they push towards the label they explain."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from mailbot.adapters.modelstore import (
    Explainer,
    SklearnModel,
    class_coefficients,
    load_model,
    strongest,
)
from mailbot.ml.train import read_labelled, train_model
from mailbot.resources import shipped
from mailbot.settings import DEFAULT_CATEGORIES, DEFAULT_URGENCIES

ENGLISH = shipped("models") / "training" / "train-en.jsonl"
KOREAN = shipped("models") / "training" / "train-ko.jsonl"
DEPOSIT = "Deposit not credited\nI sent 0.5 ETH two hours ago, txid 0xab12, deposit still missing"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> SklearnModel:
    out = tmp_path_factory.mktemp("model") / "m"
    examples = [
        e
        for path in (ENGLISH, KOREAN)
        for e in read_labelled(path, categories=DEFAULT_CATEGORIES, urgencies=DEFAULT_URGENCIES)
    ]
    train_model(
        examples,
        out,
        version="explain-test",
        created=datetime(2026, 11, 22, tzinfo=UTC),
        categories=DEFAULT_CATEGORIES,
        urgencies=DEFAULT_URGENCIES,
        data_hash="x",
    )
    assert (out / "runtime.npz").exists()  # train_model writes the numpy export too
    # the scikit-learn path (models without runtime.npz); the export: test_runtime_model.py
    model = load_model(
        out, categories=DEFAULT_CATEGORIES, urgencies=DEFAULT_URGENCIES, runtime=False
    )
    assert isinstance(model, SklearnModel)
    return model


def test_explanation_is_made_of_the_texts_own_ngrams_for_the_winning_label(
    model: SklearnModel,
) -> None:
    cats, _urgs = model.predict(DEPOSIT)
    assert max(cats, key=cats.__getitem__) == "deposit_withdrawal"
    found = model.explain(DEPOSIT, {"category": "deposit_withdrawal"}, k=5)
    assert set(found) == {"category"}
    grams = found["category"]
    assert 1 <= len(grams) <= 5
    assert all(g in DEPOSIT.lower() for g in grams)
    assert any("deposit" in g or "credit" in g or "txid" in g for g in grams), grams


def test_korean_text_is_explained_with_korean_ngrams(model: SklearnModel) -> None:
    text = (
        "입금 확인 부탁드립니다\n"
        "어제 보낸 USDT 입금이 아직 반영되지 않았습니다. 입금 내역 확인해 주세요"
    )
    cats, _ = model.predict(text)
    label = max(cats, key=cats.__getitem__)
    grams = model.explain(text, {"category": label})["category"]
    assert any("입금" in g for g in grams), (label, grams)


def test_explainer_columns_are_the_pipelines_columns(model: SklearnModel) -> None:
    """Every column the explainer names is non-zero in the features step's own output."""
    features = model._heads["category"].steps[0][1]
    explainer = Explainer([t for _, t in features.transformer_list])
    for text in (
        DEPOSIT,
        "비밀번호 재설정 메일이 오지 않아요",
        "不正ログインされました！出金を止めて",
    ):
        _grams, columns, counts = explainer.analyse(text)
        row = features.transform([text]).tocsr()
        assert sorted(set(columns.tolist())) == sorted(row.indices.tolist())
        dense = row.toarray()[0]
        assert np.array_equal(dense[columns], counts)


def test_only_positive_readable_contributions_longest_of_overlaps() -> None:
    grams = ["log", "login", "!!", "x", "fee", "abc"]
    contribution = np.array([3.0, 2.0, 5.0, 4.0, -1.0, 0.0])
    assert strongest(grams, contribution, k=5) == ["login"]
    assert strongest(grams, np.array([1.0, 2.0, 0.0, 0.0, 0.5, 0.1]), k=2) == ["login", "fee"]


def test_coefficients_for_binary_and_multiclass_models() -> None:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    x = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9], [0.5, 0.5], [0.2, 0.8]])
    binary = LogisticRegression().fit(x, ["a", "a", "b", "b", "a", "b"])
    assert class_coefficients(binary, "b")[1] > 0 > class_coefficients(binary, "a")[1]
    three = ["a", "a", "b", "b", "c", "c"]
    multi = LogisticRegression().fit(x, three)
    assert np.array_equal(class_coefficients(multi, "c"), multi.coef_[2])
    calibrated = CalibratedClassifierCV(LinearSVC(), cv=2, ensemble=False).fit(
        np.vstack([x, x]), three + three
    )
    inner = calibrated.calibrated_classifiers_[0].estimator
    assert np.array_equal(class_coefficients(calibrated, "b"), inner.coef_[1])
    assert class_coefficients(multi, "zzz") is None


def test_models_of_the_first_shape_still_predict_and_explain() -> None:
    """Before explanations a head was one HashingVectorizer -> TF-IDF -> a calibrated linear
    SVM (urgency) or logistic regression, with no thresholds; such models keep working."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC

    from mailbot.adapters.modelstore import ModelMetadata

    examples = read_labelled(ENGLISH, categories=DEFAULT_CATEGORIES, urgencies=DEFAULT_URGENCIES)
    texts = [f"{e.subject}\n{e.text}" for e in examples]

    def head(model: object) -> Pipeline:
        features = HashingVectorizer(
            analyzer="char_wb", ngram_range=(1, 3), n_features=2**16, alternate_sign=False
        )
        return Pipeline([("features", features), ("tfidf", TfidfTransformer()), ("model", model)])

    category = head(LogisticRegression(max_iter=300)).fit(texts, [e.category for e in examples])
    urgency = head(CalibratedClassifierCV(LinearSVC(), cv=3, ensemble=False)).fit(
        texts, [e.urgency for e in examples]
    )
    meta = ModelMetadata("old", tuple(DEFAULT_CATEGORIES), tuple(DEFAULT_URGENCIES), {})
    model = SklearnModel(category, urgency, meta)
    assert model.thresholds == {}
    cats, urgs = model.predict(DEPOSIT)
    for probabilities, pipeline in ((cats, category), (urgs, urgency)):
        expected = pipeline.predict_proba([DEPOSIT])[0]
        assert probabilities == pytest.approx(dict(zip(pipeline.classes_, expected, strict=True)))
    found = model.explain(DEPOSIT, {"category": "deposit_withdrawal", "urgency": "high"})
    assert set(found) == {"category", "urgency"}
    assert found["category"] and all(g in DEPOSIT.lower() for g in found["category"])
