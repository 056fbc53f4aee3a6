"""The model: masks, training on a small corpus, loading, abstention and the combination policy."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from classifiers.core import LOW_PRIORITY, NO_CAUSE, SHIPPED_MODEL, Classifier, diagnose, load_classifier, only
from classifiers.rootcause import is_generic
from classifiers.corpus.generate import NONE, corpus
from classifiers.masking import mask
from classifiers.model import MAX_CHARS, TextModel, choose_threshold, expected_calibration_error, load, save, train
from logtext.events import extract_events
from rules.engine import RuleEngine
from rules.loader import load_packs
from sparktriage.errors import ConfigError
from sparktriage.tools.classify import classify_text, events_of_text
from sparktriage.records import AppInfo
from sparktriage.settings import Settings
from tests.conftest import REPO, SHARED_DATA
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
    """One text per format and every other item: ~500 texts of every category, enough for a model with a
    real threshold (two trainings of it take a minute or two under load, not ten)."""
    return list(corpus(load_packs(None).rules, per_entry=1, seed=1))[::2]


def _dev_real() -> dict[str, str]:
    path = SHARED_DATA / "dev_real.jsonl"
    if not path.exists():
        pytest.skip(f"{path} is absent (shared/ is not beside this checkout)")
    return {item["id"]: item["text"] for item in map(json.loads, path.read_text().splitlines()) if item}


@pytest.mark.slow  # trains a model: minutes on a loaded machine
def test_training_on_a_small_corpus_is_reproducible_and_round_trips(small, tmp_path: Path) -> None:
    model, metrics = train(small, version="textcat@test", seed=1)
    again, metrics_again = train(small, version="textcat@test", seed=1)
    assert metrics == metrics_again, "same corpus and seed, same figures"
    assert 0.0 < metrics["threshold"] <= 1.0 and metrics["heldout_texts"] > 0
    assert set(metrics["per_category"]) >= {NONE, "input_missing"}
    save(model, metrics, tmp_path / "m", "card")
    loaded = load(tmp_path / "m")
    assert loaded.threshold == model.threshold and loaded.version == "textcat@test"
    texts = [mask(t[:MAX_CHARS]) for t in [t for t, _, _ in small] + list(_dev_real().values())]
    assert np.array_equal(loaded.scorer.predict_proba(texts), model.scorer.predict_proba(texts)), \
        "the saved model computes the very same probabilities as the fitted pipeline"
    assert list(loaded.scorer.classes_) == list(model.scorer.classes_)


def test_the_shipped_model_answers_what_it_answered_as_skops() -> None:
    """models/textcat/2 was converted from skops to arrays; the skops model's answers
    (tests/data, made from it before the conversion) are its answers still."""
    golden = json.loads((REPO / "tests" / "data" / "textcat2_skops_answers.json").read_text())
    model = load(REPO / "models" / "textcat" / "2")
    texts = [t for t, _, _ in golden["corpus"]]
    assert model.predict(texts) == [(c, p) for _, c, p in golden["corpus"]]
    dev = _dev_real()
    ids = [i for i in golden["dev_real"] if i in dev]
    assert ids, "dev_real still holds the items the answers were made on"
    assert model.predict([dev[i] for i in ids]) == [tuple(golden["dev_real"][i]) for i in ids]


def test_the_shipped_model_answers_as_its_fitted_pipeline_did() -> None:
    """The shipped model's answers on the real dev split were taken from the fitted sklearn
    pipeline before it was written as arrays (tests/data): the file gives the same classes and floats. A model
    re-thresholded without retraining (``train --rethreshold``) holds the file of the one it came from."""
    model = load_classifier(Settings()).model
    trained = json.loads((SHIPPED_MODEL / "metrics.json").read_text()).get("rethresholded_from", model.version)
    golden = json.loads((REPO / "tests" / "data" / f"textcat{trained.split('@')[1]}_answers.json").read_text())
    assert golden["model"] == trained
    dev = {item["id"]: item["text"] for item in map(json.loads, (REPO / "classifiers" / "corpus" / "real" / "dev.jsonl")
                                                    .read_text().splitlines()) if item}
    ids = [i for i in golden["real_dev"] if i in dev]
    assert len(ids) >= 100, "the dev split still holds the texts the answers were made on"
    got = model.predict([dev[i] for i in ids])
    assert [c for c, _ in got] == [golden["real_dev"][i][0] for i in ids]
    # the same floats up to the last bits a CPU's vector width may change in a dot product's summation order
    assert [p for _, p in got] == pytest.approx([golden["real_dev"][i][1] for i in ids], rel=1e-12, abs=0)


class CountingScorer:
    """A scorer that answers the first class for every text and records what it was asked."""

    classes_ = np.array(["a", "b"])

    def __init__(self) -> None:
        self.asked: list[str] = []

    def predict_proba(self, texts):
        self.asked += texts
        return np.tile([0.7, 0.3], (len(texts), 1))


def test_predictions_are_cached_by_masked_text() -> None:
    scorer = CountingScorer()
    model = TextModel(scorer, "t", 0.5)
    model.predict(["java.io.FileNotFoundException: /data/a/b/c does not exist"])
    assert model.predict(["java.io.FileNotFoundException: /data/x/y/z does not exist"]) == [("a", 0.7)]
    assert len(scorer.asked) == 1, "the same text once masked is not scored twice"


def test_the_cache_drops_the_least_recently_used_text() -> None:
    scorer = CountingScorer()
    model = TextModel(scorer, "t", 0.5, cache_size=2)
    model.predict(["first"])
    model.predict(["second"])
    model.predict(["first"])  # used again: now "second" is the least recently used
    model.predict(["third"])
    scorer.asked.clear()
    model.predict(["first", "third"])
    assert scorer.asked == [], "recently used texts stay cached"
    model.predict(["second"])
    assert scorer.asked == ["second"]


def _write_model(folder: Path, **arrays) -> Path:
    folder.mkdir()
    np.savez(folder / "model.npz", **arrays)
    (folder / "metrics.json").write_text(json.dumps({"version": "x", "threshold": 0.5}))
    return folder


def _header(**changes) -> np.ndarray:
    header = {"format": "sparktriage.textcat/v1", "classifier": "sklearn.linear_model.LogisticRegression",
              "calibration": "sklearn.calibration.CalibratedClassifierCV(method=sigmoid, ensemble=False)",
              "classes": ["a", "b", "c"], "estimator_classes": ["a", "b", "c"],
              "features": [{"name": "w", "type": "sklearn.feature_extraction.text.TfidfVectorizer",
                            "params": {"ngram_range": [1, 1]}}], **changes}
    return np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)


def _arrays(**changes) -> dict:
    return {"terms0": np.frombuffer(b"x\ny", dtype=np.uint8), "idf0": np.ones(2), "coef": np.zeros((3, 2)),
            "intercept": np.zeros(3), "calibration": np.ones((3, 2)), "header": _header(), **changes}


def test_a_well_formed_model_file_loads(tmp_path: Path) -> None:
    model = load(_write_model(tmp_path / "ok", **_arrays()))
    assert model.predict(["x y"])[0][0] in ("a", "b", "c")


@pytest.mark.parametrize(("arrays", "refusal"), [
    ({"header": _header(classifier="sklearn.preprocessing.FunctionTransformer")}, "refusing types"),
    ({"header": _header(features=[{"name": "w", "type": "builtins.eval", "params": {}}])}, "refusing types"),
    ({"header": _header(features=[{"name": "w", "type": "sklearn.feature_extraction.text.TfidfVectorizer",
                                   "params": {"preprocessor": "eval"}}])}, "outside the pinned set"),
    ({"terms0": np.array([{"a": 1}], dtype=object)}, "not a readable model file"),
    ({"coef": np.zeros((3, 5))}, "do not fit"),
    ({"header": _header(format="skops")}, "is not sparktriage.textcat/v1"),
], ids=["foreign-classifier", "foreign-feature", "foreign-parameter", "pickled-object", "bad-shape", "format"])
def test_loading_refuses_what_a_model_file_must_not_hold(tmp_path: Path, arrays, refusal: str) -> None:
    model = load(_write_model(tmp_path / "evil", **_arrays(**arrays)))
    with pytest.raises(ConfigError, match=refusal):
        model.predict(["x"])


def test_the_model_file_is_read_on_first_use_only(tmp_path: Path) -> None:
    folder = _write_model(tmp_path / "lazy", **_arrays())
    model = load(folder)
    assert model.version == "x" and not model.loaded
    model.predict(["x"])
    assert model.loaded
    with pytest.raises(ConfigError, match="no model.npz"):
        load(tmp_path / "nowhere")
    broken = _write_model(tmp_path / "broken", **_arrays())
    (broken / "metrics.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"broken: metrics.json: Expecting property name"):
        load(broken)
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "model.skops").write_bytes(b"")
    with pytest.raises(ConfigError, match=r"no model.npz \(it holds a model.skops of an earlier version: retrain it "
                                          r"with `sparktriage train --out DIR`\)"):
        load(tmp_path / "old")


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


def _deciding_own_example(generic: bool) -> list[tuple[object, list]]:
    """(rule, events of one of its examples) of the shipped generic rules, or of the low-priority ones that
    are not generic, where the rule decides its own example alone."""
    signals = Classifier(engine=ENGINE).signals
    picked = [r for r in ENGINE.rules if (is_generic(r) if generic else r.priority < LOW_PRIORITY and not is_generic(r))]
    read = [(r, events_of_text(e, APP.app_id, signals)) for r in picked for e in r.match]
    return [(r, events) for r, events in read if diagnose(events, app=APP, engine=ENGINE).rule_id == r.id]


def test_every_generic_rule_yields_to_a_confident_model_and_to_its_finding_no_cause() -> None:
    decided = _deciding_own_example(generic=True)
    assert len({r.id for r, _ in decided}) >= 5, "the user exception, the Python traceback, the JVM exception..."
    for rule, events in decided:
        overruled = diagnose(events, app=APP, engine=ENGINE, model=FixedModel({"": ("disk_full", 0.95)}))
        assert (overruled.source, overruled.category, overruled.confidence, overruled.rule_id) == (
            "model", "disk_full", 0.95, None), rule.id
        assert rule.id in overruled.explain and rule.id in overruled.notes[-1]
        kept = diagnose(events, app=APP, engine=ENGINE, model=FixedModel({"": ("disk_full", 0.59)}))
        assert (kept.source, kept.rule_id, kept.notes) == ("rule", rule.id, ()), "under the threshold: the rule"
        abstained = diagnose(events, app=APP, engine=ENGINE, model=FixedModel({}))  # no cause, 0.99
        assert (abstained.category, abstained.hint, abstained.evidence[0].rule_id) == (
            "unknown", rule.category, rule.id), rule.id


def test_a_confident_model_disagreeing_with_a_low_priority_rule_that_is_not_generic_is_noted() -> None:
    """A YARN shutdown hook, too many executor failures, an OOM of an unnamed process: they name a cause
    of their own, so the model's other answer is a note beside them, and its no-cause answer nothing."""
    decided = _deciding_own_example(generic=False)
    assert decided, "some low-priority rule that is not generic decides its own example"
    for rule, events in decided:
        other = "disk_full" if rule.category != "disk_full" else "network_error"
        d = diagnose(events, app=APP, engine=ENGINE, model=FixedModel({"": (other, 0.95)}))
        assert (d.rule_id, d.source) == (rule.id, "rule")
        assert any(other in note for note in d.notes)
        for answer in ((other, 0.3), (NO_CAUSE, 0.99)):
            quiet = diagnose(events, app=APP, engine=ENGINE, model=FixedModel({"": answer}))
            assert (quiet.rule_id, quiet.notes) == (rule.id, ()), answer


def test_the_shipped_model_loads_by_default_and_can_be_turned_off() -> None:
    assert (SHIPPED_MODEL / "model.npz").is_file() and (SHIPPED_MODEL / "model_card.md").is_file()
    classifier = load_classifier(Settings())
    assert classifier.model is not None and classifier.model.version == "textcat@6"
    assert load_classifier(Settings(model_mode="off")).model is None
    assert only(classifier, "rules").model is None and only(classifier, "model").engine.rules == []
    with pytest.raises(ConfigError):
        load_classifier(Settings(model="/nonexistent/model"))


def test_the_model_is_read_only_when_no_rule_decides() -> None:
    classifier = load_classifier(Settings())
    decided = classify_text(classifier, "org.apache.hadoop.security.AccessControlException: Permission denied: "
                            "user=etl, access=READ, inode=/data/raw", "app_1")
    assert decided.source == "rule" and classifier.engine.by_id[decided.rule_id].priority >= LOW_PRIORITY
    assert not classifier.model.loaded, "a specific rule decided: the model file was not needed"
    classify_text(classifier, UNMATCHED, "app_2")
    assert classifier.model.loaded


def test_unknowns_group_into_templates_with_counts_and_examples(tmp_path: Path) -> None:
    from sparktriage.history.unknowns import from_jsonl

    lines = [json.dumps({"id": n, "text": f"com.acme.store.ShardUnavailableException: shard {n} refused key {n * 7}"})
             for n in range(5)]
    lines.append(json.dumps({"id": "oom", "text": "java.lang.OutOfMemoryError: Java heap space"}))
    (template,) = from_jsonl(load_classifier(Settings(model_mode="off")), lines)
    assert template.count == 5, "the classified OOM is not among the unknowns"
    assert template.template.startswith("com.acme.store.ShardUnavailableException: shard <NUM>")
    assert template.example.startswith("com.acme.store.ShardUnavailableException: shard 0 refused key 0")


def test_the_shipped_model_names_no_cause_in_the_last_lines_of_healthy_logs() -> None:
    """A failed application that printed no error is read from its last lines
    (``logtext.lastlines``); routine INFO there must not become a confident answer.
    The logs come from the tests' own generator, not the corpus's healthy lines."""
    model = load_classifier(Settings()).model
    tails = [events_of_text(generate_log(200, error_fraction=0.0, seed=s), "app")[0].text for s in range(100)]
    answered = [(c, p) for c, p in model.predict(tails) if c != NO_CAUSE and p >= model.threshold]
    assert answered == [], "healthy INFO lines must never read as a cause"


def test_the_model_reads_error_and_fatal_records_before_warnings() -> None:
    error = "24/03/12 10:11:12 ERROR Shards: shard 7 refused the write"
    fatal = "24/03/12 10:11:13 FATAL Shards: shard 8 is gone for good"
    warn = "24/03/12 10:11:14 WARN Shards: shard 9 keeps refusing writes"
    for line, category in ((error, "disk_full"), (fatal, "network_error")):
        model = FixedModel({"refused": ("disk_full", 0.9), "gone": ("network_error", 0.9), "keeps": ("executor_lost", 0.99)})
        d = diagnose(_events(line + "\n" + warn), app=APP, engine=ENGINE, model=model)
        assert (d.source, d.category) == ("model", category)
        assert all("keeps refusing" not in text for text in model.seen), "the WARN is not read beside an ERROR"


def test_the_model_s_first_most_confident_answer_wins_and_only_taxonomy_ids_count() -> None:
    two = UNMATCHED + "\n" + UNMATCHED.replace("shard 7", "shard 8")
    tie = FixedModel({"shard 7": ("disk_full", 0.8), "shard 8": ("network_error", 0.8)})
    assert diagnose(_events(two), app=APP, engine=ENGINE, model=tie).category == "disk_full"
    bogus = FixedModel({"ShardUnavailable": ("not_a_category", 0.99)})
    assert diagnose(_events(UNMATCHED), app=APP, engine=ENGINE, model=bogus).category == "unknown"


def test_an_unknown_says_why_in_the_words_that_fit() -> None:
    plain_error = diagnose(_events("24/03/12 10:11:12 ERROR Shards: shard 7 refused the write"), app=APP,
                           engine=ENGINE)
    assert plain_error.category == "unknown"
    assert plain_error.explain.startswith("No rule matched the exceptions of this application")
    assert diagnose([], app=APP, engine=ENGINE).explain.startswith("The logs hold nothing to read")


def test_a_saved_model_loads_back_with_its_metrics_and_card(tmp_path: Path) -> None:
    """``save`` on a pipeline fitted to eighteen texts (no ``train``: fast enough to run per mutant)."""
    from classifiers.model import _pipeline

    texts = [f"java.lang.OutOfMemoryError: Java heap space in task {n} of stage {n % 3}" for n in range(6)] + \
        [f"java.io.IOException: No space left on device writing block {n} of shuffle {n % 3}" for n in range(6)] + \
        [f"org.apache.hadoop.security.AccessControlException: Permission denied: user=u{n % 3}" for n in range(6)]
    labels = ["executor_oom"] * 6 + ["disk_full"] * 6 + ["access_denied"] * 6
    sources = [f"format#{n % 3}" for n in range(18)]  # the calibration's folds: each holds every class
    fitted = TextModel(_pipeline(0, sources).fit(texts, labels), "saved-1", 0.4321)
    metrics = {"version": "saved-1", "threshold": 0.4321, "heldout_accuracy": 0.5}
    save(fitted, {"version": "first"}, tmp_path / "a" / "b", "# an older card\n")
    save(fitted, metrics, tmp_path / "a" / "b", "# the card\n")  # a retrained model replaces the folder's files
    text = (tmp_path / "a" / "b" / "metrics.json").read_text()
    assert json.loads(text) == metrics
    assert text == json.dumps(metrics, indent=2) + "\n", "one figure a line: people diff models/*/metrics.json"
    assert (tmp_path / "a" / "b" / "model_card.md").read_text() == "# the card\n"
    back = load(tmp_path / "a" / "b")
    assert (back.version, back.threshold) == ("saved-1", 0.4321)
    asked = ["java.lang.OutOfMemoryError: Java heap space", "No space left on device", "all fine here"]
    got, want = back.predict(asked), fitted.predict(asked)
    assert [c for c, _ in got] == [c for c, _ in want] and [c for c, _ in got[:2]] == ["executor_oom", "disk_full"]
    assert [p for _, p in got] == pytest.approx([p for _, p in want])


OOM_OF_SOME_PROCESS = "24/03/12 10:11:12 ERROR Utils: uncaught error\njava.lang.OutOfMemoryError: Java heap space"


def test_the_model_places_an_oom_the_rule_cannot_and_disagrees_with_anything_else() -> None:
    """A rule that cannot tell the driver from an executor: the model naming one of the two over its threshold
    places the OOM (its probability the confidence, the rule named); under it, or naming another cause, or
    naming an OOM against a rule of another category, the rule's answer stands (a note where it disagrees)."""
    events = extract_events(OOM_OF_SOME_PROCESS, app_id=APP.app_id, role="unknown")
    assert diagnose(events, app=APP, engine=ENGINE).category == "executor_oom/driver_or_executor"
    placed = diagnose(events, app=APP, engine=ENGINE, model=FixedModel({"heap space": ("driver_oom", 0.9)}))
    assert (placed.category, placed.source, placed.confidence, placed.rule_id) == ("driver_oom", "model", 0.9, None)
    assert "generic-java-heap-space" in placed.explain and placed.notes[0].startswith("the model placed")
    assert "Java heap space" in placed.evidence[0].excerpt and "spark.driver.memory" in placed.remediation
    executor = diagnose(events, app=APP, engine=ENGINE, model=FixedModel({"heap space": ("executor_oom", 0.7)}))
    assert (executor.category, executor.source) == ("executor_oom", "model")
    unsure = diagnose(events, app=APP, engine=ENGINE, model=FixedModel({"heap space": ("driver_oom", 0.59)}))
    assert (unsure.category, unsure.source, unsure.notes) == ("executor_oom/driver_or_executor", "rule", ())
    other = diagnose(events, app=APP, engine=ENGINE, model=FixedModel({"heap space": ("disk_full", 0.9)}))
    assert other.category == "executor_oom/driver_or_executor"
    assert other.notes[0] == "the model disagrees with this low-priority rule: disk_full (0.90)"
    rule, elsewhere = next((r, e) for r, e in _deciding_own_example(generic=False) if "oom" not in r.category)
    d = diagnose(elsewhere, app=APP, engine=ENGINE, model=FixedModel({"": ("driver_oom", 0.95)}))
    assert (d.rule_id, d.notes[0]) == (rule.id, "the model disagrees with this low-priority rule: driver_oom (0.95)")


def test_an_unknown_from_last_lines_says_the_application_printed_no_error() -> None:
    from logtext.lastlines import last_lines_events

    tail = last_lines_events("24/03/12 10:11:12 INFO Shards: all quiet\n", app_id=APP.app_id)
    d = diagnose(tail, app=APP, engine=ENGINE, model=FixedModel({}))
    assert d.category == "unknown"
    assert d.explain.startswith("The application printed no error; no rule and no model names a cause in its "
                                "logs' last lines")


def test_a_classifier_restricted_to_rules_or_to_the_model() -> None:
    from classifiers.core import Classifier

    model = FixedModel({"heap space": ("driver_oom", 0.9)})
    both = Classifier(engine=ENGINE, model=model)
    rules = only(both, "rules")
    assert rules.engine is ENGINE and rules.model is None
    alone = only(both, "model")
    assert alone.model is model and alone.engine.rules == [] and alone.engine.version == "none"
    assert alone.diagnose(_events(OOM_OF_SOME_PROCESS), APP).source == "model"
    assert only(both, "combined") is both
    with pytest.raises(ConfigError) as err:
        only(rules, "model")
    assert str(err.value).startswith("no model is loaded (model_mode off, or none shipped)")
