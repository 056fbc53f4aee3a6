"""Which process ran out of memory, from what the text itself shows (issue 15).

An ``OutOfMemoryError`` names no process; the thread that threw it, the frames under it, the
messages around it and the loggers of the log it is in do. Thread names and messages are Spark's
own (the sources are named in ``rules/packs/PROVENANCE.md``); the corpus items come from
``classifiers/corpus/real/train.jsonl``, never from a set that measures.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers.core import Classifier, load_classifier, only
from logtext.roles import role_from_loggers
from sparktriage.settings import Settings
from sparktriage.tools.classify import classify_text

TRAIN = Path(__file__).resolve().parent.parent / "classifiers" / "corpus" / "real" / "train.jsonl"
ITEMS = {item["id"]: item for item in map(json.loads, TRAIN.read_text().splitlines())}
HEAP = "java.lang.OutOfMemoryError: Java heap space"
#: how the uncaught-exception handler's message reaches a paste: log4j's layout, without its timestamp,
#: a time-only test layout, or the message alone; the OOM line under it must stay with its thread.
PASTED_PREFIXES = ("24/03/12 10:11:14 ERROR Utils: ", "ERROR Utils: ",
                   "10:11:14.123 [main] ERROR org.apache.spark.util.Utils - ", "")


@pytest.fixture(scope="module")
def rules() -> Classifier:
    return only(load_classifier(Settings()), "rules")


def answer(classifier: Classifier, text: str) -> str:
    """The top-level category the rules give ``text`` pasted alone."""
    return classify_text(classifier, text, app_id="pasted").category.split("/")[0]


@pytest.mark.parametrize("thread", [
    "dag-scheduler-event-loop", "driver-revive-thread", "task-result-getter-2", "serve-Arrow", "serve-DataFrame",
    "serve RDD 14 with partitions 0,1,2", "stream execution thread for [id = 5c6f2b1e, runId = 0e9b8c7d]",
])
def test_an_oom_in_a_thread_only_the_driver_runs_is_the_drivers(rules, thread: str) -> None:
    assert answer(rules, f'Exception in thread "{thread}" {HEAP}') == "driver_oom"
    for prefix in PASTED_PREFIXES:
        assert answer(rules, f"{prefix}Uncaught exception in thread {thread}\n{HEAP}") == "driver_oom", prefix


@pytest.mark.parametrize("thread", [
    "Executor task launch worker for task 17.0 in stage 4.0 (TID 93)",
    "driver-heartbeater",  # Spark 1.x/2.x executors' thread that sends heartbeats *to* the driver
    "executor-heartbeater",
])
def test_an_oom_in_a_thread_only_executors_run_is_an_executors(rules, thread: str) -> None:
    """The executor's rule decides, not the fallback that cannot tell the process (``executor_oom/driver_or_executor``)."""
    for text in (f'Exception in thread "{thread}" {HEAP}',
                 *(f"{prefix}Uncaught exception in thread Thread[{thread},5,main]\n{HEAP}" for prefix in PASTED_PREFIXES)):
        assert classify_text(rules, text, app_id="pasted").category == "executor_oom"


@pytest.mark.parametrize("frames", [
    "\tat org.apache.spark.sql.catalyst.trees.TreeNode.mapChildren(TreeNode.scala:344)\n"
    "\tat org.apache.spark.sql.execution.QueryExecution.optimizedPlan$lzycompute(QueryExecution.scala:66)",
    "\tat org.apache.spark.rdd.ParallelCollectionRDD$.slice(ParallelCollectionRDD.scala:150)\n"
    "\tat org.apache.spark.SparkContext.parallelize(SparkContext.scala:739)",
    "\tat org.apache.spark.rdd.RDD$$anonfun$treeAggregate$1.apply(RDD.scala:1136)\n"
    "\tat org.apache.spark.rdd.RDD.treeAggregate(RDD.scala:1128)",
    "\tat org.apache.spark.sql.execution.CollectLimitExec.executeCollect(limit.scala:48)",
])
def test_frames_only_the_driver_runs_make_an_oom_the_drivers(rules, frames: str) -> None:
    assert answer(rules, f"{HEAP}\n\tat java.util.Arrays.copyOf(Arrays.java:3236)\n{frames}") == "driver_oom"


def test_the_closures_a_driver_method_ships_to_tasks_do_not(rules) -> None:
    """``SparkContext.$anonfun$runJob$5`` and ``Dataset.$anonfun$rdd$2`` are closures tasks run on executors."""
    text = (f"{HEAP}\n\tat org.apache.spark.sql.Dataset.$anonfun$rdd$2(Dataset.scala:3420)\n"
            "\tat org.apache.spark.SparkContext.$anonfun$runJob$5(SparkContext.scala:2242)\n"
            "\tat org.apache.spark.scheduler.ResultTask.runTask(ResultTask.scala:90)")
    assert answer(rules, text) == "executor_oom"


def test_a_tasks_oom_stays_the_executors_in_a_driver_log(rules) -> None:
    """The driver's log reports an executor's OOM: its own loggers must not make it the driver's."""
    text = ("24/01/02 10:00:00 INFO SparkContext: Running Spark version 3.4.1\n"
            "py4j.protocol.Py4JJavaError: An error occurred while calling o88.collectToPython.\n"
            ": org.apache.spark.SparkException: Job aborted due to stage failure: Task 3 in stage 7.0 failed 4 times, "
            f"most recent failure: Lost task 3.3 in stage 7.0 (TID 412) (10.8.1.22 executor 5): {HEAP}\n"
            "\tat com.example.Parse.row(Parse.java:10)\n\nDriver stacktrace:\n"
            "\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages(DAGScheduler.scala:2454)\n"
            "\tat org.apache.spark.sql.Dataset.collectToPython(Dataset.scala:3257)\n"
            f"Caused by: {HEAP}\n\tat com.example.Parse.row(Parse.java:10)")
    assert role_from_loggers(text) == "driver"
    assert answer(rules, text) == "executor_oom"


@pytest.mark.parametrize("thread", ["dispatcher-event-loop-3", "Thread-7", "RemoteBlock-temp-file-clean-thread"])
def test_an_oom_the_jvm_itself_reports_is_the_drivers_whatever_the_thread(rules, thread: str) -> None:
    """The JVM prints ``Exception in thread "NAME"`` only where no default handler is set, and executors set
    Spark's (outside local mode), which logs ``Uncaught exception in thread Thread[...]``: the driver's JVM,
    also for threads both processes run. Logged by Spark's handler, such a thread still says nothing."""
    assert classify_text(rules, f'Exception in thread "{thread}" {HEAP}', app_id="pasted").category == "driver_oom"
    logged = f"ERROR SparkUncaughtExceptionHandler: Uncaught exception in thread Thread[{thread},5,main]\n{HEAP}"
    assert classify_text(rules, logged, app_id="pasted").category == "executor_oom/driver_or_executor"


def test_a_local_mode_tasks_oom_is_an_executors_that_lives_in_the_driver(rules) -> None:
    text = ("org.apache.spark.SparkException: Job aborted due to stage failure: Task 15 in stage 1.0 failed 1 times, "
            "most recent failure: Lost task 15.0 in stage 1.0 (TID 31) (192.168.1.12 executor driver): " + HEAP)
    diagnosis = classify_text(rules, text, app_id="pasted")
    assert diagnosis.category == "executor_oom/local_mode"
    assert "spark.driver.memory" in diagnosis.remediation
    caused = ("org.apache.spark.SparkException: Job aborted due to stage failure: Task 0 in stage 1.0 failed 1 times, "
              "most recent failure: Lost task 0.0 in stage 1.0 (TID 1) (192.168.1.12 executor driver): "
              "org.apache.spark.SparkException: Task failed while writing rows.\n"
              "\tat org.apache.spark.sql.errors.QueryExecutionErrors$.taskFailedWhileWritingRowsError(QueryExecutionErrors.scala:500)\n"
              f"Caused by: {HEAP}\n\tat java.util.Arrays.copyOf(Arrays.java:3236)")
    assert classify_text(rules, caused, app_id="pasted").category == "executor_oom/local_mode"


@pytest.mark.parametrize(("text", "category"), [
    ("The executor with id 4 exited with exit code 52(JVM OOM).", "executor_oom"),
    ("WARN TaskSetManager: Lost task 2.0 in stage 3.0 (TID 40) (10.1.2.3 executor 4): ExecutorLostFailure (executor 4 "
     "exited caused by one of the running tasks) Reason: Command exited with code 52", "executor_oom"),
    ("The executor with id 4 exited with exit code 137(SIGKILL, possible container OOM).", "container_killed_memory"),
])
def test_an_executor_that_exits_52_ran_out_of_heap_one_killed_137_was_killed(rules, text: str, category: str) -> None:
    assert answer(rules, text) == category


def test_the_console_progress_bar_is_the_drivers(rules) -> None:
    console = "[Stage 3:=============>                                  (51 + 8) / 200]\n" + HEAP
    assert role_from_loggers(console) == "driver"
    assert answer(rules, console) == "driver_oom"
    local = console + "\n24/03/12 10:11:14 ERROR Executor: Exception in task 3.0 in stage 7.0 (TID 41)"
    assert role_from_loggers(local) == "unknown"  # local mode: both kinds of process in one log
    assert role_from_loggers(HEAP) == "unknown"


def test_sparkr_backend_logs_are_the_drivers() -> None:
    assert role_from_loggers("17/01/10 15:31:47 ERROR RBackendHandler: dfToCols on "
                             "org.apache.spark.sql.api.r.SQLUtils failed") == "driver"


@pytest.mark.parametrize("item_id", [
    "spark-26161-driver-heap-kill", "sparknlp-13583-fit-driver-heap",
    "spark-37069-broadcast-build-oom", "delta-1749-scd2-merge-gc-overhead", "stratio-115-gc-driver",
    "zingg-871-task-oom", "osmesa-77-gc-overhead", "ipex-llm-2101-textclassifier-executor-heap", "jgit-319-gc-overhead",
    "spark-38233-exit137", "esfastloader-37-yarn-pmem", "iplaypi-es-hadoop-yarn-kill-then-fetchfailed",
])
def test_the_train_splits_memory_failures_keep_their_process(rules, item_id: str) -> None:
    item = ITEMS[item_id]
    assert answer(rules, item["text"]) == item["label"]


def test_the_oom_banner_with_sparks_yarn_executor_hook_is_an_executors(rules) -> None:
    """Spark launches YARN executors with ``-XX:OnOutOfMemoryError='kill %p'``; ``kill -9 %p`` is anyone's."""
    banner = '#\n# java.lang.OutOfMemoryError: Java heap space\n# -XX:OnOutOfMemoryError="{hook}"\n'
    driver_log = "19/10/18 09:47:02 INFO BlockManagerMasterEndpoint: Registering block manager 10.1.2.3:33435\n"
    assert classify_text(rules, banner.format(hook="kill %p"), app_id="pasted").category == "executor_oom"
    assert answer(rules, driver_log + banner.format(hook="kill -9 %p")) == "driver_oom"
    assert classify_text(rules, banner.format(hook="kill -9 %p"), app_id="pasted").category.endswith("/driver_or_executor")


WRAPPED_TASK_OOM = """24/01/02 10:00:00 INFO SparkContext: Running Spark version 3.4.1
24/01/02 10:05:00 ERROR FileFormatWriter: Aborting job 5d1c.
org.apache.spark.SparkException: Job aborted due to stage failure: Task 5 in stage 2.0 failed 4 times, most recent failure: Lost task 5.3 in stage 2.0 (TID 30) (10.0.0.3 executor 2): org.apache.spark.SparkException: Task failed while writing rows.
\tat org.apache.spark.sql.errors.QueryExecutionErrors$.taskFailedWhileWritingRowsError(QueryExecutionErrors.scala:500)
Caused by: java.lang.OutOfMemoryError: Java heap space
\tat java.util.Arrays.copyOf(Arrays.java:3236)
\t... 8 more

Driver stacktrace:
\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages(DAGScheduler.scala:2454)"""


def test_a_tasks_oom_under_its_wrapper_stays_the_executors_in_the_drivers_log(rules) -> None:
    """The driver's log reports the task's exception chain; the role of the log must not claim its OOM."""
    assert role_from_loggers(WRAPPED_TASK_OOM) == "driver"
    diagnosis = classify_text(rules, WRAPPED_TASK_OOM, app_id="pasted")
    assert (diagnosis.category, diagnosis.rule_id) == ("executor_oom", "task-lost-caused-by-oom")
    # the driver's own OOM in its log is still the driver's
    own = WRAPPED_TASK_OOM.split("\n")[0] + "\n24/01/02 10:05:00 ERROR Utils: Uncaught exception\n" + HEAP
    assert answer(rules, own) == "driver_oom"
