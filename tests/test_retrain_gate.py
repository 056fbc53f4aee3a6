"""``train --from-store`` does not write a model that does worse than the one in use, unless forced."""

from __future__ import annotations

import json
from pathlib import Path

from classifiers.core import Classifier
from rules.engine import RuleEngine
from sparktriage.history.retrain import compare, verdict

TEXTS = {
    "disk_full": "java.io.IOException: No space left on device",
    "input_missing": "org.apache.hadoop.mapred.InvalidInputException: Input path does not exist: hdfs://nn/x",
}


class Model:
    """A model that answers from a fixed table: right or wrong on purpose."""

    threshold = 0.5

    def __init__(self, version: str, answers: dict[str, str]) -> None:
        self.version, self.answers = version, answers

    def predict(self, texts):
        return [(next((c for t, c in self.answers.items() if t in text), "_none"), 0.9) for text in texts]


def labelled(tmp_path: Path) -> dict[str, Path]:
    path = tmp_path / "set.jsonl"
    path.write_text("".join(json.dumps({"id": k, "text": t, "label": k}) + "\n" for k, t in TEXTS.items()))
    return {"set": path}


def test_a_worse_model_is_refused_and_forced_through(tmp_path: Path) -> None:
    engine = RuleEngine([], "none", backend="re")
    current = Classifier(engine=engine, model=Model("old", {t: c for c, t in TEXTS.items()}))
    worse = Model("new", {TEXTS["disk_full"]: "input_missing", TEXTS["input_missing"]: "input_missing"})
    comparisons = compare(current, worse, labelled(tmp_path))
    assert [c.worse for c in comparisons] == [True]
    write, lines = verdict(comparisons, force=False)
    assert not write and "not written: worse on set" in lines[-1] and "accuracy 1.000 -> 0.500" in lines[0]
    assert verdict(comparisons, force=True)[0]


def test_an_equal_or_better_model_is_written(tmp_path: Path) -> None:
    engine = RuleEngine([], "none", backend="re")
    current = Classifier(engine=engine, model=Model("old", {TEXTS["disk_full"]: "disk_full"}))
    better = Model("new", {t: c for c, t in TEXTS.items()})
    write, lines = verdict(compare(current, better, labelled(tmp_path)), force=False)
    assert write and "accuracy 0.500 -> 1.000" in lines[0]


def test_corrections_teach_what_the_model_reads_in_its_classes() -> None:
    """A correction's texts are the events the model reads for that application (an ERROR
    record without a class too, not an INFO one beside it), labelled as the model's classes
    are: top-level ids, and ``unknown`` as its no-cause class."""
    from sparktriage.history.retrain import correction_texts
    from sparktriage.records import AppInfo, ExceptionEvent

    app = AppInfo(app_id="application_1700000000000_0001")
    error = ExceptionEvent(app_id=app.app_id, text="ERROR ApplicationMaster: User application exited with status 2",
                           level="ERROR")
    info = ExceptionEvent(app_id=app.app_id, text="INFO SparkContext: Successfully stopped SparkContext", level="INFO")
    oom = ExceptionEvent(app_id=app.app_id, text="java.lang.OutOfMemoryError: GC overhead limit exceeded",
                         exc_class="java.lang.OutOfMemoryError")
    stored = [(app, [error, info], "unknown"), (app, [oom], "executor_oom/gc_overhead"), (app, [info], "killed")]
    assert correction_texts(stored) == [(error.text, "_none"), (oom.text, "executor_oom"), (info.text, "killed")]
