"""Fragments that show no failure (``classifiers.fragments``): a stack without its exception is not read by
the model, and the model's ``user_code_error`` needs an exception the job's code threw.

Texts come from the real corpus's train split (by id) or are written in the formats of the programs that
print them (Spark's, PySpark's, the JVM's); the model is scripted, so each test decides what it answers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers.core import diagnose, model_candidates
from classifiers.corpus.realcorpus import REAL, read
from classifiers.fragments import job_threw, only_frames
from logtext.lastlines import LAST_LINES
from rules.engine import RuleEngine
from rules.loader import load_packs
from sparktriage.records import AppInfo, ExceptionEvent
from sparktriage.tools.classify import events_of_text
from tests.packs import SMALL_PACK, write_pack
from tests.test_diagnose import ScriptedModel

APP = AppInfo(app_id="application_1700000000000_0042")
TRAIN = {item["id"]: item for item in read(REAL / "train.jsonl")}
#: a Python UDF's failure as PySpark 3 wraps it, the traceback cut before its exception line.
WRAPPED_CUT = ("pyspark.sql.utils.PythonException: \n  An exception was thrown from the Python worker. "
               "Please see the stack trace below.\nTraceback (most recent call last):\n"
               '  File "/opt/jobs/etl.py", line 9, in parse')
#: a MatchError Spark's own Cast threw (the platform's, not the job's code).
PLATFORM_THREW = ("scala.MatchError: 7 (of class java.lang.Integer)\n"
                  "\tat org.apache.spark.sql.catalyst.expressions.Cast.castToInt(Cast.scala:512)\n"
                  "\tat org.apache.spark.sql.catalyst.expressions.Cast.eval(Cast.scala:430)")


@pytest.fixture()
def engine(tmp_path: Path) -> RuleEngine:
    packs = load_packs(write_pack(tmp_path, SMALL_PACK), builtin=False)
    return RuleEngine(packs.rules, packs.version)


def ev(text: str, **more) -> ExceptionEvent:
    return ExceptionEvent(app_id=APP.app_id, text=text, excerpt=tuple(text.split("\n")), **more)


def test_every_train_text_that_is_only_frames_is_labelled_unknown() -> None:
    """The premise: frames alone name no cause. Drawn from the data: it holds such texts (as ingest reads them:
    a paste's prefixes are taken off), all unknown."""
    frames = [item for item in TRAIN.values()
              if all(only_frames(e.text) for e in events_of_text(item["text"], APP.app_id))]
    assert len(frames) >= 10
    assert {item["label"] for item in frames} == {"unknown"}
    assert not only_frames("java.io.IOException: boom\n\tat org.apache.hadoop.fs.FileSystem.open(FileSystem.java:9)")
    assert not only_frames("")


@pytest.mark.parametrize("item_id", ["fink-830-frames", "lakefs-5950-hiveserver-frames", "chunjun-1674-gzip-eof",
                                     "delta-341-traceback-cut"])
def test_a_stack_without_its_exception_is_not_read_by_the_model(engine: RuleEngine, item_id: str) -> None:
    item = TRAIN[item_id]
    assert item["label"] == "unknown"
    events = events_of_text(item["text"], APP.app_id)
    model = ScriptedModel({"": ("input_missing", 0.99)})
    d = diagnose(events, app=APP, engine=engine, model=model)
    assert (d.category, d.source, model.seen) == ("unknown", "none", [])


def test_what_is_more_than_a_stack_without_its_exception_is_still_read() -> None:
    whole = 'Traceback (most recent call last):\n  File "job.py", line 3, in <module>\n    d["x"]\nKeyError: \'x\''
    assert not only_frames(whole)
    assert only_frames(whole.rsplit("\n", 1)[0])
    text = TRAIN["fink-830-frames"]["text"]
    tail = ev("INFO SparkContext: Successfully stopped SparkContext", message=LAST_LINES)
    assert model_candidates([ev(text, message=LAST_LINES), tail]) == [tail], "other last lines are still read"


@pytest.mark.parametrize("text, why", [
    (TRAIN["datalab-2136-analysis-traceback-cut"]["text"], "a traceback cut before its exception line"),
    (WRAPPED_CUT, "a wrapper whose carried exception is cut"),
    (PLATFORM_THREW, "an exception Spark threw"),
])
def test_the_models_user_code_error_needs_an_exception_the_job_threw(engine: RuleEngine, text: str, why: str) -> None:
    events = events_of_text(text, APP.app_id)
    assert not any(job_threw(e) for e in events), why
    d = diagnose(events, app=APP, engine=engine, model=ScriptedModel({"": ("user_code_error", 0.95)}))
    assert (d.category, d.hint, d.source) == ("unknown", "user_code_error", "none"), why
    assert "reads no exception the job's code threw" in d.explain


@pytest.mark.parametrize("item_id", ["feature-selection-2-none-get", "googlegenomics-20-integer2int-npe",
                                     "sjs-1074-classcast"])
def test_the_models_user_code_error_stands_on_an_exception_the_job_reached(engine: RuleEngine, item_id: str) -> None:
    item = TRAIN[item_id]
    assert item["label"] == "user_code_error"
    d = diagnose(events_of_text(item["text"], APP.app_id), app=APP, engine=engine,
                 model=ScriptedModel({"": ("user_code_error", 0.95)}))
    assert (d.category, d.source) == ("user_code_error", "model")


def test_a_warning_the_application_survived_is_not_the_jobs_failure() -> None:
    text = "java.lang.IllegalStateException: listener failed\n\tat com.acme.etl.Listener.onEnd(Listener.scala:12)"
    assert job_threw(ev(text, level="ERROR", exc_class="java.lang.IllegalStateException"))
    assert not job_threw(ev(text, level="WARN", exc_class="java.lang.IllegalStateException"))


def test_another_events_standing_answer_beats_a_user_code_error_that_does_not(engine: RuleEngine) -> None:
    """The test holds the generic answer only: a specific one is believed as before, and one that stands
    is preferred over a likelier one that does not."""
    wrapped, refused = ev(WRAPPED_CUT, exc_class="pyspark.sql.utils.PythonException", line=1), \
        ev("java.net.ConnectException: Connection refused", exc_class="java.net.ConnectException", line=2)
    model = ScriptedModel({"PythonException": ("user_code_error", 0.95), "refused": ("network_error", 0.7)})
    d = diagnose([wrapped, refused], app=APP, engine=engine, model=model)
    assert (d.category, d.confidence, d.evidence[0].line) == ("network_error", 0.7, 2)
    specific = diagnose([ev(PLATFORM_THREW, exc_class="scala.MatchError")], app=APP, engine=engine,
                        model=ScriptedModel({"": ("schema_mismatch", 0.9)}))
    assert (specific.category, specific.source) == ("schema_mismatch", "model")


def test_the_models_network_error_on_a_transport_handlers_echo_does_not_decide(engine: RuleEngine) -> None:
    """An executor removed, then its connection reset as TransportChannelHandler logs it (train: dotnet-spark
    #577, labelled unknown): the model's network_error there reads an echo, as a network rule would."""
    events = events_of_text(TRAIN["dotnet-spark-577-reset-after-loss"]["text"], APP.app_id)
    assert any(e.logger == "TransportChannelHandler" for e in events)
    d = diagnose(events, app=APP, engine=engine, model=ScriptedModel({"": ("network_error", 0.99)}))
    assert (d.category, d.hint) == ("unknown", "network_error")
    assert "a peer went away, not why" in d.explain
    other = diagnose(events, app=APP, engine=engine, model=ScriptedModel({"": ("executor_lost", 0.99)}))
    assert other.category == "executor_lost", "only the network answer reads the echo"
