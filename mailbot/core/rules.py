"""Must-not-miss danger signals: rules that can raise a ticket's urgency, never lower it.

The patterns live in config (settings.DEFAULT_URGENCY_RULES is the shipped default), so an
operator can add the phrases their customers use without retraining anything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UrgencyRule:
    name: str
    urgency: str
    patterns: tuple[re.Pattern[str], ...]


def compile_rule(name: str, urgency: str, patterns: Sequence[str]) -> UrgencyRule:
    """Case-insensitive regular expressions; raises re.error on a bad pattern."""
    return UrgencyRule(name, urgency, tuple(re.compile(p, re.IGNORECASE) for p in patterns))


def raise_urgency(
    text: str, urgency: str, rules: Sequence[UrgencyRule], order: Sequence[str]
) -> tuple[str, str]:
    """(urgency, reason): the most urgent of the model's and every matching rule's.

    `order` lists urgencies from most to least urgent (the taxonomy's order).
    """
    best, reason = urgency, ""
    for rule in rules:
        if order.index(rule.urgency) >= order.index(best):
            continue  # this rule could not raise it any further
        hit = next((m for p in rule.patterns if (m := p.search(text))), None)
        if hit is not None:
            best = rule.urgency
            reason = f"rule {rule.name!r} matched {hit.group(0)!r}: urgency {urgency} -> {best}"
    return best, reason
