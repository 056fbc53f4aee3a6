"""The model: masks, training on a small corpus, loading, abstention and the combination policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from classifiers.core import NO_CAUSE, SHIPPED_MODEL, diagnose, load_classifier, only
from classifiers.corpus.generate import NONE, corpus
from classifiers.masking import mask
from classifiers.model import TextModel, choose_threshold, expected_calibration_error, load, save, train
from ingest.events import extract_events
from rules.engine import RuleEngine
from rules.loader import load_packs
from sparktriage.errors import ConfigError
from sparktriage.classify import events_of_text
from sparktriage.records import AppInfo
from sparktriage.settings import Settings
from tests.loggen import generate_log

MASKS = [
    ("24/03/12 10:11:13 ERROR x", "<TS>", "10:11:13"),
    ("at 2024-03-12T10:11:13.123Z it failed", "<TS>", "2024-03-12"),
    ("task 3f2a9c4e-1b2d-4c3e-9f8a-0123456789ab lost", "<UUID>", "3f2a9c4e"),
    ("application_1700000000000_0042 failed", "<APP>", "1700000000000"),
    ("container_e07_1710230000000_1045_01_000002 exited", "<CONTAINER>", "1710230000000"),
    ("Path does not exist: s3a://acme-raw/events/dt=2024-03-11", "<URI>", "acme-raw"),
    ("Failed to connect to /10.0.3.17:7337", "<IP>", "10.0.3.17"),
    ("Connection refused: node-17.dc1.corp:8020", "<HOST>", "node-17"),
    ("File /user/etl/tmp/part-00001 could only be written", "<PATH>", "/user/etl"),
    ("Failed to get broadcast_12_piece0 of broadcast_12", "<BLOCK>", "broadcast_12"),
    ("5.6 GB of 5.5 GB physical memory used", "<SIZE>", "5.6 GB"),
    ("Aborting job 0x7f3a2b1c", "<HEX>", "0x7f3a2b1c"),
    ("Lost task 3.0 in stage 2.0 (TID 14)", "<ID>", "TID 14"),
    ("Requested 1024 rows, got 17", "<NUM>", "1024"),
]


@pytest.mark.parametrize(("text", "placeholder", "gone"), MASKS)
def test_each_mask_replaces_its_variable_part(text: str, placeholder: str, gone: str) -> None:
    masked = mask(text)
    assert placeholder in masked and gone not in masked


def test_exit_codes_survive_masking() -> None:
    assert "code 137" in mask("Container exited with a non-zero exit code 137")


@pytest.fixture(scope="module")
def small() -> list[tuple[str, str, str]]:
    return list(corpus(load_packs(None).rules, per_entry=3, seed=1))


def test_training_on_a_small_corpus_is_reproducible_and_round_trips(small, tmp_path: Path) -> None:
    model, metrics = train(small, version="textcat@test", seed=1)
    again, metrics_again = train(small, version="textcat@test", seed=1)
    assert metrics == metrics_again, "same corpus and seed, same figures"
    assert 0.0 < metrics["threshold"] <= 1.0 and metrics["heldout_texts"] > 0
    assert set(metrics["per_category"]) >= {NONE, "input_missing"}
    save(model, metrics, tmp_path / "m", "card")
    loaded = load(tmp_path / "m")
    texts = [t for t, _, _ in small[:50]]
    assert loaded.predict(texts) == model.predict(texts)
    assert loaded.threshold == model.threshold and loaded.version == "textcat@test"


def test_predictions_are_cached_by_masked_text(small) -> None:
    model, _ = train(small, version="t", seed=1)
    model.predict(["java.io.FileNotFoundException: /data/a/b/c does not exist"])
    model.predict(["java.io.FileNotFoundException: /data/x/y/z does not exist"])  # same once masked
    assert len(model._cache) == 1


def test_loading_refuses_types_outside_sklearn_numpy_scipy(tmp_path: Path) -> None:
    import json

    import skops.io
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    folder = tmp_path / "evil"
    folder.mkdir()
    skops.io.dump(Pipeline([("f", FunctionTransformer(func=mask))]), folder / "model.skops")
    (folder / "metrics.json").write_text(json.dumps({"version": "x", "threshold": 0.5}))
    with pytest.raises(ConfigError, match="refusing types"):
        load(folder)


def test_threshold_is_the_lowest_reaching_the_precision() -> None:
    probs = [0.95, 0.9, 0.8, 0.7, 0.6]
    predicted = ["a", "a", "b", "b", "a"]
    truth = ["a", "a", "b", "c", "c"]
    assert choose_threshold(__import__("numpy").array(probs), predicted, truth, precision=0.75) == 0.7
    assert choose_threshold(__import__("numpy").array(probs), predicted, truth, precision=1.0) == 0.8
    assert expected_calibration_error([1.0, 1.0], [True, True]) == 0.0
    assert expected_calibration_error([0.9, 0.9], [False, False]) == pytest.approx(0.9)


@dataclass
class FixedModel:
    """A model whose answers the test decides: the combination policy is what is under test."""

    answers: dict[str, tuple[str, float]]
    version: str = "fixed@1"
    threshold: float = 0.6
    seen: list[str] = field(default_factory=list)

    def predict(self, texts):
        self.seen += texts
        return [next((v for k, v in self.answers.items() if k in t), (NO_CAUSE, 0.99)) for t in texts]


ENGINE = load_classifier(Settings(model_mode="off")).engine
APP = AppInfo(app_id="application_1_0001", final_status="FAILED")
UNMATCHED = "com.acme.store.ShardUnavailableException: shard 7 refused the write"


def _events(text: str):
    return extract_events(text, app_id=APP.app_id, role="driver")


def test_a_rule_match_decides_whatever_the_model_says() -> None:
    model = FixedModel({"FetchFailedException": ("disk_full", 0.99)})
    events = _events("org.apache.spark.shuffle.FetchFailedException: Failed to connect to host-9:7337")
    d = diagnose(events, app=APP, engine=ENGINE, model=model)
    assert (d.source, d.category, d.model_version) == ("rule", "shuffle_fetch_failed", "fixed@1")


def test_the_model_decides_when_no_rule_matches_and_it_is_confident() -> None:
    d = diagnose(_events(UNMATCHED), app=APP, engine=ENGINE, model=FixedModel({"ShardUnavailable": ("network_error", 0.8)}))
    assert (d.source, d.category, d.confidence, d.rule_id) == ("model", "network_error", 0.8, None)
    assert d.remediation and d.evidence[0].excerpt.startswith("com.acme.store")


def test_below_the_threshold_it_is_unknown_with_the_guess_as_a_hint() -> None:
    d = diagnose(_events(UNMATCHED), app=APP, engine=ENGINE, model=FixedModel({"ShardUnavailable": ("network_error", 0.4)}))
    assert (d.category, d.source, d.hint, d.confidence) == ("unknown", "none", "network_error", 0.0)


def test_exceptions_come_first_and_plain_warnings_are_read_when_there_are_none() -> None:
    warn = "24/03/12 10:11:12 WARN Shards: shard 7 keeps refusing writes, retrying"
    both = _events(warn) + _events(UNMATCHED)
    model = FixedModel({"keeps refusing": ("disk_full", 0.9), "ShardUnavailable": ("network_error", 0.8)})
    assert diagnose(both, app=APP, engine=ENGINE, model=model).category == "network_error"
    assert not model.seen[0].startswith("24/03/12"), "the WARN is not read while there is an exception"
    d = diagnose(_events(warn), app=APP, engine=ENGINE, model=FixedModel({"keeps refusing": ("disk_full", 0.9)}))
    assert (d.source, d.category) == ("model", "disk_full")


def test_no_cause_answers_are_never_a_diagnosis() -> None:
    d = diagnose(_events(UNMATCHED), app=APP, engine=ENGINE, model=FixedModel({}))
    assert d.category == "unknown" and d.hint is None


def test_a_confident_model_disagreeing_with_a_generic_rule_is_noted() -> None:
    decided = [(r, e) for r in ENGINE.rules if r.priority < 30 for e in r.match
               if diagnose(_events(e), app=APP, engine=ENGINE).rule_id == r.id]
    assert decided, "some generic rule decides its own example"
    rule, example = decided[0]
    other = "disk_full" if rule.category != "disk_full" else "network_error"
    d = diagnose(_events(example), app=APP, engine=ENGINE, model=FixedModel({"": (other, 0.95)}))
    assert (d.rule_id, d.source) == (rule.id, "rule")
    assert any(other in note for note in d.notes)
    quiet = diagnose(_events(example), app=APP, engine=ENGINE, model=FixedModel({"": (other, 0.3)}))
    assert not quiet.notes, "an unconfident model says nothing"


def test_the_shipped_model_loads_by_default_and_can_be_turned_off() -> None:
    assert (SHIPPED_MODEL / "model.skops").is_file() and (SHIPPED_MODEL / "model_card.md").is_file()
    classifier = load_classifier(Settings())
    assert classifier.model is not None and classifier.model.version == "textcat@2"
    assert load_classifier(Settings(model_mode="off")).model is None
    assert only(classifier, "rules").model is None and only(classifier, "model").engine.rules == []
    with pytest.raises(ConfigError):
        load_classifier(Settings(model="/nonexistent/model"))


def test_unknowns_group_into_templates_with_counts_and_examples(tmp_path: Path) -> None:
    import json

    from sparktriage.unknowns import from_jsonl

    lines = [json.dumps({"id": n, "text": f"com.acme.store.ShardUnavailableException: shard {n} refused key {n * 7}"})
             for n in range(5)]
    lines.append(json.dumps({"id": "oom", "text": "java.lang.OutOfMemoryError: Java heap space"}))
    (template,) = from_jsonl(load_classifier(Settings(model_mode="off")), lines)
    assert template.count == 5, "the classified OOM is not among the unknowns"
    assert template.template.startswith("com.acme.store.ShardUnavailableException: shard <NUM>")
    assert template.example.startswith("com.acme.store.ShardUnavailableException: shard 0 refused key 0")


def test_the_shipped_model_names_no_cause_in_the_last_lines_of_healthy_logs() -> None:
    """A failed application that printed no error is read from its last lines
    (``ingest.lastlines``); routine INFO there must not become a confident answer.
    The logs come from the tests' own generator, not the corpus's healthy lines."""
    model = load_classifier(Settings()).model
    tails = [events_of_text(generate_log(200, error_fraction=0.0, seed=s), "app")[0].text for s in range(100)]
    answered = [c for c, p in model.predict(tails) if c != NO_CAUSE and p >= model.threshold]
    assert len(answered) <= 5, answered
