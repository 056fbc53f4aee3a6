"""What ``sparktriage evaluate`` reports: F1s, abstention, accuracy against coverage, calibration of the answers."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sparktriage.history.evaluate import Evaluation, report


def run(rows: list[tuple[str, str, float]]) -> Evaluation:
    result = Evaluation()
    for n, (truth, predicted, confidence) in enumerate(rows):
        result.add(str(n), truth, SimpleNamespace(category=predicted, confidence=confidence, source="rule"))
    return result


ROWS = [
    ("disk_full", "disk_full", 0.9),
    ("disk_full", "disk_full", 0.9),
    ("input_missing", "disk_full", 0.6),
    ("input_missing", "unknown", 0.0),
    ("unknown", "unknown", 0.0),
    ("unknown", "network_error", 0.5),
]


def test_abstention_figures_separate_known_and_unknown_labels() -> None:
    result = run(ROWS)
    assert result.unknown_answered_for_known() == pytest.approx(1 / 4)
    assert result.abstained_on_unknown() == pytest.approx(1 / 2)
    assert run(ROWS[:3]).abstained_on_unknown() is None


def test_calibration_error_is_measured_on_the_answers_only() -> None:
    # answers: 0.9 right, 0.9 right, 0.6 wrong, 0.5 wrong; the unknown answers (confidence 0) are left out
    result = run(ROWS)
    expected = (abs(0.9 - 1.0) * 2 + abs(0.6 - 0.0) + abs(0.5 - 0.0)) / 4
    assert result.calibration_error() == pytest.approx(expected)


def test_accuracy_against_coverage_drops_answers_under_the_cut() -> None:
    curve = {cut: (cov, acc) for cut, cov, acc in run(ROWS).coverage_curve((0.0, 0.7))}
    assert curve[0.0] == pytest.approx((3 / 4, 2 / 3))  # 4 known items, 3 answered, 2 right
    assert curve[0.7] == pytest.approx((2 / 4, 1.0))


def test_report_prints_micro_and_macro_f1_and_the_curve() -> None:
    text = report(run(ROWS))
    for needle in ("micro-F1:", "macro-F1:", "accuracy against coverage", "abstained on items labelled unknown: 50.0%",
                   "expected calibration error:", "disk_full"):
        assert needle in text


def test_side_by_side_puts_each_runs_precision_and_recall_in_its_column() -> None:
    from sparktriage.history.evaluate import side_by_side

    rules = run([("disk_full", "disk_full", 0.9), ("input_missing", "unknown", 0.0), ("unknown", "unknown", 0.0)])
    both = run([("disk_full", "disk_full", 0.9), ("input_missing", "input_missing", 0.8),
                ("unknown", "input_missing", 0.6)])
    lines = side_by_side({"rules": rules, "combined": both}).splitlines()
    assert lines[0].split()[-3:] == ["rules", "combined", "support"]
    blank = lines.index("")
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:blank]}
    overall = {line[:24].strip(): line[24:].split() for line in lines[blank + 1:]}
    # input_missing: rules never said it (P 0, R 0); combined said it twice, once right (P 0.5, R 1)
    assert rows["input_missing"] == ["0.00/0.00", "0.50/1.00", "1"]
    # unknown: rules said it twice, once right (P 0.5, R 1); combined never (P 0, R 0)
    assert rows["unknown"] == ["0.50/1.00", "0.00/0.00", "1"]
    assert overall["accuracy"] == ["0.667", "0.667"]
    assert overall["abstained on unknown"] == ["100.0%", "0.0%"]
    assert overall["unknown on known labels"] == ["50.0%", "0.0%"]


SIDE_BY_SIDE_OF_THREE = """\
precision / recall             rules     combined  support
disk                      0.00/0.00   1.00/1.00        1
net                       0.00/0.00   0.00/0.00        0
oom                       1.00/1.00   1.00/1.00        1
unknown                   0.50/1.00   0.00/0.00        1

accuracy                       0.667        0.667
micro-F1                       0.667        0.667
macro-F1                       0.556        0.500
unknown on known labels        50.0%         0.0%
abstained on unknown          100.0%         0.0%
ECE of the answers             0.100        0.400"""


def test_side_by_side_of_three_items_worked_out_by_hand() -> None:
    """Rules answer oom, unknown, unknown; combined oom, disk, net, for labels oom, disk, unknown.
    Rules: unknown predicted twice and right once (0.50/1.00), half the known labels left unknown, the one
    unknown label abstained on, calibration |0.9 - 1| = 0.1, macro-F1 (0 + 1 + 0.67) / 3. Combined: net,
    which only it answers, gets its own row in both columns; calibration (0.1 + 0.4 + 0.7) / 3 = 0.4,
    macro-F1 (1 + 0 + 1 + 0) / 4."""
    from sparktriage.history.evaluate import side_by_side

    answer = SimpleNamespace
    rules, both = Evaluation(), Evaluation()
    for item, label, alone, combined in (("1", "oom", ("oom", 0.9, "rule"), ("oom", 0.9, "rule")),
                                         ("2", "disk", ("unknown", 0.0, "none"), ("disk", 0.6, "model")),
                                         ("3", "unknown", ("unknown", 0.0, "none"), ("net", 0.7, "model"))):
        rules.add(item, label, answer(category=alone[0], confidence=alone[1], source=alone[2]))
        both.add(item, label, answer(category=combined[0], confidence=combined[1], source=combined[2]))
    assert side_by_side({"rules": rules, "combined": both}) == SIDE_BY_SIDE_OF_THREE
    one = Evaluation()
    one.add("1", "oom", answer(category="oom", confidence=0.9, source="rule"))
    assert side_by_side({"rules": one}).splitlines()[-2] == "abstained on unknown               -", \
        "no item labelled unknown: nothing to abstain on"
