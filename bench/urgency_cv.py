#!/usr/bin/env python3
"""Cross-validated urgency variants on the training split (issue #4), never the held-out split.

    .venv/bin/python bench/urgency_cv.py [VARIANT ...] [--seeds 0 1 2] [--out FILE]

The protocol is `mailbot train --cv`'s (ml/train.py cross_validate) repeated with three
split seeds: stratified 5-fold on category; in every outer fold both heads are fitted on the
training part, the `critical` threshold is chosen by an inner 5-fold CV for 0.97 out-of-fold
recall with the urgency rules applied (fit_heads), and the test part is decided as the
daemon does (threshold, then the rules raise). Only the urgency head varies between variants;
each is compared with `base` (the shipped head) on the same folds.

Reads models/training/train-*.jsonl and seed.jsonl only. Prints a table and writes JSON to
bench/results/urgency_cv.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import FeatureUnion

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailbot.ml.thresholds import recall_threshold  # noqa: E402
from mailbot.ml.train import build_features, model_input, read_jsonl, rule_catches  # noqa: E402
from mailbot.settings import (  # noqa: E402
    DEFAULT_CATEGORIES,
    DEFAULT_URGENCIES,
    ClassifierSettings,
)

URG = sorted(DEFAULT_URGENCIES)  # column order of every variant's probabilities
CRIT = URG.index("critical")
ORDER = ["low", "normal", "high", "critical"]  # least to most urgent


def load() -> tuple[list[str], np.ndarray, np.ndarray]:
    split = ROOT / "models/training"
    sources = [*sorted(split.glob("train-*.jsonl")), split / "seed.jsonl"]
    assert not any(p.name.startswith("heldout") for p in sources)
    ex = [
        e
        for src in sources
        for e in read_jsonl(src, categories=DEFAULT_CATEGORIES, urgencies=DEFAULT_URGENCIES)
    ]
    texts = [model_input(e) for e in ex]
    return texts, np.array([e.category for e in ex]), np.array([e.urgency for e in ex])


def sgd(
    alpha: float = 1e-5, cw: Any = "balanced", seed: int = 0, average: bool = False
) -> SGDClassifier:
    return SGDClassifier(
        loss="log_loss",
        alpha=alpha,
        max_iter=100,
        tol=1e-4,
        random_state=seed,
        class_weight=cw,
        average=average,
    )


def tfidf(x_tr: Any, x_te: Any, sublinear: bool = True) -> tuple[Any, Any]:
    t = TfidfTransformer(sublinear_tf=sublinear).fit(x_tr)
    return t.transform(x_tr), t.transform(x_te)


def proba_in(model: Any, x: Any, classes: list[str] = URG) -> np.ndarray:
    p = model.predict_proba(x)
    out = np.zeros((x.shape[0], len(classes)))
    for j, c in enumerate(model.classes_):
        out[:, classes.index(str(c))] = p[:, j]
    return out


# A variant: (hashed train, urgency train, category train, hashed test, ctx) -> P(URG) on test.
Variant = Callable[[Any, np.ndarray, np.ndarray, Any, dict[str, Any]], np.ndarray]


def base(
    alpha: float = 1e-5,
    cw: Any = "balanced",
    sublinear: bool = True,
    average: bool = False,
    seed: int = 0,
) -> Variant:
    def run(xtr: Any, ytr: np.ndarray, ctr: np.ndarray, xte: Any, ctx: dict[str, Any]) -> Any:
        a, b = tfidf(xtr, xte, sublinear)
        m = sgd(alpha, _weights(cw, ytr), seed=seed, average=average)
        return proba_in(m.fit(a, ytr), b)

    return run


def _weights(cw: Any, y: np.ndarray) -> Any:
    if cw != "sqrt":
        return cw
    labels, n = np.unique(y, return_counts=True)
    w = np.sqrt(len(y) / (len(labels) * n))
    return dict(zip(labels, w, strict=True))


def coef_average(n: int = 5, alpha: float = 1e-5, tol: float | None = 1e-4) -> Variant:
    """n SGD fits with different shuffles, their weights averaged into one linear model."""

    def run(xtr: Any, ytr: np.ndarray, ctr: np.ndarray, xte: Any, ctx: dict[str, Any]) -> Any:
        a, b = tfidf(xtr, xte)
        models = []
        for seed in range(n):
            m = sgd(alpha, seed=seed)
            m.set_params(tol=tol, max_iter=100 if tol else 20)
            models.append(m.fit(a, ytr))
        first = models[0]
        first.coef_ = np.mean([m.coef_ for m in models], axis=0)
        first.intercept_ = np.mean([m.intercept_ for m in models], axis=0)
        return proba_in(first, b)

    return run


def joint(alpha: float = 1e-5, cw: Any = "balanced") -> Variant:
    """One head over category x urgency; P(urgency) is the sum over categories."""

    def run(xtr: Any, ytr: np.ndarray, ctr: np.ndarray, xte: Any, ctx: dict[str, Any]) -> Any:
        a, b = tfidf(xtr, xte)
        y = np.char.add(np.char.add(ctr.astype(str), "|"), ytr.astype(str))
        m = sgd(alpha, cw).fit(a, y)
        p = m.predict_proba(b)
        out = np.zeros((b.shape[0], len(URG)))
        for j, c in enumerate(m.classes_):
            out[:, URG.index(str(c).split("|")[1])] += p[:, j]
        return out

    return run


def joint_mix(w: float = 0.5) -> Variant:
    """Average of the shipped head and the joint head."""
    b0, j0 = base(), joint()

    def run(xtr: Any, ytr: np.ndarray, ctr: np.ndarray, xte: Any, ctx: dict[str, Any]) -> Any:
        return (1 - w) * b0(xtr, ytr, ctr, xte, ctx) + w * j0(xtr, ytr, ctr, xte, ctx)

    return run


def stacked(scale: float = 1.0, products: bool = False) -> Variant:
    """Out-of-fold category probabilities (inner 5-fold on the training part) appended to
    the urgency head's TF-IDF row; at test time the category head fitted on all of it."""

    def run(xtr: Any, ytr: np.ndarray, ctr: np.ndarray, xte: Any, ctx: dict[str, Any]) -> Any:
        a, b = tfidf(xtr, xte)
        cats = sorted(set(ctr))
        oof = np.zeros((a.shape[0], len(cats)))
        for i_tr, i_te in StratifiedKFold(5, shuffle=True, random_state=1).split(a, ctr):
            m = sgd(cw=None).fit(a[i_tr], ctr[i_tr])
            oof[i_te] = proba_in(m, a[i_te], cats)
        pte = proba_in(sgd(cw=None).fit(a, ctr), b, cats)
        a2 = sp.hstack([a, sp.csr_matrix(scale * oof)]).tocsr()
        b2 = sp.hstack([b, sp.csr_matrix(scale * pte)]).tocsr()
        return proba_in(sgd().fit(a2, ytr), b2)

    return run


def ordinal(alpha: float = 1e-5) -> Variant:
    """Cumulative binary heads P(>= normal), P(>= high), P(>= critical), differenced."""

    def run(xtr: Any, ytr: np.ndarray, ctr: np.ndarray, xte: Any, ctx: dict[str, Any]) -> Any:
        a, b = tfidf(xtr, xte)
        rank = np.array([ORDER.index(u) for u in ytr])
        cum = [np.ones(b.shape[0])]
        for k in (1, 2, 3):
            m = sgd(alpha).fit(a, rank >= k)
            cum.append(m.predict_proba(b)[:, 1])
        cum.append(np.zeros(b.shape[0]))
        c = np.array(cum).T
        c = np.minimum.accumulate(c, axis=1)  # monotone
        out = np.zeros((b.shape[0], len(URG)))
        for k, name in enumerate(ORDER):
            out[:, URG.index(name)] = c[:, k] - c[:, k + 1]
        return out

    return run


def sequential(
    alpha: float = 1e-5, crit_from_base: bool = False, cw: Any = "balanced", n: int = 1
) -> Variant:
    """Continuation-ratio heads: P(>= normal), P(>= high | >= normal), P(critical | >= high),
    each fitted only on the examples at or above its lower level (the last one learns
    critical against high and nothing else)."""

    def run(xtr: Any, ytr: np.ndarray, ctr: np.ndarray, xte: Any, ctx: dict[str, Any]) -> Any:
        a, b = tfidf(xtr, xte)
        rank = np.array([ORDER.index(u) for u in ytr])
        cond = []
        for k in (1, 2, 3):
            keep = rank >= k - 1
            fits = [sgd(alpha, cw, seed=seed).fit(a[keep], rank[keep] >= k) for seed in range(n)]
            m = fits[0]
            m.coef_ = np.mean([f.coef_ for f in fits], axis=0)
            m.intercept_ = np.mean([f.intercept_ for f in fits], axis=0)
            cond.append(m.predict_proba(b)[:, 1])
        c1, c2, c3 = cond
        out = np.zeros((b.shape[0], len(URG)))
        out[:, URG.index("low")] = 1 - c1
        out[:, URG.index("normal")] = c1 * (1 - c2)
        out[:, URG.index("high")] = c1 * c2 * (1 - c3)
        out[:, URG.index("critical")] = c1 * c2 * c3
        if crit_from_base:
            pb = proba_in(sgd(alpha).fit(a, ytr), b)[:, CRIT]
            rest = 1 - out[:, CRIT]
            out *= ((1 - pb) / np.maximum(rest, 1e-12))[:, None]
            out[:, CRIT] = pb
        return out

    return run


def low_head(alpha: float = 1e-5) -> Variant:
    """The shipped head, with P(low) from a binary balanced low-vs-rest head (the other
    three rescaled to the rest)."""

    def run(xtr: Any, ytr: np.ndarray, ctr: np.ndarray, xte: Any, ctx: dict[str, Any]) -> Any:
        a, b = tfidf(xtr, xte)
        p = proba_in(sgd(alpha).fit(a, ytr), b)
        low = sgd(alpha).fit(a, ytr == "low").predict_proba(b)[:, 1]
        j = URG.index("low")
        rest = 1 - p[:, j]
        p *= ((1 - low) / np.maximum(rest, 1e-12))[:, None]
        p[:, j] = low
        return p

    return run


def ordinal_mix(w: float = 0.5) -> Variant:
    b0, o0 = base(), ordinal()

    def run(xtr: Any, ytr: np.ndarray, ctr: np.ndarray, xte: Any, ctx: dict[str, Any]) -> Any:
        return (1 - w) * b0(xtr, ytr, ctr, xte, ctx) + w * o0(xtr, ytr, ctr, xte, ctx)

    return run


def nbsvm(alpha: float = 1e-5, smooth: float = 1.0) -> Variant:
    """One-vs-rest logistic heads on NB log-count-ratio scaled binarised TF-IDF (NBSVM)."""

    def run(xtr: Any, ytr: np.ndarray, ctr: np.ndarray, xte: Any, ctx: dict[str, Any]) -> Any:
        a, b = tfidf(xtr, xte)
        out = np.zeros((b.shape[0], len(URG)))
        for j, lab in enumerate(URG):
            pos = ytr == lab
            p = smooth + np.asarray(a[pos].sum(axis=0)).ravel()
            q = smooth + np.asarray(a[~pos].sum(axis=0)).ravel()
            r = np.log((p / p.sum()) / (q / q.sum()))
            d = sp.diags(r)
            m = sgd(alpha, "balanced").fit(a @ d, pos)
            out[:, j] = m.predict_proba(b @ d)[:, 1]
        return out / out.sum(axis=1, keepdims=True)

    return run


def cnb_mix(w: float = 0.3, nb_alpha: float = 0.3) -> Variant:
    b0 = base()

    def run(xtr: Any, ytr: np.ndarray, ctr: np.ndarray, xte: Any, ctx: dict[str, Any]) -> Any:
        a, b = tfidf(xtr, xte)
        nb = proba_in(ComplementNB(alpha=nb_alpha).fit(a, ytr), b)
        return (1 - w) * b0(xtr, ytr, ctr, xte, ctx) + w * nb

    return run


def other_features(union: FeatureUnion, inner: Variant) -> Variant:
    """`inner` on other hashed features (ctx carries the texts' indices)."""

    def run(xtr: Any, ytr: np.ndarray, ctr: np.ndarray, xte: Any, ctx: dict[str, Any]) -> Any:
        key = id(union)
        if key not in ctx["cache"]:
            ctx["cache"][key] = union.transform(ctx["texts"]).tocsr()
        x = ctx["cache"][key]
        return inner(x[ctx["tr"]], ytr, ctr, x[ctx["te"]], ctx)

    return run


def words13() -> FeatureUnion:
    """The shipped features with word 1-3-grams instead of 1-2."""
    common: dict[str, Any] = {"alternate_sign": False, "norm": None}
    chars = HashingVectorizer(analyzer="char_wb", ngram_range=(1, 3), n_features=2**18, **common)
    words = HashingVectorizer(
        analyzer="word",
        ngram_range=(1, 3),
        n_features=2**17,
        token_pattern=r"(?u)\b\w+\b",
        **common,
    )
    return FeatureUnion([("chars", chars), ("words", words)])


def first_line(text: str) -> str:
    """The subject: model_input is `subject + "\\n" + text`."""
    return text.split("\n", 1)[0].lower()


def features(
    chars: tuple[int, int] = (1, 3),
    char_bits: int = 18,
    analyzer: str = "char_wb",
    words: tuple[int, int] | None = (1, 2),
    word_bits: int = 17,
    subject_chars: tuple[int, int] | None = None,
    subject_bits: int = 16,
    subject_words: tuple[int, int] | None = None,
    subject_word_bits: int = 15,
) -> FeatureUnion:
    """A hashed feature union like build_features' (its defaults are the shipped features),
    optionally with the subject line hashed again by its own vectorizers."""
    common: dict[str, Any] = {"alternate_sign": False, "norm": None}
    word_opts: dict[str, Any] = {"analyzer": "word", "token_pattern": r"(?u)\b\w+\b"}
    parts: list[tuple[str, Any]] = [
        (
            "chars",
            HashingVectorizer(
                analyzer=analyzer, ngram_range=chars, n_features=2**char_bits, **common
            ),
        )
    ]
    if words:
        parts.append(
            (
                "words",
                HashingVectorizer(
                    ngram_range=words, n_features=2**word_bits, **word_opts, **common
                ),
            )
        )
    if subject_chars:
        parts.append(
            (
                "subject_chars",
                HashingVectorizer(
                    analyzer="char_wb",
                    ngram_range=subject_chars,
                    n_features=2**subject_bits,
                    preprocessor=first_line,
                    **common,
                ),
            )
        )
    if subject_words:
        parts.append(
            (
                "subject_words",
                HashingVectorizer(
                    ngram_range=subject_words,
                    n_features=2**subject_word_bits,
                    preprocessor=first_line,
                    **word_opts,
                    **common,
                ),
            )
        )
    return FeatureUnion(parts)


def feat(inner: Callable[[], Variant] = base, **kw: Any) -> Callable[[], Variant]:
    """A VARIANTS entry: `inner` on features(**kw); the variant carries its union."""

    def make() -> Variant:
        union = features(**kw)
        v = other_features(union, inner())
        v.union = union  # type: ignore[attr-defined]
        return v

    return make


def with_bias(make: Callable[[], Variant]) -> Callable[[], Variant]:
    """The variant's probabilities with per-class additive biases on the log-probabilities
    of low / normal / high, tuned on the inner out-of-fold predictions for macro-F1 (after the
    critical threshold has been chosen on them, as evaluate() does)."""

    def wrapped() -> Variant:
        v = make()

        def run(xtr: Any, ytr: np.ndarray, ctr: np.ndarray, xte: Any, ctx: dict[str, Any]) -> Any:
            return v(xtr, ytr, ctr, xte, ctx)

        run.tune_bias = True  # type: ignore[attr-defined]
        if hasattr(v, "union"):
            run.union = v.union  # type: ignore[attr-defined]
        return run

    return wrapped


VARIANTS: dict[str, Callable[[], Variant]] = {
    "base": base,
    "alpha3e-6": lambda: base(alpha=3e-6),
    "alpha3e-5": lambda: base(alpha=3e-5),
    "alpha1e-4": lambda: base(alpha=1e-4),
    "cw_none": lambda: base(cw=None),
    "cw_sqrt": lambda: base(cw="sqrt"),
    "no_sublinear": lambda: base(sublinear=False),
    "asgd": lambda: base(average=True),
    "asgd_a3e-6": lambda: base(alpha=3e-6, average=True),
    "asgd_a1e-6": lambda: base(alpha=1e-6, average=True),
    "avg5": coef_average,
    "avg5_a3e-6": lambda: coef_average(alpha=3e-6),
    "tol_none": lambda: coef_average(n=1, tol=None),
    "joint": joint,
    "joint_mix": joint_mix,
    "stacked": stacked,
    "stacked_x3": lambda: stacked(3.0),
    "ordinal": ordinal,
    "sequential": sequential,
    "sequential_basecrit": lambda: sequential(crit_from_base=True),
    "seq_a3e-6": lambda: sequential(alpha=3e-6),
    "seq_a2e-5": lambda: sequential(alpha=2e-5),
    "seq_cw_none": lambda: sequential(cw=None),
    "seq_avg5": lambda: sequential(n=5),
    "seq_basecrit_avg5": lambda: sequential(crit_from_base=True, n=5),
    "low_head": low_head,
    "ordinal_mix": ordinal_mix,
    "nbsvm": nbsvm,
    "cnb_mix": cnb_mix,
    "words1-3": lambda: other_features(words13(), base()),
    # features for the urgency head on the 8,966-email split (branch featcv)
    "f_base": feat(),  # the shipped features rebuilt by features(): must equal base
    "wb1-4": feat(chars=(1, 4)),
    "wb1-4_19": feat(chars=(1, 4), char_bits=19),
    "wb2-4": feat(chars=(2, 4)),
    "wb2-4_19": feat(chars=(2, 4), char_bits=19),
    "wb1-5": feat(chars=(1, 5)),
    "wb1-5_19": feat(chars=(1, 5), char_bits=19),
    "char1-4": feat(chars=(1, 4), analyzer="char"),
    "char1-4_19": feat(chars=(1, 4), analyzer="char", char_bits=19),
    "subj": feat(subject_chars=(1, 3)),
    "subj_w": feat(subject_chars=(1, 3), subject_words=(1, 2)),
    "wb1-3_19": feat(char_bits=19),
    "words_18": feat(word_bits=18),
    "subj_wb1-4": feat(subject_chars=(1, 4)),
    "subj_w_only": feat(subject_words=(1, 2)),
    "wb1-4_a3e-5": feat(lambda: base(alpha=3e-5), chars=(1, 4)),
    "wb1-2": feat(chars=(1, 2)),
    "words1": feat(words=(1, 1)),
    "char1-3": feat(analyzer="char"),
    "bias": with_bias(base),
    "subj_bias": with_bias(feat(subject_chars=(1, 3))),
    "words_19": feat(word_bits=19),
    "wb19_words18": feat(char_bits=19, word_bits=18),
    "words18_subj": feat(word_bits=18, subject_chars=(1, 3)),
    "words18_subj_bias": with_bias(feat(word_bits=18, subject_chars=(1, 3))),
    "words18_bias": with_bias(feat(word_bits=18)),
    "base_sgd1": lambda: base(seed=1),  # the noise floor: only SGD's shuffle seed differs
    "base_sgd2": lambda: base(seed=2),
}


# Nonlinear model kinds (branch kinds): gradient boosting and a one-hidden-layer net on
# TF-IDF columns selected inside each fit, alone and blended with the shipped head.


def _fold_key(name: str, ctx: dict[str, Any]) -> tuple[Any, ...]:
    """A cache key for one fit of a kind: its settings and the exact train/test rows."""
    return (name, ctx["tr"].tobytes(), ctx["te"].tobytes())


def cached(name: str, v: Variant) -> Variant:
    """`v` with its test probabilities kept in ctx["cache"] for the same rows, so a blend run
    in the same process after the kind alone reuses its fits (and its fit time is not
    counted twice)."""

    def run(xtr: Any, ytr: np.ndarray, ctr: np.ndarray, xte: Any, ctx: dict[str, Any]) -> Any:
        key = _fold_key(name, ctx)
        if key not in ctx["cache"]:
            ctx["cache"][key] = v(xtr, ytr, ctr, xte, ctx)
        return ctx["cache"][key]

    return run


def select_columns(a: Any, y: np.ndarray, k: int, min_df: int = 3) -> np.ndarray:
    """Indices of the k columns with the highest chi2 against y among those with document
    frequency >= min_df, computed on the training rows only."""
    from sklearn.feature_selection import chi2

    cand = np.flatnonzero(a.getnnz(axis=0) >= min_df)
    if len(cand) <= k:
        return cand
    score = np.nan_to_num(chi2(a[:, cand], y)[0], nan=0.0)
    return np.sort(cand[np.argpartition(-score, k)[:k]])


def fit_mlp(a: Any, y: np.ndarray, hidden: int, alpha: float, epochs: int, **params: Any) -> Any:
    """A one-hidden-layer relu net (adam) trained for exactly `epochs` epochs (no early
    stopping), with balanced sample weights."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from sklearn.utils.class_weight import compute_sample_weight

    m = MLPClassifier(
        hidden_layer_sizes=(hidden,),
        alpha=alpha,
        max_iter=epochs,
        n_iter_no_change=epochs + 1,
        tol=0.0,
        random_state=0,
        **params,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed number of epochs
        return m.fit(a, y, sample_weight=compute_sample_weight("balanced", y))


def lgbm(
    k: int = 20000,
    rounds: int = 300,
    leaves: int = 15,
    lr: float = 0.1,
    min_child: int = 10,
    colsample: float = 0.5,
    max_bin: int = 63,
) -> Variant:
    """LightGBM multiclass on the k chi2-selected TF-IDF columns, class_weight balanced."""

    def run(xtr: Any, ytr: np.ndarray, ctr: np.ndarray, xte: Any, ctx: dict[str, Any]) -> Any:
        # Not a project dependency: pip install --target DIR lightgbm, then PYTHONPATH=DIR.
        from lightgbm import LGBMClassifier  # type: ignore[import-not-found,unused-ignore]

        a, b = tfidf(xtr, xte)
        cols = select_columns(a, ytr, k)
        m = LGBMClassifier(
            objective="multiclass",
            n_estimators=rounds,
            num_leaves=leaves,
            learning_rate=lr,
            min_child_samples=min_child,
            colsample_bytree=colsample,
            max_bin=max_bin,
            class_weight="balanced",
            num_threads=1,
            random_state=0,
            verbose=-1,
        )
        a = a[:, cols].astype(np.float32)
        m.fit(a, ytr)
        return proba_in(m, b[:, cols].astype(np.float32))

    return run


def mlp(
    k: int = 20000,
    hidden: int = 128,
    alpha: float = 1e-4,
    epochs: int = 15,
    lr: float = 1e-3,
    batch: int = 128,
) -> Variant:
    """One hidden relu layer (adam) on the k chi2-selected TF-IDF columns; balanced sample
    weights; a fixed number of epochs (no early stopping)."""

    def run(xtr: Any, ytr: np.ndarray, ctr: np.ndarray, xte: Any, ctx: dict[str, Any]) -> Any:
        a, b = tfidf(xtr, xte)
        cols = select_columns(a, ytr, k)
        m = fit_mlp(a[:, cols], ytr, hidden, alpha, epochs, learning_rate_init=lr, batch_size=batch)
        return proba_in(m, b[:, cols])

    return run


def svd_dense(
    dims: int = 300, model: str = "hgb", rounds: int = 200, hidden: int = 128, epochs: int = 30
) -> Variant:
    """TruncatedSVD of the TF-IDF (fitted on the training part) into HistGradientBoosting or
    an MLP, balanced."""

    def run(xtr: Any, ytr: np.ndarray, ctr: np.ndarray, xte: Any, ctx: dict[str, Any]) -> Any:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.preprocessing import StandardScaler

        a, b = tfidf(xtr, xte)
        cols = select_columns(a, ytr, 50000, min_df=3)
        svd = TruncatedSVD(dims, algorithm="randomized", n_iter=4, random_state=0)
        za = svd.fit_transform(a[:, cols])
        zb = svd.transform(b[:, cols])
        if model == "hgb":
            m: Any = HistGradientBoostingClassifier(
                max_iter=rounds,
                learning_rate=0.1,
                max_leaf_nodes=15,
                min_samples_leaf=10,
                class_weight="balanced",
                early_stopping=False,
                random_state=0,
            )
            m.fit(za, ytr)
            return proba_in(m, zb)
        sc = StandardScaler().fit(za)
        m = fit_mlp(sc.transform(za), ytr, hidden, 1e-3, epochs)
        return proba_in(m, sc.transform(zb))

    return run


def kind(name: str, make: Callable[[], Variant], w: float | None = None) -> Callable[[], Variant]:
    """A VARIANTS entry for a model kind (w None) or its blend (1 - w) * base + w * kind.
    Fits are cached by `name` and rows, so `X` then `X_mix` in one run fit X once."""

    def build() -> Variant:
        k = cached(name, make())
        if w is None:
            return k
        b0 = cached("base", base())

        def run(xtr: Any, ytr: np.ndarray, ctr: np.ndarray, xte: Any, ctx: dict[str, Any]) -> Any:
            return (1 - w) * b0(xtr, ytr, ctr, xte, ctx) + w * k(xtr, ytr, ctr, xte, ctx)

        return run

    return build


KINDS: dict[str, Callable[[], Variant]] = {
    # k=20000 columns took 85 s per LightGBM fit on one core (30 fits per seed): 5,000 here
    "lgb": lambda: lgbm(k=5000, rounds=150, leaves=15, lr=0.1, colsample=0.3, max_bin=15),
    "lgb_l31": lambda: lgbm(k=5000, rounds=300, leaves=31, lr=0.05, colsample=0.3, max_bin=15),
    "lgb_k20k": lambda: lgbm(k=20000, rounds=150, leaves=15, lr=0.1, colsample=0.3, max_bin=15),
    "mlp": lambda: mlp(k=10000, hidden=64, epochs=10, alpha=1e-4),
    "mlp_a1e-3": lambda: mlp(k=10000, hidden=64, epochs=10, alpha=1e-3),
    "mlp_k20k_h128": lambda: mlp(k=20000, hidden=128, epochs=10, alpha=1e-4),
    "svd_hgb": svd_dense,
    "svd_mlp": lambda: svd_dense(model="mlp"),
}
# the control for every blend: two linear heads differing only in SGD's shuffle seed, averaged
VARIANTS["base_seedmix"] = kind("base_sgd1", lambda: base(seed=1), 0.5)
for _name, _make in KINDS.items():
    VARIANTS[_name] = kind(_name, _make)
    VARIANTS[f"{_name}_mix"] = kind(_name, _make, 0.5)
    VARIANTS[f"{_name}_mix25"] = kind(_name, _make, 0.25)


def decide(
    p: np.ndarray, threshold: float, caught: np.ndarray, bias: np.ndarray | None = None
) -> np.ndarray:
    score = p if bias is None else np.log(np.maximum(p, 1e-12)) + bias
    idx = np.where(p[:, CRIT] >= threshold, CRIT, score.argmax(axis=1))
    idx = np.where(caught, CRIT, idx)
    return np.array(URG)[idx]


def tune_bias(
    oof: np.ndarray, threshold: float, caught: np.ndarray, y: np.ndarray, rounds: int = 3
) -> np.ndarray:
    """Coordinate ascent over additive log-probability biases for low / normal / high (critical
    stays 0 and is decided by the threshold first) maximising macro-F1 on these OOF rows."""
    grid = np.round(np.arange(-2.0, 2.01, 0.1), 2)
    bias = np.zeros(len(URG))

    truth = np.searchsorted(URG, y)

    def score(b: np.ndarray) -> float:
        pred = np.searchsorted(URG, decide(oof, threshold, caught, b))
        tp = np.bincount(pred[pred == truth], minlength=len(URG))
        fp = np.bincount(pred, minlength=len(URG)) - tp
        fn = np.bincount(truth, minlength=len(URG)) - tp
        return float(np.mean(2 * tp / np.maximum(2 * tp + fp + fn, 1)))

    best = score(bias)
    for _ in range(rounds):
        moved = False
        for lab in ("low", "normal", "high"):
            j = URG.index(lab)
            for v in grid:
                b = bias.copy()
                b[j] = v
                f = score(b)
                if f > best + 1e-9:
                    best, bias, moved = f, b, True
        if not moved:
            break
    return bias


def evaluate(
    variant: Variant,
    x: Any,
    cat: np.ndarray,
    urg: np.ndarray,
    caught: np.ndarray,
    seed: int,
    texts: list[str],
    cache: dict[Any, Any],
    critical_recall: float = 0.97,
) -> dict[str, Any]:
    """Outer 5-fold (split seed `seed`, stratified on category), inner threshold CV for
    `critical_recall` (0: no threshold, argmax; the rules still raise)."""
    outer = StratifiedKFold(5, shuffle=True, random_state=seed)
    pred = np.empty(len(urg), dtype=object)
    folds: list[float] = []
    biases: list[list[float]] = []
    started = time.perf_counter()
    for tr, te in outer.split(x, cat):
        ctx = {"texts": texts, "cache": cache}
        # inner CV as fit_heads/_urgent_threshold: 5 folds on urgency, random_state 0
        oof = np.zeros((len(tr), len(URG)))
        inner = StratifiedKFold(5, shuffle=True, random_state=0)
        for itr, ite in inner.split(tr, urg[tr]):
            ctx.update(tr=tr[itr], te=tr[ite])
            oof[ite] = variant(x[tr[itr]], urg[tr[itr]], cat[tr[itr]], x[tr[ite]], ctx)
        scores = np.where(caught[tr], 1.0, oof[:, CRIT])
        thr = recall_threshold(
            scores.tolist(), (urg[tr] == "critical").tolist(), target=critical_recall
        )
        assert thr is not None  # every training part has critical examples
        if critical_recall == 0:
            thr = 2.0  # above every probability: argmax decides
        bias = np.zeros(len(URG))
        if getattr(variant, "tune_bias", False):
            bias = tune_bias(oof, float(thr), caught[tr], urg[tr])
            biases.append(bias.round(3).tolist())
        ctx.update(tr=tr, te=te)
        p = variant(x[tr], urg[tr], cat[tr], x[te], ctx)
        pred[te] = decide(p, float(thr), caught[te], bias)
        folds.append(float(f1_score(urg[te], pred[te], average="macro")))
    truth = urg == "critical"
    flagged = pred == "critical"
    per_class = f1_score(urg, pred, labels=ORDER, average=None)
    recall = {
        lab: round(float(((pred == lab) & (urg == lab)).sum() / (urg == lab).sum()), 3)
        for lab in ORDER
    }
    out: dict[str, Any] = {
        "seconds_per_fold": round((time.perf_counter() - started) / len(folds), 2),
        "macro_f1": round(float(np.mean(folds)), 4),
        "crit_recall": round(float((flagged & truth).sum() / truth.sum()), 4),
        "crit_precision": round(float((flagged & truth).sum() / flagged.sum()), 4),
        "f1": {lab: round(float(v), 3) for lab, v in zip(ORDER, per_class, strict=True)},
        "recall": recall,
    }
    if biases:
        out["biases"] = biases
    return out


def category_f1(x: Any, cat: np.ndarray, seed: int) -> float:
    """The category head (unchanged by every variant) on the same outer folds."""
    folds = []
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(x, cat):
        a, b = tfidf(x[tr], x[te])
        m = sgd(cw=None).fit(a, cat[tr])
        folds.append(float(f1_score(cat[te], m.predict(b), average="macro")))
    return round(float(np.mean(folds)), 4)


def report(name: str, rows: dict[str, Any], base_rows: dict[str, Any], seconds: float) -> None:
    seeds = sorted(rows)
    f1s = [rows[s]["macro_f1"] for s in seeds]
    delta = [rows[s]["macro_f1"] - base_rows.get(s, {}).get("macro_f1", np.nan) for s in seeds]
    r0 = rows[seeds[0]]
    print(
        f"{name:20s} urgency F1 {' '.join(f'{v:.4f}' for v in f1s)}  "
        f"delta {' '.join(f'{d:+.4f}' for d in delta)}  "
        f"crit R/P {r0['crit_recall']:.3f}/{r0['crit_precision']:.3f}  "
        f"recall {r0['recall']}  ({seconds:.0f} s)",
        flush=True,
    )


def table(results: dict[str, Any]) -> str:
    """A Markdown table of every variant in `results`, deltas against `base` per seed (the
    seeds a variant was run with; figures after the first three seeds in brackets)."""
    base_rows = results["base"]
    lines = [
        "| variant | urgency macro-F1 per seed | Δ vs base per seed | low F1 | "
        "critical OOF recall / precision | n_features (columns used) | s per outer fold |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, rows in results.items():
        if name == "category":
            continue
        seeds = sorted(s for s in rows if s in base_rows)
        f1s = _per_seed([f"{rows[s]['macro_f1']:.3f}" for s in seeds])
        deltas = _per_seed(
            [f"{rows[s]['macro_f1'] - base_rows[s]['macro_f1']:+.3f}" for s in seeds]
        )
        low = np.mean([rows[s]["f1"]["low"] for s in seeds])
        rec = np.mean([rows[s]["crit_recall"] for s in seeds])
        prec = np.mean([rows[s]["crit_precision"] for s in seeds])
        first = rows[seeds[0]]
        size = (
            f"{first['n_features']:,} ({first['columns_used']:,})" if "n_features" in first else ""
        )
        secs = [rows[s]["seconds_per_fold"] for s in seeds if "seconds_per_fold" in rows[s]]
        fold_s = f"{np.mean(secs):.1f}" if secs else ""
        lines.append(
            f"| {name} | {f1s} | {deltas} | {low:.3f} | {rec:.3f} / {prec:.3f} "
            f"| {size} | {fold_s} |"
        )
    cat = " / ".join(f"{v:.3f}" for _s, v in sorted(results["category"].items()))
    lines.append(f"\ncategory macro-F1 per seed (the same for every variant): {cat}")
    return "\n".join(lines)


def _per_seed(values: list[str]) -> str:
    head = " / ".join(values[:3])
    return head + (f" ({' / '.join(values[3:])})" if values[3:] else "")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("variants", nargs="*", default=list(VARIANTS))
    ap.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    ap.add_argument("--out", default=str(ROOT / "bench/results/urgency_cv.json"))
    ap.add_argument("--table", action="store_true", help="only print the table of --out")
    ap.add_argument(
        "--recall",
        type=float,
        default=0.97,
        help="out-of-fold critical recall the threshold is chosen for (0: argmax)",
    )
    args = ap.parse_args()
    out_path = Path(args.out)
    results: dict[str, Any] = json.loads(out_path.read_text()) if out_path.exists() else {}
    if args.table:
        print(table(results))
        return 0
    texts, cat, urg = load()
    x = build_features().transform(texts).tocsr()
    rules = ClassifierSettings().compiled_rules()
    caught = np.array(rule_catches(texts, rules, DEFAULT_URGENCIES))
    results.setdefault("category", {})
    for s in args.seeds:
        results["category"][str(s)] = category_f1(x, cat, s)
    names = list(args.variants)
    if any(str(s) not in results.get("base", {}) for s in args.seeds) and "base" not in names:
        names.insert(0, "base")  # every delta is against base on the same folds
    cache: dict[Any, Any] = {}
    alive = []  # the cache is keyed by id(union): keep every union alive so no id is reused
    for name in names:
        started = time.perf_counter()
        variant = VARIANTS[name]()
        alive.append(variant)
        rows = {
            str(s): evaluate(variant, x, cat, urg, caught, s, texts, cache, args.recall)
            for s in args.seeds
        }
        union = getattr(variant, "union", None)
        xv = x if union is None else cache[id(union)]
        for row in rows.values():
            row["n_features"] = int(xv.shape[1])
            row["columns_used"] = int((xv.getnnz(axis=0) > 0).sum())
        results[name] = results.get(name, {}) | rows
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(results, indent=1) + "\n")
        report(name, rows, results.get("base", {}), time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
