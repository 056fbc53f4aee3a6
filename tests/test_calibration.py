"""The model's threshold and calibration measures on inputs small enough to score by hand."""

from __future__ import annotations

import numpy as np
import pytest

from classifiers.model import NONE, choose_threshold, expected_calibration_error


def test_the_threshold_is_the_lowest_probability_keeping_the_precision() -> None:
    # by probability: 0.9 says nothing (skipped, not a stop), 0.8 right, 0.7 right, 0.6 wrong (2/3), 0.5 wrong (2/4)
    probs = np.array([0.6, 0.9, 0.5, 0.8, 0.7])
    predicted = ["a", NONE, "b", "a", "b"]
    truth = ["x", "a", "y", "a", "b"]
    assert choose_threshold(probs, predicted, truth, precision=1.0) == 0.7
    assert choose_threshold(probs, predicted, truth, precision=0.6) == 0.6
    assert choose_threshold(probs, predicted, truth, precision=0.5) == 0.5


def test_no_answer_reaching_the_precision_means_a_threshold_nothing_passes() -> None:
    probs = np.array([0.9, 0.8])
    assert choose_threshold(probs, ["a", "a"], ["b", "b"], precision=0.5) == 1.0
    assert choose_threshold(probs, [NONE, NONE], ["a", "b"], precision=0.5) == 1.0


@pytest.mark.parametrize(("confidence", "correct", "expected"), [
    ([], [], 0.0),
    ([0.7], [False], 0.7),  # one answer: its whole gap
    ([0.95, 1.0], [True, False], abs(0.975 - 0.5)),  # 1.0 falls in the last bin, with 0.95
    ([0.85, 0.95], [True, False], (0.15 + 0.95) / 2),  # neighbouring bins stay apart
    ([0.5, 0.59], [True, False], abs(0.545 - 0.5)),  # one bin of width 0.1
    ([0.2, 0.2, 0.9], [False, True, True], (0.3 * 2 + 0.1) / 3),
])
def test_calibration_error_by_hand(confidence: list[float], correct: list[bool], expected: float) -> None:
    assert expected_calibration_error(confidence, correct) == pytest.approx(expected)
