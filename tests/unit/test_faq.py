"""FAQ suggestions: relevant or nothing, in the customer's language."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.faq import read_cases, score
from mailbot.adapters.knowledge import load_articles
from mailbot.core.faq import Article, FaqIndex, FaqPolicy
from mailbot.resources import shipped

CASES = Path(__file__).parent.parent / "corpus" / "faq_cases.jsonl"


def test_shipped_articles_on_cases_the_margin_was_not_chosen_on() -> None:
    index = FaqIndex(load_articles(shipped("templates") / "kb"))
    held = score(index, read_cases(CASES)[1::2])
    assert held["precision"] >= 0.9  # a wrong article is worse than none
    assert held["silent_when_nothing_fits"] >= 0.9
    assert held["top1_hit"] >= 0.5


def article(slug: str, language: str, text: str) -> Article:
    return Article(slug, text, f"https://help.example/{slug}", language, (), text)


def test_only_articles_in_the_language_and_nothing_for_nothing() -> None:
    index = FaqIndex(
        [
            article("deposit", "en", "deposit not credited txid confirmations network"),
            article("2fa", "en", "reset two-factor authentication lost phone authenticator"),
            article("입금", "ko", "입금 미반영 TXID 컨펌 네트워크"),
        ],
        FaqPolicy(margin=0.05),
    )
    [link] = index.suggest("my deposit is not credited, txid attached", "en")
    assert link.slug == "deposit" and link.url.startswith("https://")
    assert index.suggest("my deposit is not credited", "ja") == ()
    assert index.suggest("", "en") == ()
    assert index.suggest("입금이 미반영입니다 TXID 확인 부탁", "ko")[0].slug == "입금"


def test_similarities_are_scikit_learns_tfidf_cosine() -> None:
    """CharTfidf is TfidfVectorizer(char_wb, 2-4, sublinear) in numpy: same similarities."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    articles = load_articles(shipped("templates") / "kb")
    cases = read_cases(CASES)
    background = [str(c["text"]) for c in cases[::3]]
    index = FaqIndex(articles, background=background)
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
    vectorizer.fit([*(a.document() for a in articles), *background])
    matrix = vectorizer.transform([a.document() for a in articles])
    for case in cases:
        text = f"{case.get('subject', '')}\n{case['text']}"
        ours = {a.slug: score for score, a in index.scores(text, str(case["language"]))}
        theirs = (matrix @ vectorizer.transform([text]).T).toarray().ravel()
        expected = {
            a.slug: float(s)
            for a, s in zip(articles, theirs, strict=True)
            if a.language == case["language"]
        }
        assert ours == pytest.approx(expected, abs=1e-12)


def test_an_article_without_ngrams_and_a_text_without_known_ones() -> None:
    index = FaqIndex([article("empty", "en", ""), article("x", "ko", "입금")])
    assert [s for s, _ in index.scores("deposit", "en")] == [0.0]
    assert [s for s, _ in index.scores("zzz qqq", "ko")] == [0.0]
