"""Training with the rule layer in view: the critical threshold only has to find what the
rules do not already catch."""

from __future__ import annotations

import random

from mailbot.core.rules import compile_rule
from mailbot.ml.train import fit_heads, rule_catches

URGENCIES = ("critical", "high", "normal", "low")


def corpus() -> tuple[list[str], list[str], list[str]]:
    rng = random.Random(7)
    words = [
        "deposit",
        "order",
        "login",
        "fee",
        "app",
        "chart",
        "kyc",
        "wallet",
        "network",
        "limit",
    ]
    texts, cats, urgs = [], [], []
    for i in range(120):
        filler = " ".join(rng.choice(words) for _ in range(8))
        if i % 4 == 0:
            texts.append(f"my account was hacked {filler}")
            cats.append("security_incident")
            urgs.append("critical")
        else:
            texts.append(f"question about {filler}")
            cats.append("fees_general")
            urgs.append(URGENCIES[1 + i % 3])
    return texts, cats, urgs


def test_rule_catches_marks_what_the_rules_raise_to_the_top() -> None:
    rules = [compile_rule("takeover", "critical", [r"\bhacked\b"])]
    assert rule_catches(["I was hacked", "fees?"], rules, URGENCIES) == [True, False]
    assert rule_catches(["I was hacked"], [], URGENCIES) == [False]


def test_caught_examples_leave_the_threshold_free_to_be_strict() -> None:
    texts, cats, urgs = corpus()
    rules = [compile_rule("takeover", "critical", [r"\bhacked\b"])]
    alone = fit_heads(texts, cats, urgs, most_urgent="critical")
    helped = fit_heads(
        texts, cats, urgs, most_urgent="critical", caught=rule_catches(texts, rules, URGENCIES)
    )
    assert alone.thresholds["urgency"]["critical"] < 1.0
    # Every critical example is caught by the rule: the model need not flag any by threshold.
    assert helped.thresholds["urgency"]["critical"] == 1.0
    assert helped.threshold_cv["urgency"]["critical"]["cv_recall"] == 1.0
