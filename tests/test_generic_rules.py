"""A generic match never hides a known cause (issue 15), measured on the real corpus's train split.

The generic rules (a user exception rethrown by the driver, a bare Python
traceback, a generic JVM exception) decide only when nothing specific is in
the application: specific wins in one exception whatever the nesting, and
across events whatever the order; with the model, its confident answer for a specific cause
wins too, and its finding no cause, likelier than the rule's being right, leaves the text unknown.
Texts come from ``classifiers/corpus/real/train.jsonl`` (never from the dev split or
``dev_real.jsonl``), with the shipped rule packs and model.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from classifiers.core import Classifier, load_classifier, only
from classifiers.rootcause import is_generic
from sparktriage.tools.classify import events_of_text
from sparktriage.records import AppInfo
from sparktriage.settings import Settings

TRAIN = Path(__file__).resolve().parent.parent / "classifiers" / "corpus" / "real" / "train.jsonl"
ITEMS = {item["id"]: item for item in map(json.loads, TRAIN.read_text().splitlines())}
APP = AppInfo(app_id="application_1700000000000_0015", final_status="FAILED")


@pytest.fixture(scope="module")
def rules() -> Classifier:
    return only(load_classifier(Settings()), "rules")


@pytest.fixture(scope="module")
def combined() -> Classifier:
    return load_classifier(Settings())


def diagnose_texts(classifier: Classifier, *texts: str):
    events = [e for n, text in enumerate(texts) for e in events_of_text(text, f"{APP.app_id}-{n}", classifier.signals)]
    events = [dataclasses.replace(e, app_id=APP.app_id, ts=float(n)) for n, e in enumerate(events)]
    return classifier.diagnose(events, APP)


def generic_hits(classifier: Classifier, text: str) -> list[str]:
    return [r.id for r in classifier.engine.match(text, "any") if r.decides and is_generic(r)]


def specific_hits(classifier: Classifier, text: str) -> list[str]:
    return [r.id for r in classifier.engine.match(text, "any") if r.decides and not is_generic(r)]


def test_no_generic_rule_decides_where_a_known_specific_cause_is_in_the_text(rules) -> None:
    checked = 0
    for item in ITEMS.values():
        text = item["text"]
        if not (generic_hits(rules, text) and specific_hits(rules, text)):
            continue
        d = diagnose_texts(rules, text)
        assert d.rule_id in specific_hits(rules, text), (item["id"], d.rule_id)
        if item["label"] not in ("user_code_error", "unknown"):
            assert d.category.split("/")[0] == item["label"], (item["id"], d.rule_id)
        checked += 1
    assert checked >= 1


def test_a_kerberos_misconfiguration_beats_the_ipc_wrapper_and_the_generic_jvm_exception(rules) -> None:
    """Hadoop IPC wraps SaslRpcClient's "Failed to specify server's Kerberos principal name" as
    "Failed on local exception", and the IOException is a generic JVM exception: neither is the cause."""
    text = ITEMS["kyuubi-1166-server-principal"]["text"]
    assert generic_hits(rules, text) and "hadoop-ipc-failed-on-local-exception" in specific_hits(rules, text)
    d = diagnose_texts(rules, text)
    assert (d.category, d.rule_id) == ("auth_failure", "kerberos-kdc-errors")


def test_a_python_worker_that_cannot_import_its_module_is_a_dependency_not_a_crash(rules) -> None:
    """PythonWorkerFactory's "Error from python worker:" wraps the interpreter's stderr; an
    interpreter that reports "No module named ..." names the cause (the environment)."""
    text = ITEMS["spark-20151-daemon-module"]["text"]
    assert "python-daemon-or-worker-launch-failed" in specific_hits(rules, text)
    assert diagnose_texts(rules, text).category == "dependency_error"


def test_an_action_on_an_empty_rdd_is_the_jobs_error_although_sparks_frames_come_first(rules) -> None:
    """RDD.reduce's "empty collection" starts in Spark's frames, where the generic JVM rule stays
    silent (Spark's own exceptions are not the job's); the specific rule names the job's action."""
    text = ITEMS["tispark-773-empty-collection"]["text"]
    assert not generic_hits(rules, text)
    d = diagnose_texts(rules, text)
    assert (d.category, d.rule_id) == ("user_code_error", "rdd-action-on-empty-collection")


@pytest.mark.parametrize("item_id", ["glue-libs-31-asm5-classreader", "xgboost-1683-features-column-type",
                                     "predictionio-14-mllib-vector-column", "zeppelin-928-unread-block-data",
                                     "spark-acid-106-orc-buffer-too-small", "horovod-2313-pyarrow-schema-field",
                                     "datafusion-14105-lz4-unreadable", "stormcrawler-926-kryo-status-not-registered"])
def test_an_exception_the_generic_rule_would_take_is_decided_by_its_specific_cause(rules, item_id: str) -> None:
    """ASM 5 refusing a newer class file, Spark ML's column-type check, ORC's 'Buffer size too small' (a
    damaged stripe), a bare exception out of Hadoop's LZ4 decompressor, 'unread block data' (driver and executors on other builds): bare JVM exceptions the
    generic JVM rule also matches; an AttributeError on a pyarrow type (another pyarrow than the library
    expects) that the bare-traceback rule also matches; Kryo's 'Class is not registered' inside a bare
    RuntimeException. Their own text or frames name the cause."""
    item = ITEMS[item_id]
    assert generic_hits(rules, item["text"])
    assert diagnose_texts(rules, item["text"]).category == item["label"]


def test_a_workflow_tools_exit_code_wrapper_is_not_blamed_on_the_job(rules) -> None:
    """Airflow's SparkSubmitHook raises AirflowException("Cannot execute: ... Error code is: N")
    when spark-submit exits non-zero: a traceback of the workflow tool, not of the job's code, and
    without spark-submit's output it names no cause (people label it unknown)."""
    item = ITEMS["airflow-spark-2-cannot-execute"]
    assert item["label"] == "unknown"
    assert not generic_hits(rules, item["text"])
    assert diagnose_texts(rules, item["text"]).category == "unknown"


def test_a_re_raised_formatted_traceback_is_judged_by_the_traceback_it_carries(rules) -> None:
    """Zeppelin's PySpark interpreter re-raises ``Exception(traceback.format_exc())``: the outer
    ``Exception: Traceback ...`` says nothing of its own. Here the traceback it carries ends in a
    Py4JJavaError cut before its Java exception (people label it unknown); one that ends in the
    job's own exception is still the job's."""
    item = ITEMS["hops-317-py4j-cut"]
    assert item["label"] == "unknown"
    assert not generic_hits(rules, item["text"])
    assert diagnose_texts(rules, item["text"]).category == "unknown"
    own = item["text"].split("Py4JJavaError:")[0] + "ZeroDivisionError: division by zero"
    assert diagnose_texts(rules, own).category == "user_code_error"


def test_parquets_record_reader_wrapper_alone_is_a_guess_and_yields_to_what_it_wraps(rules) -> None:
    """parquet-mr wraps whatever reading a record threw as "Can not read value at N in block B in file F":
    shown alone it is most often a corrupt file (an experimental rule, so a lower confidence); with
    its cause shown, the cause decides."""
    wrapper = ITEMS["parquetjava-2032-decoding"]
    assert wrapper["label"] == "corrupt_data"
    alone = diagnose_texts(rules, wrapper["text"])
    assert (alone.category, alone.rule_id) == ("corrupt_data", "parquet-record-unreadable")
    assert alone.confidence < 0.9
    caused = wrapper["text"] + "\nCaused by: java.lang.ClassCastException: java.lang.Long cannot be cast to java.lang.Integer"
    assert diagnose_texts(rules, caused).category == "schema_mismatch"


def test_generic_outer_traceback_around_a_specific_inner_cause(rules) -> None:
    text = ITEMS["pixi-1869-nomodule"]["text"]  # PythonException: Traceback ... ModuleNotFoundError
    assert generic_hits(rules, text)
    assert diagnose_texts(rules, text).category.startswith("dependency_error")


#: train items a generic rule alone decides (a user exception, a generic JVM one, a Python one)
GENERIC = ["hbasesql-18-aioobe", "jgp-5-classcast", "spark-28661-zerodiv"]
#: train items with a specific cause (deepest line first: where their rule matches)
SPECIFIC = ["hudi-577-nospace", "spark-34308-parquet-convert", "flightstats-291-slowdown",
            "kyuubi-1166-server-principal", "delta-2988-failed-to-merge-fields"]
JAVA = "\nCaused by: "
PYTHON = "\n\nDuring handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n"


@pytest.mark.parametrize("generic_id", GENERIC)
@pytest.mark.parametrize("specific_id", SPECIFIC)
@pytest.mark.parametrize("chain", [JAVA, PYTHON], ids=["java", "python"])
def test_in_one_exception_specific_wins_in_either_nesting(rules, generic_id: str, specific_id: str, chain: str) -> None:
    """Specific deeper (a generic wrapper around it) and specific outer (wrapping a generic
    inner exception): in Java's order and in Python's, which is the other way round."""
    generic, specific = ITEMS[generic_id]["text"], ITEMS[specific_id]
    assert generic_hits(rules, generic) and not specific_hits(rules, generic)
    for text in (generic + chain + specific["text"], specific["text"] + chain + generic):
        d = diagnose_texts(rules, text)
        assert d.category.split("/")[0] == specific["label"], (text[:200], d.rule_id)


@pytest.mark.parametrize("item_id", ["spark-37852-negative-buffer", "spark-10266-npe-generated-projection",
                                     "spark-11748-chunks-non-empty"])
def test_a_runtime_exception_spark_threw_under_the_jdks_frames_is_not_the_jobs(rules, item_id: str) -> None:
    """Spark's BufferHolder refusing a negative size, an NPE in Spark's generated projection, the block store's
    ``require`` behind ``scala.Predef``: the generic JVM rule matches the exception class, but the first frame
    past the JDK's and Scala's is Spark's own, so nothing says the job threw (people label them unknown)."""
    item = ITEMS[item_id]
    assert item["label"] == "unknown" and "jvm-user-exception" in generic_hits(rules, item["text"])
    assert diagnose_texts(rules, item["text"]).category == "unknown"


@pytest.mark.parametrize("text", [
    "java.lang.ArrayIndexOutOfBoundsException: 7\n\tat org.apache.avro.generic.GenericData$Record.get(GenericData.java:212)"
    "\n\tat com.acme.etl.Visits$$anonfun$rows$1.apply(Visits.scala:31)",
    "java.lang.NullPointerException\n\tat org.apache.parquet.column.impl.ColumnWriterV1.write(ColumnWriterV1.java:132)"
    "\n\tat com.acme.etl.Writer.flush(Writer.java:58)",
    "scala.MatchError: null\n\tat org.apache.spark.sql.parquet.ParquetRelation2$$anonfun$buildScan$1.apply(newParquet.scala:422)"
    "\n\tat scala.collection.TraversableLike$$anonfun$map$1.apply(TraversableLike.scala:244)",
], ids=["avro", "parquet", "spark-1.x-sql-source"])
def test_a_runtime_exception_a_file_format_library_or_spark_1x_sources_threw_is_not_the_jobs(rules, text: str) -> None:
    """Avro's, Parquet's and ORC's readers and writers, and Spark 1.x's built-in sources (``sql.json``,
    ``sql.parquet``, ``sql.sources``) are the platform the job's data passes through: a runtime exception
    thrown there first says nothing about the job's own code."""
    assert "jvm-user-exception" in generic_hits(rules, text)
    assert diagnose_texts(rules, text).category == "unknown"


def test_spark_reporting_the_jobs_function_failed_is_still_the_jobs_and_a_connector_in_sparks_namespace_too(
        rules) -> None:
    """``[FAILED_EXECUTE_UDF]`` is thrown by Spark's error helpers about the job's function, and
    ``org.apache.spark.sql.hbase`` is a connector's package, not Spark's internals."""
    for item_id, rule_id in (("paimon-7451-failed-execute-udf", "udf-or-sink-function-failed"),
                             ("hbasesql-18-aioobe", "jvm-user-exception")):
        assert (diagnose_texts(rules, ITEMS[item_id]["text"]).rule_id, ITEMS[item_id]["label"]) == (
            rule_id, "user_code_error")


@pytest.mark.parametrize("item_id", ["spark-10284-master-npe", "sparknlp-6232-bm-npe"])
def test_a_jvm_exception_thrown_inside_spark_itself_is_not_blamed_on_the_job(rules, item_id: str) -> None:
    """An NPE whose trace starts in Spark's Master or block manager is a platform bug (people
    label it unknown): the generic JVM rule reads the first frame and stays silent."""
    assert ITEMS[item_id]["label"] == "unknown"
    assert not generic_hits(rules, ITEMS[item_id]["text"])
    assert diagnose_texts(rules, ITEMS[item_id]["text"]).category == "unknown"


@pytest.mark.parametrize("specific_id", ["hudi-577-nospace", "spark-34308-parquet-convert", "flightstats-291-slowdown"])
def test_across_events_a_specific_cause_beats_a_generic_one_in_either_order(rules, specific_id: str) -> None:
    generic = ITEMS["jgp-5-classcast"]["text"]  # a ClassCastException in the job's own mapper
    assert generic_hits(rules, generic)
    specific = ITEMS[specific_id]
    for order in ((generic, specific["text"]), (specific["text"], generic)):
        assert diagnose_texts(rules, *order).category.split("/")[0] == specific["label"]


def test_a_generic_user_exception_still_beats_its_downstream_consequences(rules) -> None:
    generic = ITEMS["jgp-5-classcast"]["text"]
    assert generic_hits(rules, generic)
    shut_down = ("ERROR ClientRunner: run: caught exception\n"
                 "org.apache.spark.SparkException: Job 0 cancelled because SparkContext was shut down")
    assert diagnose_texts(rules, generic, shut_down).category == "user_code_error"


def test_a_schema_mismatch_the_model_reads_under_a_generic_jvm_exception_is_its_answer(rules, combined) -> None:
    """An ACID table's update failing on a changed schema, reported as a bare JVM exception: the rules see
    only the generic one; the model, over its threshold, names the schema mismatch, and decides."""
    item = ITEMS["sparkacid-70-update-schema"]
    assert item["label"] == "schema_mismatch"
    assert diagnose_texts(rules, item["text"]).rule_id == "jvm-user-exception"
    d = diagnose_texts(combined, item["text"])
    assert (d.category, d.source, d.rule_id) == ("schema_mismatch", "model", None)
    assert "jvm-user-exception" in d.explain and "jvm-user-exception" in d.notes[-1]
    assert combined.model.threshold <= d.confidence < 0.95, "the model's own calibrated probability"


@pytest.mark.parametrize("item_id", ["sparkcyclone-325-ve-call-failed", "pypmml-12-matcherror-library"])
def test_a_generic_match_in_which_the_model_finds_no_cause_is_unknown(rules, combined, item_id: str) -> None:
    """A plugin's check of a native call's return code, a library's MatchError:
    exceptions the generic JVM rule takes for the job's, which people label unknown. The model finds no
    cause in them more probably than the rule is right: unknown, the rule's guess kept as the hint."""
    item = ITEMS[item_id]
    assert item["label"] == "unknown"
    alone = diagnose_texts(rules, item["text"])
    assert is_generic(rules.engine.by_id[alone.rule_id])
    d = diagnose_texts(combined, item["text"])
    assert (d.category, d.source, d.hint) == ("unknown", "none", alone.category)
    assert alone.rule_id in d.explain and d.evidence[0].rule_id == alone.rule_id


#: Spark 2.2-2.4's BroadcastExchangeExec.doExecuteBroadcast: ThreadUtils.awaitResult(relationFuture, timeout) times
#: out, and its TimeoutException is rethrown inside "Could not execute broadcast in N secs" (the message from Spark's
#: source; spark.sql.broadcastTimeout raised from its default 300 to 1200).
RAISED_BROADCAST_TIMEOUT = (
    "org.apache.spark.SparkException: Could not execute broadcast in 1200 secs. You can increase the timeout for "
    "broadcasts via spark.sql.broadcastTimeout or disable broadcast join by setting "
    "spark.sql.autoBroadcastJoinThreshold to -1\n"
    "\tat org.apache.spark.sql.execution.exchange.BroadcastExchangeExec.doExecuteBroadcast(BroadcastExchangeExec.scala:150)\n"
    "\tat org.apache.spark.sql.execution.SparkPlan$$anonfun$executeBroadcast$1.apply(SparkPlan.scala:144)\n"
    "Caused by: java.util.concurrent.TimeoutException: Futures timed out after [1200 seconds]\n"
    "\tat scala.concurrent.impl.Promise$DefaultPromise.ready(Promise.scala:223)\n"
    "\tat org.apache.spark.util.ThreadUtils$.awaitResult(ThreadUtils.scala:220)\n"
    "\t... 40 more")


def test_a_raised_broadcast_timeout_is_not_a_network_error_under_its_futures_timeout(rules) -> None:
    """A timeout of some wait (the network fallback's futures timeout) deeper than the exception that says what
    waited: the specific outer cause decides, not the deeper fallback."""
    assert {"broadcast-timeout", "rpc-futures-timeout"} <= set(specific_hits(rules, RAISED_BROADCAST_TIMEOUT))
    assert diagnose_texts(rules, RAISED_BROADCAST_TIMEOUT).rule_id == "broadcast-timeout"


def test_a_fetch_that_timed_out_connecting_is_a_failed_fetch(rules) -> None:
    """FetchFailedException around the fetch's own connection timeout: the network fallbacks deeper in the
    exception are how the fetch failed, not another cause."""
    item = ITEMS["mrs-fetchfailed-connect-timed-out"]
    assert item["label"] == "shuffle_fetch_failed"
    assert "socket-timeouts-unreachable" in specific_hits(rules, item["text"])
    assert diagnose_texts(rules, item["text"]).category == "shuffle_fetch_failed"


@pytest.mark.parametrize("item_id", ["spline-124-listener-matcherror", "hadoopconnectors-14-empty-avro-close",
                                     "rasterframes-186-l8-catalog-row-aioobe"])
def test_a_runtime_exception_spark_logged_as_a_warning_and_went_on_from_is_not_the_cause(rules, item_id: str) -> None:
    """A query listener's MatchError, a record reader's close(), a block put that failed: Spark caught them,
    warned, and went on (people label them unknown). A task's failure, also a warning, still is the job's."""
    item = ITEMS[item_id]
    assert item["label"] == "unknown" and "jvm-user-exception" in generic_hits(rules, item["text"])
    assert diagnose_texts(rules, item["text"]).category == "unknown"
    lost = ("24/03/12 10:11:12 WARN TaskSetManager: Lost task 3.0 in stage 7.0 (TID 409) (10.8.1.22 executor 5): "
            "java.lang.NullPointerException\n\tat com.acme.etl.Orders$.parse(Orders.scala:41)")
    assert diagnose_texts(rules, lost).category == "user_code_error"


def test_a_specific_cause_in_a_warning_the_application_went_on_past_does_not_decide(rules, combined) -> None:
    """The native-lzo library failing to load, logged as a warning with its UnsatisfiedLinkError, and the
    log goes on (the codec falls back; people label the excerpt unknown): it decides neither alone nor over
    what comes later. The same warning as the log's last word, or carried again by a later exception, still
    decides; and a cause logged after it decides over it."""
    item = ITEMS["kyuubi-98-lzo-before-error"]
    text = item["text"]
    assert item["label"] == "unknown" and "native-or-import-error" in specific_hits(rules, text)
    for classifier in (rules, combined):
        d = diagnose_texts(classifier, text)
        assert (d.category, d.hint) == ("unknown", "dependency_error"), d
        assert any("went on past the warning native-or-import-error" in n for n in d.notes)
    last_word = text[: text.index("\n18/08/22 11:58:12 ERROR LzoCodec")]
    assert diagnose_texts(rules, last_word).category == "dependency_error"
    again = ("18/08/22 11:58:13 ERROR Executor: Exception in task 0.0 in stage 0.0 (TID 0)\n"
             "java.lang.UnsatisfiedLinkError: Cannot load liblzo2.so.2\n"
             "\tat com.hadoop.compression.lzo.LzoDecompressor.init(LzoDecompressor.java:95)")
    assert diagnose_texts(rules, text, again).category == "dependency_error"
    codec = ("18/08/22 11:58:13 ERROR Executor: Exception in task 0.0 in stage 0.0 (TID 0)\n"
             "java.lang.ClassNotFoundException: Class com.hadoop.compression.lzo.LzoCodec not found")
    assert diagnose_texts(rules, text, codec).rule_id == "native-or-import-error", "a later finding of its category"
    later = ("18/08/22 11:58:14 ERROR KyuubiOperation: Error executing query\n"
             "org.apache.hadoop.security.AccessControlException: Permission denied: user=etl, access=READ, "
             "inode=\"/warehouse/src2\":hive:hive:drwx------\n"
             "\tat org.apache.hadoop.hdfs.server.namenode.FSPermissionChecker.check(FSPermissionChecker.java:399)")
    assert diagnose_texts(rules, text, later).category == "access_denied"


def test_a_broadcasts_futures_timeout_pasted_without_at_is_a_broadcast_timeout(rules) -> None:
    """The frames under the timeout, copied without ``at``, are what says the broadcast exchange waited."""
    item = ITEMS["csdn-dingyufei615-broadcast-futures-300"]
    assert item["label"] == "broadcast_timeout" and "\tat " not in item["text"]
    assert diagnose_texts(rules, item["text"]).rule_id == "broadcast-exchange-futures-timeout"
