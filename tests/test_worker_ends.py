"""The worker knows when and how applications end with no ``app_end`` record, on a real Tansu broker:
the AM's final status, a driver's shutdown after an uncaught exception, success after many
exceptions (never diagnosed), a stalled application's early notice then exactly one final diagnosis,
late lines superseding, and Spark event-log lines as envelopes. ``inactivity_timeout`` stays at its
default (30 min), so every diagnosis here comes from an end read from the logs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sparktriage.tools.broker import Broker
from tests.diagnosis_schema import assert_valid
from sparktriage.tools.replay import envelopes
from tests.test_worker_integration import FAILURES, Worker, _app_logs

pytestmark = [pytest.mark.broker, pytest.mark.slow]
READY = 300  # seconds: compiling the rules takes minutes on the shared 2-core machine

AM_FAILED = [
    "24/03/12 10:15:01 ERROR ApplicationMaster: User class threw exception: org.apache.spark.SparkException: "
    "Job aborted due to stage failure",
    "24/03/12 10:15:01 INFO ApplicationMaster: Final app status: FAILED, exitCode: 15, (reason: User class threw "
    "exception: org.apache.spark.SparkException: Job aborted due to stage failure)",
    "24/03/12 10:15:02 INFO ApplicationMaster: Unregistering ApplicationMaster with FAILED (diag message: User "
    "class threw exception: org.apache.spark.SparkException: Job aborted due to stage failure)",
    "24/03/12 10:15:02 INFO ShutdownHookManager: Shutdown hook called",
]


@pytest.fixture()
def worker(broker: Broker, tmp_path: Path) -> Iterator[Worker]:
    w = Worker(broker, tmp_path)
    assert "SPARKTRIAGE_INACTIVITY_TIMEOUT" not in w.env  # the default: 30 minutes
    w.env["SPARKTRIAGE_STALL_TIMEOUT"] = "3"
    yield w
    w.stop()


def _records(app_id: str, folder: Path, seed: int = 0, **extra: object) -> list[tuple[bytes, bytes]]:
    """The application's envelopes as a shipper sends them: lines only, no app_end."""
    return [(app_id.encode(), json.dumps({**e, **extra}).encode())
            for e in envelopes(app_id, [str(folder)], {"team": "ads"}, seed=seed) if e.get("event") is None]


def _append(folder: Path, number: int, lines: list[str]) -> None:
    log = next(folder.glob(f"container_*_{number:06d}"))
    log.write_text(log.read_text() + "\n".join(lines) + "\n")


def _diagnoses(worker: Worker, app_id: str) -> list[tuple]:
    return worker.rows(f"select d.category, a.final_status, d.superseded from diagnoses d join applications a "
                       f"on a.app_id = d.app_id and a.attempt = d.attempt where d.app_id = '{app_id}' order by d.id")


def test_the_am_final_status_ends_the_application_without_app_end(worker: Worker, tmp_path: Path) -> None:
    app_id, folder = _app_logs(tmp_path / "logs", 21, FAILURES["container_killed_memory"])
    _append(folder, 1, AM_FAILED)
    worker.start(ready_timeout=READY)
    worker.produce(_records(app_id, folder))
    worker.wait_for(lambda: _diagnoses(worker, app_id), 90, "a diagnosis from the AM's final status")
    assert _diagnoses(worker, app_id) == [("container_killed_memory", "FAILED", None)]
    (message,) = worker.read_topic("output", 1)
    payload = json.loads(message.value)
    assert_valid(payload)
    assert payload["final_status"] == "FAILED" and payload["provisional"] is False
    assert payload["end"] == {"status": "failed", "source": "yarn_am"}


def test_a_driver_shutting_down_after_an_uncaught_exception_failed(worker: Worker, tmp_path: Path) -> None:
    app_id, folder = _app_logs(tmp_path / "logs", 22, "24/03/12 10:01:00 INFO Executor: nothing wrong here")
    _append(folder, 1, [
        'Exception in thread "main" org.apache.hadoop.security.AccessControlException: Permission denied: '
        'user=etl, access=READ, inode="/data/raw":hdfs:hdfs:drwx------',
        "\tat org.apache.hadoop.hdfs.server.namenode.FSPermissionChecker.check(FSPermissionChecker.java:399)",
        "24/03/12 10:15:02 INFO SparkContext: Invoking stop() from shutdown hook",
        "24/03/12 10:15:03 INFO SparkContext: Successfully stopped SparkContext",
        "24/03/12 10:15:03 INFO ShutdownHookManager: Shutdown hook called"])
    worker.start(ready_timeout=READY)
    worker.produce(_records(app_id, folder))
    worker.wait_for(lambda: _diagnoses(worker, app_id), 90, "a diagnosis from the driver's shutdown")
    assert _diagnoses(worker, app_id) == [("access_denied", "FAILED", None)]


def test_an_application_that_succeeded_after_hundreds_of_exceptions_is_never_diagnosed(
        worker: Worker, tmp_path: Path) -> None:
    ok_id, ok = _app_logs(tmp_path / "logs", 23, FAILURES["shuffle_fetch_failed"])
    for number in (2, 3, 4):  # retried tasks and replaced executors: hundreds of exceptions
        _append(ok, number, [FAILURES["shuffle_fetch_failed"].replace("TID 20", f"TID {n}") for n in range(100)])
    _append(ok, 1, ["24/03/12 10:15:01 INFO ApplicationMaster: Final app status: SUCCEEDED, exitCode: 0",
                    "24/03/12 10:15:02 INFO ApplicationMaster: Unregistering ApplicationMaster with SUCCEEDED"])
    bad_id, bad = _app_logs(tmp_path / "logs", 24, FAILURES["access_denied"])
    _append(bad, 1, AM_FAILED)
    worker.start(ready_timeout=READY)
    worker.produce(_records(ok_id, ok))
    worker.produce(_records(bad_id, bad))  # after it on the same topic: once this one is diagnosed...
    worker.wait_for(lambda: _diagnoses(worker, bad_id), 90, "the failed application's diagnosis")
    time.sleep(3)  # ...and a grace period more, the successful one has long been settled
    assert _diagnoses(worker, ok_id) == []
    assert [m.key.decode() for m in worker.read_topic("output", 2, timeout=5)] == [bad_id]
    events = worker.rows(f"select count(*) from exception_events where app_id = '{ok_id}'")
    assert events == [(0,)]


def test_a_stalled_application_gets_an_early_notice_then_exactly_one_final(worker: Worker, tmp_path: Path) -> None:
    app_id = "application_1700000000000_0025"
    starved = ("24/03/12 10:11:13 WARN YarnScheduler: Initial job has not accepted any resources; check your "
               "cluster UI to ensure that workers are registered and have sufficient resources")
    line = {"app_id": app_id, "role": "driver", "container_id": f"container_e1_1700000000000_0025_01_000001"}
    worker.start(ready_timeout=READY)
    deadline = time.monotonic() + 90
    while not worker.read_topic("output", 1, timeout=0.5):  # the driver repeats its warning while it waits
        assert time.monotonic() < deadline, "no early notice within 90 s"
        worker.produce([(app_id.encode(), json.dumps({**line, "line": starved}).encode())])
    (notice,) = worker.read_topic("output", 1)
    early = json.loads(notice.value)
    assert_valid(early)
    assert early["provisional"] is True and early["final_status"] == "RUNNING"
    assert early["category"] == "resource_unavailable"
    assert _diagnoses(worker, app_id) == [("resource_unavailable", "RUNNING", None)]
    worker.produce([(app_id.encode(), json.dumps({**line, "line": text}).encode()) for text in [
        starved, "24/03/12 10:25:00 ERROR ApplicationMaster: RECEIVED SIGNAL TERM",
        "24/03/12 10:25:00 INFO ApplicationMaster: Final app status: KILLED, exitCode: 15, (reason: Application "
        "killed by user.)"]])
    worker.wait_for(lambda: len(worker.read_topic("output", 2, timeout=3)) == 2, 90, "the final diagnosis")
    time.sleep(3)  # a second final would come within a grace period
    final = [json.loads(m.value) for m in worker.read_topic("output", 3, timeout=3)]
    assert [p["provisional"] for p in final] == [True, False] and final[1]["final_status"] == "KILLED"
    assert_valid(final[1])
    assert final[1]["supersedes"]["category"] == "resource_unavailable"  # it says what it replaces
    current = [row for row in _diagnoses(worker, app_id) if row[2] is None]
    assert len(_diagnoses(worker, app_id)) == 2 and [r[1] for r in current] == ["KILLED"]


def test_late_lines_supersede_a_diagnosis_only_when_they_change_it(worker: Worker, tmp_path: Path) -> None:
    app_id = "application_1700000000000_0026"
    driver = {"app_id": app_id, "role": "driver", "container_id": "container_e1_1700000000000_0026_01_000001"}
    executor = {**driver, "role": "executor", "container_id": "container_e1_1700000000000_0026_01_000002"}

    def send(where: dict, *lines: str) -> None:
        worker.produce([(app_id.encode(), json.dumps({**where, "line": text}).encode()) for text in lines])

    worker.start(ready_timeout=READY)
    send(driver, FAILURES["shuffle_fetch_failed"],
         "24/03/12 10:15:00 INFO DAGScheduler: Job 3 failed: save at Load.scala:88, took 31.2 s",
         "24/03/12 10:15:03 INFO SparkContext: Successfully stopped SparkContext")
    worker.wait_for(lambda: _diagnoses(worker, app_id), 90, "the first diagnosis")
    assert _diagnoses(worker, app_id) == [("shuffle_fetch_failed", "FAILED", None)]
    send(driver, "24/03/12 10:15:04 INFO ShutdownHookManager: Deleting directory /tmp/spark-1")  # changes nothing
    time.sleep(4)
    assert len(_diagnoses(worker, app_id)) == 1
    send(executor, FAILURES["container_killed_memory"])  # the executor's log arrives late: the real cause
    worker.wait_for(lambda: len(_diagnoses(worker, app_id)) == 2, 90, "the superseding diagnosis")
    rows = _diagnoses(worker, app_id)
    assert rows[0][2] is not None and rows[1][:2] == ("container_killed_memory", "FAILED") and rows[1][2] is None


def test_event_log_lines_as_envelopes_end_and_explain_the_application(worker: Worker, tmp_path: Path) -> None:
    from tests.test_eventlog import APP, LINES

    worker.start(ready_timeout=READY)
    worker.produce([(APP.encode(), json.dumps({"app_id": APP, "line": text}).encode())
                    for text in [*LINES[:-1], '{"Event":"SparkListenerApplicationEnd","Timestamp":1710238281000,'
                                              '"ExitCode":1}']])
    worker.wait_for(lambda: _diagnoses(worker, APP), 90, "a diagnosis from the event log")
    assert _diagnoses(worker, APP) == [("container_killed_memory", "FAILED", None)]
    (message,) = worker.read_topic("output", 1)
    assert json.loads(message.value)["end"]["source"] == "event_log"


def test_a_failed_first_attempt_and_a_successful_second_one(worker: Worker, tmp_path: Path) -> None:
    """YARN retries the ApplicationMaster: attempt 1 failed (diagnosed), attempt 2 succeeded (never diagnosed)."""
    app_id = "application_1700000000000_0027"

    def am(attempt: int, *lines: str) -> list[tuple[bytes, bytes]]:
        where = {"app_id": app_id, "container_id": f"container_e1_1700000000000_0027_{attempt:02d}_000001"}
        return [(app_id.encode(), json.dumps({**where, "line": text}).encode()) for text in lines]

    worker.start(ready_timeout=READY)
    worker.produce(am(1, FAILURES["access_denied"], *AM_FAILED))
    worker.wait_for(lambda: _diagnoses(worker, app_id), 90, "attempt 1's diagnosis")
    worker.produce(am(2, "24/03/12 10:16:30 INFO ApplicationMaster: ApplicationAttemptId: "
                         "appattempt_1700000000000_0027_000002",
                      FAILURES["shuffle_fetch_failed"],  # a retried fetch it got over
                      "24/03/12 10:19:01 INFO ApplicationMaster: Final app status: SUCCEEDED, exitCode: 0",
                      "24/03/12 10:19:02 INFO ApplicationMaster: Unregistering ApplicationMaster with SUCCEEDED"))
    time.sleep(8)  # attempt 2's end is settled two seconds after its last line
    rows = worker.rows(f"select d.attempt, d.category, a.final_status from diagnoses d join applications a on "
                       f"a.app_id = d.app_id and a.attempt = d.attempt where d.app_id = '{app_id}'")
    assert rows == [(1, "access_denied", "FAILED")]
