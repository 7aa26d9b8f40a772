"""FAQ suggestions: relevant or nothing, in the customer's language."""

from __future__ import annotations

from pathlib import Path

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
