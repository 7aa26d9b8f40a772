"""Email text -> the knowledge-base articles worth suggesting (none is better than a wrong one).

Similarity is cosine over TF-IDF weighted character n-grams, which works for Korean, Chinese
and Japanese without a word segmenter. Only articles in the customer's language are offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
        from sklearn.feature_extraction.text import TfidfVectorizer

        self._articles = list(articles)
        self._policy = policy
        # Background texts (e.g. ordinary support mail) only teach which n-grams are common
        # ("hello", "account", "안녕하세요") so they weigh little.
        self._vectorizer: Any = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, lowercase=True
        )
        documents = [a.document() for a in self._articles]
        # language -> (article indexes, their rows): sliced once, not on every query
        self._by_language: dict[str, tuple[list[int], Any]] = {}
        if documents:
            self._vectorizer.fit([*documents, *background])
            self._matrix = self._vectorizer.transform(documents)
            for language in sorted({a.language for a in self._articles}):
                wanted = [i for i, a in enumerate(self._articles) if a.language == language]
                self._by_language[language] = (wanted, self._matrix[wanted].tocsr())

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
        """`scores` for many (text, language) pairs, vectorised in one call."""
        found: list[list[tuple[float, Article]]] = [[] for _ in queries]
        asked = [
            i
            for i, (text, language) in enumerate(queries)
            if text.strip() and language in self._by_language
        ]
        if not asked:
            return found
        vectors = self._vectorizer.transform([queries[i][0] for i in asked])
        for row, i in enumerate(asked):
            wanted, matrix = self._by_language[queries[i][1]]
            similarity = (matrix @ vectors[row].T).toarray().ravel()
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
