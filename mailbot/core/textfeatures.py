"""Hashed n-gram features of a text without scikit-learn: the same columns and counts as a
(FeatureUnion of) HashingVectorizer(alternate_sign=False, norm=None), with numpy and mmh3.

It re-implements what scikit-learn's feature_extraction/text.py does for the analyzers
"char_wb", "char" and "word" (lowercasing, white-space folding, the token pattern, n-gram
order) and _hashing_fast.pyx's column (abs of the signed MurmurHash3 of the UTF-8 bytes,
seed 0, modulo n_features; -2**31 handled as there). tests/unit/test_runtime_model.py checks
it against scikit-learn on every training text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import mmh3
import numpy as np
import numpy.typing as npt

_WHITE_SPACES = re.compile(r"\s\s+")  # scikit-learn's _white_spaces
ANALYZERS = ("char_wb", "char", "word")


@dataclass(frozen=True, slots=True)
class HasherSpec:
    """One HashingVectorizer's parameters that change its output, and its columns' offset in
    a FeatureUnion (binary=False, alternate_sign=False, norm=None: the only ones exported)."""

    analyzer: str
    ngram_range: tuple[int, int]
    n_features: int
    lowercase: bool = True
    token_pattern: str = r"(?u)\b\w\w+\b"
    offset: int = 0

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> HasherSpec:
        spec = cls(
            analyzer=str(raw["analyzer"]),
            ngram_range=(int(raw["ngram_range"][0]), int(raw["ngram_range"][1])),
            n_features=int(raw["n_features"]),
            lowercase=bool(raw["lowercase"]),
            token_pattern=str(raw["token_pattern"]),
            offset=int(raw["offset"]),
        )
        low, high = spec.ngram_range
        if spec.analyzer not in ANALYZERS or not 1 <= low <= high or spec.n_features < 1:
            raise ValueError(f"unsupported hasher {raw}")
        return spec

    def to_json(self) -> dict[str, Any]:
        return {
            "analyzer": self.analyzer,
            "ngram_range": list(self.ngram_range),
            "n_features": self.n_features,
            "lowercase": self.lowercase,
            "token_pattern": self.token_pattern,
            "offset": self.offset,
        }


def hashed_column(gram: str, n_features: int) -> int:
    """FeatureHasher's column of a string feature."""
    return int(hashed_columns([gram], n_features)[0])


def hashed_columns(grams: Iterable[str], n_features: int) -> npt.NDArray[np.int64]:
    """FeatureHasher's columns of string features (seed 0)."""
    return columns_of_hashes(np.fromiter(map(mmh3.hash, grams), dtype=np.int64), n_features)


def columns_of_hashes(hashes: npt.NDArray[np.int64], n_features: int) -> npt.NDArray[np.int64]:
    """abs(signed MurmurHash3 of the UTF-8 bytes) % n_features, where abs(-2**31), undefined
    on int32 in _hashing_fast.pyx, is defined there as (2**31 - 1 - (n_features - 1)) %
    n_features."""
    columns = np.abs(hashes) % n_features
    columns[hashes == -(2**31)] = (2**31 - 1 - (n_features - 1)) % n_features
    return columns


def char_wb_ngrams(text: str, low: int, high: int) -> list[str]:
    """_char_wb_ngrams: n-grams inside words padded with one space each side."""
    ngrams: list[str] = []
    for word in _WHITE_SPACES.sub(" ", text).split():
        ngrams += _word_char_ngrams(word, low, high)
    return ngrams


def _word_char_ngrams(word: str, low: int, high: int) -> list[str]:
    """One word's char_wb n-grams; a padded word no longer than n gives itself once and no
    longer n-grams."""
    w = f" {word} "
    w_len = len(w)
    ngrams: list[str] = []
    for n in range(low, high + 1):
        if w_len <= n:
            ngrams.append(w)
            break
        ngrams += [w[i : i + n] for i in range(w_len - n + 1)]
    return ngrams


def char_wb_counts(text: str, low: int, high: int) -> Counter[str]:
    """Counter(char_wb_ngrams(...)), in the same order, computing each distinct word's n-grams
    once: a repeated word only repeats n-grams already seen."""
    words = Counter(_WHITE_SPACES.sub(" ", text).split())
    ngrams: list[str] = []
    for word in words:
        ngrams += _word_char_ngrams(word, low, high)
    counts = Counter(ngrams)
    for word, seen in words.items():
        if seen > 1:
            for gram in _word_char_ngrams(word, low, high):
                counts[gram] += seen - 1
    return counts


def char_ngrams(text: str, low: int, high: int) -> list[str]:
    """_char_ngrams: n-grams over the whole text, white space folded."""
    text = _WHITE_SPACES.sub(" ", text)
    size = len(text)
    ngrams: list[str] = []
    if low == 1:
        ngrams = list(text)
        low = 2
    for n in range(low, min(high + 1, size + 1)):
        ngrams.extend(text[i : i + n] for i in range(size - n + 1))
    return ngrams


def word_ngrams(tokens: list[str], low: int, high: int) -> list[str]:
    """_word_ngrams without stop words: unigrams first, then bigrams, ..."""
    if high == 1:
        return tokens
    count = len(tokens)
    ngrams = list(tokens) if low == 1 else []
    for n in range(max(low, 2), min(high + 1, count + 1)):
        ngrams.extend(" ".join(tokens[i : i + n]) for i in range(count - n + 1))
    return ngrams


def build_counter(spec: HasherSpec) -> Callable[[str], Counter[str]]:
    """text -> Counter(build_analyzer(spec)(text)), faster for char_wb."""
    if spec.analyzer != "char_wb":
        analyze = build_analyzer(spec)
        return lambda text: Counter(analyze(text))
    low, high = spec.ngram_range
    lower = spec.lowercase
    return lambda text: char_wb_counts(text.lower() if lower else text, low, high)


def build_analyzer(spec: HasherSpec) -> Callable[[str], list[str]]:
    """text -> its n-grams, in scikit-learn's order (the order matters only for ties)."""
    low, high = spec.ngram_range
    lower = spec.lowercase
    if spec.analyzer == "word":
        tokenize = re.compile(spec.token_pattern).findall
        return lambda text: word_ngrams(tokenize(text.lower() if lower else text), low, high)
    ngrams = char_wb_ngrams if spec.analyzer == "char_wb" else char_ngrams
    return lambda text: ngrams(text.lower() if lower else text, low, high)


@dataclass(frozen=True, slots=True)
class Analysis:
    """A text's distinct n-grams (first occurrence order, per hasher), the column of each, and
    that column's count."""

    grams: list[str]
    columns: npt.NDArray[np.int64]
    counts: npt.NDArray[np.float64]


_Counted = tuple[Counter[str], npt.NDArray[np.int64]]


class HashedFeatures:
    """The hashers of a model laid side by side, as a FeatureUnion of them does."""

    # transform keeps its texts' n-grams for analyse when it is given at most this many (a
    # prepare chunk, ~50-100 KB a text): explaining a just-predicted text then costs no
    # second pass over its n-grams, which took about as long as the prediction itself.
    MEMO_TEXTS = 64

    def __init__(self, specs: Sequence[HasherSpec]) -> None:
        self.specs = tuple(specs)
        self.n_features = max((s.offset + s.n_features for s in self.specs), default=0)
        self._parts = [(build_counter(s), s.n_features, s.offset) for s in self.specs]
        self._memo: dict[str, list[_Counted]] = {}  # the last transform's texts, if few

    def forget(self) -> None:
        """Drop the kept n-grams (a chunk of long mails can hold tens of MB)."""
        self._memo = {}

    def _counted(self, text: str, *, keep: bool = True) -> list[_Counted]:
        """Per hasher: the text's n-gram counts and each distinct n-gram's column."""
        memo = self._memo.get(text) if keep else self._memo.pop(text, None)
        if memo is not None:
            return memo
        found = []
        for count, n_features, offset in self._parts:
            seen = count(text)
            found.append((seen, hashed_columns(seen, n_features) + offset))
        return found

    def analyse(self, text: str) -> Analysis:
        """For explanations: every distinct n-gram with its column and the column's value."""
        grams: list[str] = []
        columns, counts = [], []
        for seen, found in self._counted(text, keep=False):  # explained once, then freed
            # distinct n-grams may share a column: its value is their total
            _unique, inverse, totals = _merge(found, np.fromiter(seen.values(), np.float64))
            grams.extend(seen)
            columns.append(found)
            counts.append(totals[inverse])
        return Analysis(grams, np.concatenate(columns), np.concatenate(counts))

    def transform(
        self, texts: Sequence[str]
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """The non-zero entries of the HashingVectorizer(s)' matrix for texts, as (row,
        column, value) arrays, duplicates summed (row-major order)."""
        sizes, columns, counts = [], [], []
        memo: dict[str, list[_Counted]] = {}
        keep = len(texts) <= self.MEMO_TEXTS
        for text in texts:
            counted = self._counted(text)
            if keep:
                memo[text] = counted
            for seen, found in counted:
                columns.append(found)
                counts.append(np.fromiter(seen.values(), np.float64, len(seen)))
                sizes.append(len(seen))
        self._memo = memo  # replaced, never grown: at most one chunk's texts are kept
        if not columns:
            empty = np.zeros(0, dtype=np.int64)
            return empty.astype(np.intp), empty, empty.astype(np.float64)
        rows = np.repeat(np.repeat(np.arange(len(texts)), len(self._parts)), sizes)
        keys = rows * self.n_features + np.concatenate(columns)
        unique, _inverse, totals = _merge(keys, np.concatenate(counts))
        return (unique // self.n_features).astype(np.intp), unique % self.n_features, totals


def _merge(
    keys: npt.NDArray[np.int64], values: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Sum values of equal keys: (sorted distinct keys, each key's index in them, sums)."""
    unique, inverse = np.unique(keys, return_inverse=True)
    sums = np.bincount(inverse, weights=values, minlength=len(unique))
    return unique, inverse, np.asarray(sums, dtype=np.float64)
