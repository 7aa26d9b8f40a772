"""Decision thresholds chosen by cross-validation on the training data (never the held-out
split): a recall floor for the most urgent urgency, and a suggested triage threshold."""

from __future__ import annotations

import math
from collections.abc import Sequence

# The target for `critical`: missing an account takeover costs far more than answering
# a non-urgent ticket within the hour, so the most urgent label gets its own, lower, threshold.
URGENT_RECALL_TARGET = 0.97
# Tickets whose category is accepted without a human look should be right this often.
TRIAGE_ACCURACY_TARGET = 0.95


def recall_threshold(
    scores: Sequence[float], is_label: Sequence[bool], *, target: float = URGENT_RECALL_TARGET
) -> float | None:
    """The highest probability threshold that keeps recall >= target on these
    (out-of-fold) scores: the ceil(target * n)-th highest score of the true examples.

    None when there are no true examples to measure recall on.
    """
    positives = sorted((s for s, y in zip(scores, is_label, strict=True) if y), reverse=True)
    if not positives:
        return None
    needed = max(1, math.ceil(target * len(positives) - 1e-9))
    return float(positives[needed - 1])


def triage_threshold(
    confidences: Sequence[float],
    correct: Sequence[bool],
    *,
    target: float = TRIAGE_ACCURACY_TARGET,
) -> tuple[float, float, float]:
    """(threshold, fraction triaged, accuracy of the rest): the lowest category-confidence
    threshold at which the tickets accepted without triage (confidence >= threshold) are at
    least `target` correct, measured on out-of-fold predictions.

    The candidates are the observed confidences, lowest first; with none good enough the
    result is (1.0, 1.0, 0.0): everything goes to triage, and the figures say why.
    """
    pairs = sorted(zip(confidences, correct, strict=True))
    n = len(pairs)
    right_from = [0] * (n + 1)  # right_from[i]: correct predictions among pairs[i:]
    for i in range(n - 1, -1, -1):
        right_from[i] = right_from[i + 1] + int(pairs[i][1])
    for i, (confidence, _ok) in enumerate(pairs):
        if i > 0 and pairs[i - 1][0] == confidence:
            continue  # a threshold accepts all equal confidences together
        accepted = n - i
        if right_from[i] / accepted >= target:
            return float(confidence), i / n, right_from[i] / accepted
    return 1.0, 1.0, 0.0
