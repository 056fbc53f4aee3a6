"""The end of an application read from its own lines: the ApplicationMaster's
final status, the driver's shutdown sequence and what preceded it."""

from __future__ import annotations

from ingest.endings import DRIVER_SHUTDOWN, FAILED, KILLED, SUCCEEDED, YARN_AM, YARN_REPORT, Ending, EndWatch


def fold_all(lines: str, role: str = "driver", attempt: int = 1, watch: EndWatch | None = None) -> EndWatch:
    watch = watch or EndWatch()
    for line in lines.strip("\n").split("\n"):
        watch.fold(line, role, attempt)
    return watch


YARN_CLUSTER_FAILED = """\
24/03/12 10:14:58 INFO DAGScheduler: Job 0 finished: count at Load.scala:31, took 4.102 s
24/03/12 10:15:01 ERROR ApplicationMaster: User class threw exception: java.lang.IllegalStateException: no rows for 2024-03-11
java.lang.IllegalStateException: no rows for 2024-03-11
\tat com.example.Load$.main(Load.scala:44)
\tat com.example.Load.main(Load.scala)
24/03/12 10:15:01 INFO ApplicationMaster: Final app status: FAILED, exitCode: 15, (reason: User class threw exception: java.lang.IllegalStateException: no rows for 2024-03-11
\tat com.example.Load$.main(Load.scala:44)
)
24/03/12 10:15:01 INFO SparkContext: Invoking stop() from shutdown hook
24/03/12 10:15:02 INFO SparkContext: Successfully stopped SparkContext
24/03/12 10:15:02 INFO ApplicationMaster: Unregistering ApplicationMaster with FAILED (diag message: User class threw exception: java.lang.IllegalStateException: no rows for 2024-03-11
24/03/12 10:15:02 INFO ApplicationMaster: Deleting staging directory hdfs://nn/user/etl/.sparkStaging/application_1710230000000_1046
24/03/12 10:15:02 INFO ShutdownHookManager: Shutdown hook called
"""


def test_the_application_masters_final_status_is_stated_with_exit_code_and_reason() -> None:
    ending = fold_all(YARN_CLUSTER_FAILED).current
    assert ending is not None
    assert (ending.status, ending.source, ending.stated, ending.exit_code) == (FAILED, YARN_AM, True, 15)
    assert ending.reason == "User class threw exception: java.lang.IllegalStateException: no rows for 2024-03-11"


def test_succeeded_and_killed_forms() -> None:
    ok = fold_all("24/03/12 10:15:01 INFO ApplicationMaster: Final app status: SUCCEEDED, exitCode: 0\n"
                  "24/03/12 10:15:02 INFO ApplicationMaster: Unregistering ApplicationMaster with SUCCEEDED").current
    assert ok is not None and (ok.status, ok.exit_code, ok.reason, ok.stated) == (SUCCEEDED, 0, None, True)
    killed = fold_all("24/03/12 10:15:02 INFO ApplicationMaster: Unregistering ApplicationMaster with KILLED "
                      "(diag message: Application killed by user.)").current
    assert killed is not None and (killed.status, killed.reason) == (KILLED, "Application killed by user.")


def test_the_application_report_of_spark_submit_states_the_status() -> None:
    report = """\
24/03/12 10:20:00 INFO Client: Application report for application_1710230000000_1050 (state: RUNNING)
24/03/12 10:20:00 INFO Client:
\t client token: N/A
\t final status: UNDEFINED
24/03/12 10:21:00 INFO Client: Application report for application_1710230000000_1050 (state: FINISHED)
24/03/12 10:21:00 INFO Client:
\t client token: N/A
\t diagnostics: User class threw exception: java.lang.RuntimeException: boom
\t final status: FAILED
"""
    watch = EndWatch()
    endings = [watch.fold(line, "unknown") for line in report.split("\n")]
    assert [e.status for e in endings if e] == [FAILED]  # UNDEFINED while running is not an end
    assert watch.current is not None and watch.current.source == YARN_REPORT


K8S_PYTHON_FAILED = """\
24/03/12 10:15:00 INFO DAGScheduler: Job 2 finished: collect at /opt/spark/work-dir/job.py:12, took 0.8 s
Traceback (most recent call last):
  File "/opt/spark/work-dir/job.py", line 14, in <module>
    df = spark.read.parquet("s3a://lake/events/dt=2024-03-11")
  File "/opt/spark/python/lib/pyspark.zip/pyspark/sql/readwriter.py", line 544, in parquet
pyspark.errors.exceptions.captured.AnalysisException: [PATH_NOT_FOUND] Path does not exist: s3a://lake/events/dt=2024-03-11.
24/03/12 10:15:02 INFO SparkContext: Invoking stop() from shutdown hook
24/03/12 10:15:02 INFO SparkContext: SparkContext is stopping with exitCode 0.
24/03/12 10:15:02 INFO SparkUI: Stopped Spark web UI at http://etl-driver-svc.spark.svc:4040
24/03/12 10:15:03 INFO SparkContext: Successfully stopped SparkContext
24/03/12 10:15:03 INFO ShutdownHookManager: Shutdown hook called
24/03/12 10:15:03 INFO ShutdownHookManager: Deleting directory /var/data/spark-2b7c/spark-91f0
"""


def test_a_driver_shutting_down_after_an_uncaught_python_exception_failed() -> None:
    ending = fold_all(K8S_PYTHON_FAILED).current
    assert ending is not None and (ending.status, ending.source, ending.stated) == (FAILED, DRIVER_SHUTDOWN, False)
    assert ending.reason == "an uncaught Python exception in the main script"


def test_a_jvm_main_thread_exception_or_an_aborted_job_make_the_shutdown_a_failure() -> None:
    jvm = fold_all('Exception in thread "main" org.apache.spark.SparkException: Job aborted due to stage failure: '
                   "Task 3 in stage 2.0 failed 4 times\n"
                   "24/03/12 10:15:03 INFO ShutdownHookManager: Shutdown hook called").current
    assert jvm is not None and jvm.status == FAILED and "main thread" in (jvm.reason or "")
    job = fold_all("24/03/12 10:15:00 INFO DAGScheduler: Job 4 failed: save at Writer.scala:88, took 12.3 s\n"
                   "24/03/12 10:15:03 INFO SparkContext: Successfully stopped SparkContext").current
    assert job is not None and (job.status, job.reason) == (FAILED, "a job was aborted")


def test_a_non_zero_exit_code_or_a_sigterm_decide_the_shutdown() -> None:
    code = fold_all("24/03/12 10:15:02 INFO SparkContext: SparkContext is stopping with exitCode 1.\n"
                    "24/03/12 10:15:03 INFO SparkContext: Successfully stopped SparkContext").current
    assert code is not None and (code.status, code.exit_code) == (FAILED, 1)
    term = fold_all("24/03/12 10:15:01 ERROR SignalUtils: RECEIVED SIGNAL TERM\n"
                    "24/03/12 10:15:02 INFO SparkContext: Invoking stop() from shutdown hook").current
    assert term is not None and term.status == KILLED


def test_a_clean_shutdown_ends_the_application_with_no_status() -> None:
    ending = fold_all("24/03/12 10:14:00 WARN TaskSetManager: Lost task 0.0 in stage 1.0 (TID 3): "
                      "java.io.IOException: Connection reset by peer\n"
                      "24/03/12 10:15:02 INFO SparkContext: Invoking stop() from shutdown hook\n"
                      "24/03/12 10:15:03 INFO SparkContext: Successfully stopped SparkContext").current
    assert ending is not None and (ending.status, ending.reason, ending.source) == (None, None, DRIVER_SHUTDOWN)


def test_executors_shutting_down_do_not_end_the_application() -> None:
    executor = fold_all('Exception in thread "main" java.lang.OutOfMemoryError: Java heap space\n'
                        "24/03/12 10:15:03 INFO ShutdownHookManager: Shutdown hook called", role="executor")
    assert executor.current is None and executor.signs == []
    unknown = fold_all("24/03/12 10:15:03 INFO ShutdownHookManager: Shutdown hook called", role="unknown")
    assert unknown.current is None  # any JVM prints it; only SparkContext's lines say "driver"


def test_a_stated_status_beats_an_inferred_one_whichever_comes_first() -> None:
    watch = fold_all("24/03/12 10:15:00 INFO DAGScheduler: Job 4 failed: save at Writer.scala:88, took 1 s\n"
                     "24/03/12 10:15:01 INFO SparkContext: Invoking stop() from shutdown hook")
    assert watch.current is not None and watch.current.status == FAILED and not watch.current.stated
    found = watch.fold("24/03/12 10:15:02 INFO ApplicationMaster: Final app status: SUCCEEDED, exitCode: 0")
    assert found is not None and watch.current == found and found.stated and found.status == SUCCEEDED
    assert watch.fold("24/03/12 10:15:03 INFO ShutdownHookManager: Shutdown hook called", "driver") is None
    assert watch.current.status == SUCCEEDED


def test_repeated_and_weaker_endings_change_nothing() -> None:
    watch = fold_all("24/03/12 10:15:01 INFO ApplicationMaster: Final app status: FAILED, exitCode: 13")
    assert watch.fold("24/03/12 10:15:02 INFO ApplicationMaster: Unregistering ApplicationMaster with FAILED") is None
    assert not watch.changed and watch.current.exit_code == 13


def test_a_later_attempt_decides() -> None:
    watch = fold_all("24/03/12 10:15:01 INFO ApplicationMaster: Final app status: FAILED, exitCode: 13", attempt=1)
    found = watch.fold("24/03/12 10:19:01 INFO ApplicationMaster: Final app status: SUCCEEDED, exitCode: 0",
                       "driver", 2)
    assert found is not None and (found.status, found.attempt) == (SUCCEEDED, 2)


def test_in_client_mode_the_launchers_success_is_not_the_drivers() -> None:
    """YARN client mode: the ExecutorLauncher reports SUCCEEDED when the driver goes, whatever it did."""
    watch = fold_all('Exception in thread "main" org.apache.spark.SparkException: Job aborted due to stage failure\n')
    fold_all("24/03/12 10:15:01 INFO ApplicationMaster: Driver terminated or disconnected! Shutting down. "
             "gw-1.example.com:36011\n"
             "24/03/12 10:15:01 INFO ApplicationMaster: Final app status: SUCCEEDED, exitCode: 0", watch=watch)
    assert watch.current is not None and (watch.current.status, watch.current.stated) == (FAILED, False)


def test_lines_without_any_closing_word_cost_one_search_and_change_nothing() -> None:
    watch = EndWatch()
    assert watch.fold("24/03/12 10:15:01 INFO TaskSetManager: Finished task 3.0 in stage 1.0 (TID 9)") is None
    assert not watch.changed and watch.to_dict() == EndWatch().to_dict()


def test_a_batched_envelope_is_read_line_by_line_and_the_watch_round_trips() -> None:
    watch = EndWatch()
    found = watch.fold(K8S_PYTHON_FAILED, "driver")
    assert found is not None and found.status == FAILED and watch.changed
    again = EndWatch.from_dict(watch.to_dict())
    assert again.current == watch.current == Ending.from_dict(found.to_dict())
    assert "changed" not in watch.to_dict()


def test_a_whole_log_read_at_once_ends_as_line_by_line() -> None:
    assert EndWatch().fold_text(YARN_CLUSTER_FAILED, "driver") == fold_all(YARN_CLUSTER_FAILED).current
    assert EndWatch().fold_text(K8S_PYTHON_FAILED, "driver") == fold_all(K8S_PYTHON_FAILED).current
    assert EndWatch().fold_text("24/03/12 10:15:01 INFO Executor: Finished task 1.0", "driver") is None
