"""Email text -> the knowledge-base articles worth suggesting (none is better than a wrong one).

Similarity is cosine over TF-IDF weighted character n-grams, which works for Korean, Chinese
and Japanese without a word segmenter. Only articles in the customer's language are offered.
The TF-IDF is scikit-learn's TfidfVectorizer done in numpy (CharTfidf), so the daemon does
not import scikit-learn for it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mailbot.core.textfeatures import char_wb_counts, char_wb_ngrams
from mailbot.domain import FaqLink


@dataclass(frozen=True, slots=True)
class Article:
    slug: str
    title: str
    url: str
    language: str
    tags: tuple[str, ...]
    body: str

    def document(self) -> str:
        # Title and tags say what the article is about more densely than the body does.
        return "\n".join((self.title, self.title, " ".join(self.tags), self.body))


@dataclass(frozen=True, slots=True)
class FaqPolicy:
    # An article is suggested when it stands out: its similarity beats the next article's by
    # `margin`. A high absolute similarity alone is not enough: an email about "my account"
    # resembles every article a little. Chosen by bench/faq.py (see its docstring).
    margin: float = 0.07
    floor: float = 0.05  # and never below this similarity
    limit: int = 3


class FaqIndex:
    """Articles vectorised once; `suggest` is cheap per email."""

    def __init__(
        self,
        articles: Sequence[Article],
        policy: FaqPolicy = FaqPolicy(),
        background: Sequence[str] = (),
    ) -> None:
        self._articles = list(articles)
        self._policy = policy
        documents = [a.document() for a in self._articles]
        # Background texts (e.g. ordinary support mail) only teach which n-grams are common
        # ("hello", "account", "안녕하세요") so they weigh little.
        self._tfidf = CharTfidf([*documents, *background]) if documents else None
        # language -> (article indexes, the columns they use, their rows over those columns)
        self._by_language: dict[str, tuple[list[int], Any, Any]] = {}
        if self._tfidf is not None:
            rows = [self._tfidf.vector(d) for d in documents]
            for language in sorted({a.language for a in self._articles}):
                wanted = [i for i, a in enumerate(self._articles) if a.language == language]
                self._by_language[language] = (wanted, *_dense([rows[i] for i in wanted]))

    def with_policy(self, policy: FaqPolicy) -> FaqIndex:
        """The same fitted index with other thresholds (no refit)."""
        clone = object.__new__(FaqIndex)
        clone.__dict__.update(self.__dict__)
        clone._policy = policy
        return clone

    def __len__(self) -> int:
        return len(self._articles)

    def scores(self, text: str, language: str) -> list[tuple[float, Article]]:
        """Every article in `language` with its similarity to `text`, best first."""
        return self.scores_many([(text, language)])[0]

    def scores_many(self, queries: Sequence[tuple[str, str]]) -> list[list[tuple[float, Article]]]:
        """`scores` for many (text, language) pairs."""
        found: list[list[tuple[float, Article]]] = [[] for _ in queries]
        asked = [
            i
            for i, (text, language) in enumerate(queries)
            if text.strip() and language in self._by_language
        ]
        tfidf = self._tfidf
        if not asked or tfidf is None:
            return found
        for i in asked:
            text, language = queries[i]
            columns, weights = tfidf.vector(text)
            wanted, known, matrix = self._by_language[language]
            place = np.minimum(np.searchsorted(known, columns), max(len(known) - 1, 0))
            shared = known[place] == columns if len(known) else place < 0  # n-grams they have
            similarity = matrix[:, place[shared]] @ weights[shared]
            ranked = sorted(zip(similarity, wanted, strict=True), key=lambda p: -p[0])
            found[i] = [(float(score), self._articles[a]) for score, a in ranked]
        return found

    def suggest(self, text: str, language: str) -> tuple[FaqLink, ...]:
        """The top k articles, for the smallest k after which the ranking drops by `margin`
        (two articles can both fit: "hacked" and "reset 2FA"); none when no such k."""
        return self.suggest_many([(text, language)])[0]

    def suggest_many(self, queries: Sequence[tuple[str, str]]) -> list[tuple[FaqLink, ...]]:
        """`suggest` for many (text, language) pairs: one vectorisation for all of them."""
        return [self._chosen(ranked) for ranked in self.scores_many(queries)]

    def _chosen(self, ranked: list[tuple[float, Article]]) -> tuple[FaqLink, ...]:
        scores = [score for score, _ in ranked] + [0.0]
        for k in range(1, min(self._policy.limit, len(ranked)) + 1):
            if scores[k - 1] < self._policy.floor:
                break
            if scores[k - 1] - scores[k] >= self._policy.margin:
                return tuple(
                    FaqLink(a.slug, a.title, a.url, round(score, 3)) for score, a in ranked[:k]
                )
        return ()


Vector = tuple[Any, Any]  # (sorted vocabulary columns, their l2-normalised TF-IDF weights)


class CharTfidf:
    """scikit-learn's TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4),
    sublinear_tf=True) in numpy: vocabulary and smoothed idf from the fitted texts, a text's
    n-grams outside the vocabulary ignored, rows l2-normalised."""

    NGRAMS = (2, 4)

    def __init__(self, texts: Sequence[str]) -> None:
        grams = [Counter(self._grams(t)) for t in texts]
        df: Counter[str] = Counter(g for seen in grams for g in seen)
        self._vocabulary = {g: i for i, g in enumerate(sorted(df))}
        counts = np.array([df[g] for g in sorted(df)], dtype=np.float64)
        self._idf = np.log((1.0 + len(texts)) / (1.0 + counts)) + 1.0

    def _grams(self, text: str) -> list[str]:
        return char_wb_ngrams(text.lower(), *self.NGRAMS)

    def vector(self, text: str) -> Vector:
        seen = char_wb_counts(text.lower(), *self.NGRAMS)  # = Counter(self._grams(text))
        vocabulary = self._vocabulary
        found = sorted((vocabulary[g], n) for g, n in seen.items() if g in vocabulary)
        columns = np.array([c for c, _ in found], dtype=np.int64)
        weights = (np.log(np.array([n for _, n in found], dtype=np.float64)) + 1.0) * self._idf[
            columns
        ]
        norm = float(np.sqrt(weights @ weights))
        return columns, weights / norm if norm > 0 else weights


def _dense(rows: Sequence[Vector]) -> tuple[Any, Any]:
    """Rows as one dense matrix over the columns any of them uses: (columns, matrix)."""
    known = np.unique(np.concatenate([c for c, _ in rows]))
    matrix = np.zeros((len(rows), len(known)), dtype=np.float64)
    for r, (columns, weights) in enumerate(rows):
        matrix[r, np.searchsorted(known, columns)] = weights
    return known, matrix
