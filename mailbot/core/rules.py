"""Must-not-miss danger signals: rules that can raise a ticket's urgency, never lower it.

The patterns live in config (settings.DEFAULT_URGENCY_RULES is the shipped default), so an
operator can add the phrases their customers use without retraining anything.

A rule can also name negation cues: words that, right before or right after a match and in
the same clause, turn it into its opposite or a hypothetical ("not hacked", "没有被盗",
"不正アクセスではなく", "해킹은 아닌", "if you get hacked"). Such a match does not fire; any
other match of the rule still does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# A negation cue must be in the same clause as the match: the context stops at these.
_CLAUSE_END = re.compile(r"[.!?;\n。！？；]")
_CONTEXT = 30  # characters looked at on each side of a match


@dataclass(frozen=True, slots=True)
class UrgencyRule:
    name: str
    urgency: str
    patterns: tuple[re.Pattern[str], ...]
    not_before: re.Pattern[str] | None = None  # a cue ending right before a match
    not_after: re.Pattern[str] | None = None  # a cue starting right after a match


def compile_rule(
    name: str,
    urgency: str,
    patterns: Sequence[str],
    *,
    not_before: Sequence[str] = (),
    not_after: Sequence[str] = (),
) -> UrgencyRule:
    """Case-insensitive regular expressions; raises re.error on a bad pattern.

    `not_before` cues must end where a match starts (spaces between allowed), `not_after`
    cues must start where it ends."""
    before = re.compile("(?:" + "|".join(not_before) + r")\s*$", re.I) if not_before else None
    after = re.compile(r"^\s*(?:" + "|".join(not_after) + ")", re.I) if not_after else None
    return UrgencyRule(
        name, urgency, tuple(re.compile(p, re.IGNORECASE) for p in patterns), before, after
    )


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
        hit = first_hit(text, rule)
        if hit is not None:
            best = rule.urgency
            reason = f"rule {rule.name!r} matched {hit.group(0)!r}: urgency {urgency} -> {best}"
    return best, reason


def first_hit(text: str, rule: UrgencyRule) -> re.Match[str] | None:
    """The first match of any of the rule's patterns that no negation cue cancels."""
    for pattern in rule.patterns:
        for match in pattern.finditer(text):
            if not _negated(text, match, rule):
                return match
    return None


def _negated(text: str, match: re.Match[str], rule: UrgencyRule) -> bool:
    if rule.not_before is not None:
        before = text[max(0, match.start() - _CONTEXT) : match.start()]
        before = _CLAUSE_END.split(before)[-1]
        if rule.not_before.search(before):
            return True
    if rule.not_after is not None:
        after = _CLAUSE_END.split(text[match.end() : match.end() + _CONTEXT])[0]
        if rule.not_after.search(after):
            return True
    return False
