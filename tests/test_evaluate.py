"""``evaluate``'s metrics on a labelled set small enough to score by hand.

The expected figures below are worked out in the comments, not taken from a
run: an ``unknown`` answer is wrong (it is not the label), an
``also_acceptable`` answer is right only for the lenient accuracy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from classifiers.core import Classifier
from rules.engine import RuleEngine
from rules.loader import load_packs
from sparktriage.errors import BadInput
from sparktriage.history.evaluate import (Evaluation, corrections, evaluate, evaluate_corrections, load_labelled,
                                          read_labelled, report)
from tests.packs import write_pack


@dataclass(frozen=True)
class Answer:
    """The three fields of a diagnosis that evaluation reads."""

    category: str
    confidence: float
    source: str


def _hand_scored() -> Evaluation:
    result = Evaluation()
    result.add("1", "executor_oom/heap", Answer("executor_oom/gc_overhead", 0.9, "rule"))  # right (top level)
    result.add("2", "executor_oom", Answer("unknown", 0.0, "none"))  # wrong: no answer
    result.add("3", "input_missing", Answer("input_missing", 0.8, "model"))  # right
    result.add("4", "input_missing", Answer("executor_oom", 0.7, "model"), {"executor_oom"})  # lenient only
    result.add("5", "disk_full", Answer("unknown", 0.0, "none"))  # wrong: no answer
    return result


def test_unknown_is_never_counted_as_right() -> None:
    result = _hand_scored()
    assert result.truth == ["executor_oom", "executor_oom", "input_missing", "input_missing", "disk_full"]
    assert result.predicted == ["executor_oom", "unknown", "input_missing", "executor_oom", "unknown"]
    assert result.correct() == [True, False, True, False, False]
    assert result.accuracy() == pytest.approx(2 / 5)
    assert result.lenient_accuracy() == pytest.approx(3 / 5)  # item 4's answer is acceptable
    assert result.unknown_share() == pytest.approx(2 / 5)


def test_macro_f1_averages_every_label_and_answer() -> None:
    # per class (labels and answers alike): executor_oom P=1/2 R=1/2 F1=1/2; input_missing P=1 R=1/2
    # F1=2/3; disk_full and unknown F1=0 (no hit)  ->  (1/2 + 2/3 + 0 + 0) / 4 = 7/24
    result = _hand_scored()
    assert result.labels == ["disk_full", "executor_oom", "input_missing", "unknown"]
    assert result.macro_f1() == pytest.approx(7 / 24)


def test_the_report_states_every_figure() -> None:
    text = report(_hand_scored())
    assert "items:            5" in text
    assert "accuracy:         0.400" in text
    assert "accuracy (lenient): 0.600" in text
    assert "micro-F1:         0.400" in text  # one label per item: micro-F1 is the accuracy
    assert "macro-F1:         0.292" in text
    assert "answered unknown: 40.0%  (coverage 60.0%); 40.0% of the items with a known label" in text
    assert "abstained on items labelled unknown: -" in text
    assert "decided by:       model 2, none 2, rule 1" in text
    # calibration of the three answers, ten bins: 0.7 wrong (0.7), 0.8 right (0.2), 0.9 right (0.1) -> 1/3
    assert "expected calibration error: 0.333" in text
    curve = text.split("confidence >=  coverage  accuracy\n", 1)[1].split("\n\n", 1)[0]
    assert [row.split() for row in curve.splitlines()] == [
        ["0.00", "0.600", "0.667"], ["0.50", "0.600", "0.667"], ["0.60", "0.600", "0.667"],
        ["0.70", "0.600", "0.667"],  # the 0.7 answer is kept at a cut of 0.7
        ["0.80", "0.400", "1.000"], ["0.90", "0.200", "1.000"]]
    assert text.splitlines()[1].split() == ["disk_full", "0.00", "0.00", "0.00", "1"]
    assert text.splitlines()[2].split() == ["executor_oom", "0.50", "0.50", "0.50", "2"]
    assert text.splitlines()[3].split() == ["input_missing", "1.00", "0.50", "0.67", "2"]
    assert "  2: executor_oom -> unknown" in text and "  4: input_missing -> executor_oom" in text
    assert "  1: " not in text and "  3: " not in text, "only the misclassified are listed"
    quiet = report(_hand_scored(), misclassified=False)
    assert "misclassified" not in quiet and ": executor_oom -> unknown" not in quiet
    assert quiet == text.split("\n\nmisclassified:")[0], "all else is the same report"


def test_a_confusion_matrix_row_per_label() -> None:
    text = report(_hand_scored())
    rows = text.split("confusion matrix", 1)[1].splitlines()[2:6]
    # columns: disk_full executor_oom input_missing unknown; "." is zero
    assert [row.split()[1:] for row in rows] == [
        [".", ".", ".", "1"],
        [".", "1", ".", "1"],
        [".", "1", "1", "."],
        [".", ".", ".", "."],
    ]


def test_an_empty_set_scores_zero_without_dividing_by_it() -> None:
    empty = Evaluation()
    assert (empty.accuracy(), empty.lenient_accuracy(), empty.unknown_share()) == (0.0, 0.0, 0.0)


KILL = "WARN TaskSetManager: Lost task 3.0: Reason: Container killed by YARN for exceeding physical memory limits."
DENIED = "org.apache.hadoop.security.AccessControlException: Permission denied: user=etl, access=READ"


def test_evaluate_reads_the_set_and_asks_the_classifier(tmp_path: Path) -> None:
    packs = load_packs(write_pack(tmp_path / "rules"), builtin=False)
    classifier = Classifier(engine=RuleEngine(packs.rules, packs.version))
    data = tmp_path / "set.jsonl"
    data.write_text("\n".join(json.dumps(item) for item in [
        {"id": "kill", "text": KILL, "label": "container_killed_memory"},
        {"text": DENIED, "label": "input_missing", "also_acceptable": ["access_denied"]},
        {"id": "odd", "text": "java.lang.IllegalStateException: odd", "label": "user_code_error"},
    ]) + "\n\n")
    result = evaluate(classifier, data)
    assert result.ids == ["kill", "1", "odd"]  # an item without an id is named by its position
    assert result.predicted == ["container_killed_memory", "access_denied", "unknown"]
    assert result.acceptable == [set(), {"access_denied"}, set()]
    assert result.sources == ["rule", "rule", "none"]
    assert (result.accuracy(), result.lenient_accuracy()) == (pytest.approx(1 / 3), pytest.approx(2 / 3))


@pytest.mark.parametrize(("line", "reason"), [
    ('{"text": "x", "label": ', "malformed_json"),
    ('{"label": "disk_full"}', "missing_field"),
    ('{"text": 3, "label": "disk_full"}', "missing_field"),
    ('["text", "label"]', "missing_field"),
    ('{"text": "x"}', "missing_field"),
    ('{"text": "x", "label": "disk_fool"}', "unknown_category"),
])
def test_a_bad_line_is_refused_with_its_place(line: str, reason: str) -> None:
    good = '{"text": "x", "label": "disk_full/quota"}'
    with pytest.raises(BadInput) as err:
        read_labelled(["", good, line], "set.jsonl")
    assert err.value.reason == reason and "set.jsonl:3" in err.value.detail
    assert read_labelled(["", good, "  "], "set.jsonl") == [json.loads(good)]


def test_corrections_measure_the_classifier_against_the_newest_label(tmp_path: Path) -> None:
    """Two corrected applications (one corrected twice: the newest counts) and one never corrected,
    in an in-memory store built through the store's own API."""
    from sparktriage.records import AppInfo, Diagnosis, ExceptionEvent
    from sparktriage.store.sql import open_store

    packs = load_packs(write_pack(tmp_path / "rules"), builtin=False)
    classifier = Classifier(engine=RuleEngine(packs.rules, packs.version))
    store = open_store("sqlite://")
    with pytest.raises(BadInput) as err:
        evaluate_corrections(classifier, store.engine)
    assert (err.value.reason, err.value.detail) == \
        ("empty", "the store holds no human correction yet: record some with `sparktriage label`")
    texts = {"k": KILL, "d": DENIED, "n": "java.lang.IllegalStateException: never corrected"}
    for app_id, text in texts.items():
        store.save(AppInfo(app_id, attempt=2), [ExceptionEvent(app_id, "INFO noise", attempt=2, line=1),
                                                ExceptionEvent(app_id, text, attempt=2, line=2)],
                   Diagnosis(app_id, "unknown", "-", 0.0, "none", attempt=2))
    store.label("k", 2, "executor_lost", note="first thought", author="ana")
    store.label("d", 2, "access_denied", note=None, author=None)
    store.label("k", 2, "container_killed_memory/overhead", note="second thought", author="ana")
    store.save(AppInfo("k", attempt=3), [ExceptionEvent("k", DENIED, attempt=3, line=1)],
               Diagnosis("k", "unknown", "-", 0.0, "none", attempt=3))  # the same application's next attempt
    store.label("k", 3, "access_denied", note=None, author=None)
    result = evaluate_corrections(classifier, store.engine)
    assert result.ids == ["d#2", "k#2", "k#3"], "one entry per corrected attempt, in the order of their newest label"
    assert result.truth == ["access_denied", "container_killed_memory", "access_denied"]
    assert result.predicted == ["access_denied", "container_killed_memory", "access_denied"], \
        "the rules read each attempt's stored events"
    assert result.sources == ["rule", "rule", "rule"]
    (_, events, _), (_, kill_events, _), _ = corrections(store.engine)
    assert [e.text for e in events] == ["INFO noise", DENIED] and {e.attempt for e in events} == {2}
    assert [e.text for e in kill_events] == ["INFO noise", KILL], "an attempt's events only"


REPORT_OF_THREE = """\
category  precision  recall     f1  support
disk           0.00    0.00   0.00        2
oom            0.50    1.00   0.67        1
unknown        0.00    0.00   0.00        0

items:            3
accuracy:         0.333  (strict: the label only)
accuracy (lenient): 0.333  (an also_acceptable category counts as right)
micro-F1:         0.333
macro-F1:         0.222
answered unknown: 33.3%  (coverage 66.7%); 33.3% of the items with a known label
abstained on items labelled unknown: -
decided by:       model 1, none 1, rule 1
expected calibration error: 0.350  (of the answers; unknown claims no probability)

accuracy against coverage (items with a known label; answers under the confidence cut count as unknown):
  confidence >=  coverage  accuracy
           0.00     0.667     0.500
           0.50     0.667     0.500
           0.60     0.667     0.500
           0.70     0.333     1.000
           0.80     0.333     1.000
           0.90     0.333     1.000

confusion matrix (rows = label, columns = predicted; ids abbreviated):
            disk    oom unknow
disk           .      1      1
oom            .      1      .
unknown        .      .      .

misclassified:
  x2: disk -> oom
  x3: disk -> unknown"""


def test_the_report_reads_as_a_table_people_can_follow() -> None:
    """The whole report of three items, every figure worked out by hand: oom is predicted twice and right
    once (precision 0.5, recall 1, F1 0.67); macro-F1 is (0 + 0.67 + 0) / 3; the calibration error is
    |0.9 - 1| / 2 + |0.6 - 0| / 2 = 0.35; labels shorter than the word "category" line up under it."""
    result = Evaluation()
    result.add("x1", "oom", Answer("oom", 0.9, "rule"))
    result.add("x2", "disk", Answer("oom", 0.6, "model"))
    result.add("x3", "disk", Answer("unknown", 0.0, "none"))
    assert report(result) == REPORT_OF_THREE


def test_a_set_file_with_nothing_to_measure_or_a_bad_line_names_itself(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n  \n")
    with pytest.raises(BadInput) as err:
        load_labelled(empty)
    assert err.value.reason == "empty" and err.value.detail.startswith(f"{empty} holds no labelled lines")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "label": "disk_full"}\n{"text": "x"}\n')
    with pytest.raises(BadInput) as err:
        load_labelled(bad)
    assert err.value.reason == "missing_field" and f"{bad}:2" in err.value.detail
