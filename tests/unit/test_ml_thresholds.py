"""Thresholds chosen from out-of-fold predictions: a recall floor and a triage threshold."""

from __future__ import annotations

import pytest

from mailbot.ml.thresholds import recall_threshold, triage_threshold


def test_recall_threshold_keeps_the_required_share_of_true_examples() -> None:
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
    truth = [True] * 10
    assert recall_threshold(scores, truth, target=0.9) == 0.1  # 9 of 10 above
    assert recall_threshold(scores, truth, target=0.97) == 0.05  # ceil(9.7) = all 10
    assert recall_threshold(scores, truth, target=0.5) == 0.5
    mixed = [0.9, 0.95, 0.2, 0.3]
    assert recall_threshold(mixed, [True, False, True, False], target=1.0) == 0.2
    assert recall_threshold([0.4], [False]) is None


def test_triage_threshold_is_the_lowest_meeting_the_accuracy_target() -> None:
    confidences = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
    correct = [False, True, False, True, True, True, True, True]
    threshold, triaged, accuracy = triage_threshold(confidences, correct, target=0.95)
    assert (threshold, triaged, accuracy) == (0.6, 0.375, 1.0)
    # from 0.4 on, 6 of the 7 accepted are right (0.857): enough for an 80 % target
    assert triage_threshold(confidences, correct, target=0.8)[0] == 0.4
    assert triage_threshold(confidences, correct, target=0.5) == (0.3, 0.0, 0.75)


def test_ties_are_accepted_or_triaged_together_and_hopeless_data_triages_all() -> None:
    threshold, triaged, _ = triage_threshold([0.5, 0.5, 0.9], [False, True, True], target=0.9)
    assert threshold == 0.9 and triaged == pytest.approx(2 / 3)
    assert triage_threshold([0.4, 0.9], [False, False], target=0.9) == (1.0, 1.0, 0.0)
