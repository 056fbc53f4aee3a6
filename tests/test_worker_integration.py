"""The worker end to end on a real Tansu broker: interleaved applications,
SIGKILL and restart, and every kind of bad input in the dead-letter topic."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from ingest.live import MAX_AGE
from ingest.state import events_of_entry
from logtext.lastlines import LAST_LINES
from sparktriage.records import ExceptionEvent
from sparktriage.tools.broker import Broker, free_port
from sparktriage.tools.classify import events_of_paths
from sparktriage.tools.replay import envelopes
from tests.diagnosis_schema import assert_valid
from tests.loggen import generate_log
from tests.packs import write_pack

pytestmark = [pytest.mark.broker, pytest.mark.slow]

FAILURES = {
    "container_killed_memory": (
        "24/03/12 10:11:13 WARN TaskSetManager: Lost task 3.0 in stage 2.0 (TID 14) (host-7 executor 2): "
        "ExecutorLostFailure (executor 2 exited caused by one of the running tasks) Reason: Container killed by "
        "YARN for exceeding physical memory limits. 5.6 GB of 5.5 GB physical memory used."),
    "access_denied": (
        "24/03/12 10:11:14 ERROR ApplicationMaster: User class threw exception: "
        "org.apache.hadoop.security.AccessControlException: Permission denied: user=etl, access=READ, "
        "inode=\"/data/raw\":hdfs:hdfs:drwx------\n"
        "\tat org.apache.hadoop.hdfs.server.namenode.FSPermissionChecker.check(FSPermissionChecker.java:399)"),
    "shuffle_fetch_failed": (
        "24/03/12 10:11:15 ERROR Executor: Exception in task 1.0 in stage 3.0 (TID 20)\n"
        "org.apache.spark.shuffle.FetchFailedException: Failed to connect to host-9:7337\n"
        "\tat org.apache.spark.storage.ShuffleBlockFetcherIterator.throwFetchFailedException(SBFI.scala:1166)"),
}


def _app_logs(tmp: Path, n: int, failure: str) -> tuple[str, Path]:
    """One application: a driver and three executors of generated noise, the failure in executor 2."""
    app_id = f"application_1700000000000_{n:04d}"
    folder = tmp / app_id
    folder.mkdir(parents=True)
    for c in range(1, 5):
        noise = generate_log(300, error_fraction=0.0, seed=n * 10 + c).split("\n")
        if c == 2:
            noise.insert(150, failure)
        (folder / f"container_e1_1700000000000_{n:04d}_01_{c:06d}").write_text("\n".join(noise) + "\n")
    return app_id, folder


class Child:
    """A ``sparktriage`` command run as a child process: SIGKILL, or a stop that waits for it."""

    proc: subprocess.Popen[bytes] | None = None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


class Worker(Child):
    """``sparktriage worker`` as a child process with its own topics, group and store."""

    def __init__(self, broker: Broker, tmp: Path) -> None:
        tag = uuid.uuid4().hex[:8]
        self.db = f"sqlite:///{tmp}/store.db"
        self.topics = {"input": f"logs-{tag}", "output": f"diag-{tag}", "dlq": f"dlq-{tag}"}
        self.env = {
            **os.environ,
            "SPARKTRIAGE_BOOTSTRAP": broker.bootstrap, "SPARKTRIAGE_DB": self.db,
            "SPARKTRIAGE_INPUT_TOPIC": self.topics["input"], "SPARKTRIAGE_OUTPUT_TOPIC": self.topics["output"],
            "SPARKTRIAGE_DLQ_TOPIC": self.topics["dlq"], "SPARKTRIAGE_GROUP": f"g-{tag}",
            "SPARKTRIAGE_SESSION_TIMEOUT": "6", "SPARKTRIAGE_PRODUCER_MAX_BATCH_SIZE": "1",
            "SPARKTRIAGE_PARTITIONS": "3", "SPARKTRIAGE_WORKER_WEB_PORT": "0",
            "SPARKTRIAGE_DATA_DIR": str(tmp / "var"), "SPARKTRIAGE_RULES_DIR": str(write_pack(tmp / "rules")),
        }
        self.log = tmp / "worker.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.bootstrap = broker.bootstrap

    def start(self, ready_timeout: float = 180) -> None:  # rule compilation takes minutes on a loaded machine
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "sparktriage.cli", "worker"], env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT)
        self.wait_for(lambda: b"Worker]: Ready" in self.log.read_bytes(), ready_timeout, "the worker to be ready")

    def wait_for(self, check: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"worker exited ({self.proc.returncode}):\n{self.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def rows(self, sql: str) -> list[tuple]:
        engine = sa.create_engine(self.db)
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(sa.text(sql))]
        except sa.exc.OperationalError:
            return []
        finally:
            engine.dispose()

    def produce(self, records: list[tuple[bytes | None, bytes]]) -> None:
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", max_request_size=4 * 1024 * 1024)
        for key, value in records:
            producer.send(self.topics["input"], key=key, value=value)
        producer.flush()
        producer.close()

    def read_topic(self, name: str, expect: int, timeout: float = 30) -> list:
        consumer = KafkaConsumer(self.topics[name], bootstrap_servers=self.bootstrap,
                                 auto_offset_reset="earliest", consumer_timeout_ms=2000, group_id=None)
        found: list = []
        deadline = time.monotonic() + timeout
        while len(found) < expect and time.monotonic() < deadline:
            found += list(consumer)
        consumer.close()
        return found


@pytest.fixture()
def worker(broker: Broker, tmp_path: Path) -> Iterator[Worker]:
    w = Worker(broker, tmp_path)
    yield w
    w.stop()


def _interleaved(apps: list[tuple[str, Path]]) -> list[tuple[bytes, bytes]]:
    """All applications' envelopes mixed together, each app's own order kept."""
    streams = [[(a.encode(), json.dumps(e).encode()) for e in envelopes(a, [str(p)], {"team": "ads"}, seed=i)]
               for i, (a, p) in enumerate(apps)]
    mixed = []
    while any(streams):
        for s in streams:
            mixed += s[:37]
            del s[:37]
    return mixed


def test_three_interleaved_applications_get_the_right_diagnoses(worker: Worker, tmp_path: Path) -> None:
    apps = {cat: _app_logs(tmp_path / "logs", n, text) for n, (cat, text) in enumerate(FAILURES.items(), 1)}
    worker.start()
    worker.produce(_interleaved(list(apps.values())))
    worker.wait_for(lambda: len(worker.rows("select 1 from diagnoses")) == 3, 60, "three diagnoses")
    stored = dict(worker.rows("select app_id, category from diagnoses where superseded is null"))
    assert stored == {app_id: cat for cat, (app_id, _) in apps.items()}
    published = worker.read_topic("output", 3)
    assert sorted(m.key.decode() for m in published) == sorted(stored)
    for m in published:
        payload = json.loads(m.value)
        assert_valid(payload)
        assert payload["category"] == stored[m.key.decode()]
        assert payload["team"] == "ads" and payload["evidence"] and payload["ended"]


def test_an_application_that_failed_without_an_error_is_diagnosed_from_its_last_lines(
        worker: Worker, tmp_path: Path) -> None:
    """No exception, no ERROR in any log: the driver's last lines are stored and read (logtext.lastlines)."""
    last = "24/03/12 10:20:00 INFO Client: final status: FAILED, application never got its executors"
    app_id, folder = _app_logs(tmp_path / "logs", 9, "24/03/12 10:01:00 INFO Executor: nothing wrong here")
    driver = next(folder.glob("container_*_000001"))
    driver.write_text(driver.read_text() + last + "\n")
    worker.start()
    worker.produce(_interleaved([(app_id, folder)]))
    worker.wait_for(lambda: worker.rows("select 1 from diagnoses"), 60, "a diagnosis")
    (evidence, source), = worker.rows("select evidence, source from diagnoses")
    assert source in ("model", "none") and json.loads(evidence)[0]["excerpt"].endswith(last)
    events = worker.rows("select role, message from exception_events")
    assert events == [("driver", LAST_LINES)]


def _committed(worker: Worker) -> dict[int, int]:
    """The worker's group's committed offset of each input partition that has one."""
    consumer = KafkaConsumer(bootstrap_servers=worker.bootstrap, group_id=worker.env["SPARKTRIAGE_GROUP"],
                             enable_auto_commit=False)
    try:
        partitions = [TopicPartition(worker.topics["input"], p)
                      for p in consumer.partitions_for_topic(worker.topics["input"]) or ()]
        return {tp.partition: offset for tp in partitions if (offset := consumer.committed(tp)) is not None}
    finally:
        consumer.close()


def _events_changelog(worker: Worker) -> list[ExceptionEvent]:
    """The exception events the worker's ``events`` table holds (its changelog), the durable ones."""
    changelog = KafkaConsumer(f"{worker.env['SPARKTRIAGE_GROUP']}-events-changelog", bootstrap_servers=worker.bootstrap,
                              auto_offset_reset="earliest", group_id=None, consumer_timeout_ms=1000)
    try:
        return [event for m in changelog if m.value is not None for event in events_of_entry(json.loads(m.value))]
    finally:
        changelog.close()


def test_a_partition_gone_quiet_checkpoints_its_lines_without_more_records(worker: Worker) -> None:
    """A running application's last lines, then nothing on their partition (no end, no other application):
    their exception event is written to the events table and their records committed within a few
    checkpoint ages, not held in memory until unrelated traffic or the inactivity timeout (30 min) brings
    the next record (the consumer group's lag would stay, and a restart read them again)."""
    app_id = "application_1700000000000_0990"
    container = "container_e1_1700000000000_0990_01_000002"
    lines = ["24/03/12 10:11:14 INFO Executor: Running task 1.0 in stage 3.0 (TID 20)",
             *FAILURES["shuffle_fetch_failed"].split("\n"),
             "24/03/12 10:11:16 INFO Executor: Finished task 2.0 in stage 3.0 (TID 21)"]
    worker.start()
    worker.produce([(app_id.encode(), json.dumps({"container_id": container, "line": line}).encode())
                    for line in lines])
    worker.wait_for(lambda: _events_changelog(worker), 10 * MAX_AGE + 10, "the quiet partition's event")
    assert [(e.app_id, e.exc_class) for e in _events_changelog(worker)] == [
        (app_id, "org.apache.spark.shuffle.FetchFailedException")]
    worker.wait_for(lambda: max(_committed(worker).values(), default=0) >= len(lines), 10 * MAX_AGE + 10,
                    "the quiet partition's records to be committed")
    assert worker.rows("select 1 from diagnoses") == [], "still running: nothing settled"


def _metric(port: int, name: str) -> float:
    """The sum of a counter on the worker's /metrics (0 while it does not answer)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as answer:
            text = answer.read().decode()
    except OSError:
        return 0.0
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def test_sigkill_and_restart_loses_nothing_and_stores_nothing_twice(worker: Worker, tmp_path: Path) -> None:
    """Killed once it has checkpointed streams and acknowledged lines, before any application ended:
    after the restart, each application has one diagnosis, its exception events once, and one webhook."""
    import threading

    from examples.receiver import Receiver

    receiver = Receiver(0, "hook-secret")
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    worker.env.update(SPARKTRIAGE_WEBHOOK_URL=f"http://127.0.0.1:{receiver.server_port}/hook",
                      SPARKTRIAGE_WEBHOOK_SECRET="hook-secret", SPARKTRIAGE_WEBHOOK_BACKOFF="0.2")
    apps = [_app_logs(tmp_path / "logs", n, text) for n, text in enumerate(FAILURES.values(), 11)]
    records = _interleaved(apps)
    half = len(records) // 2  # every application's app_end is in the second half
    try:
        port = free_port()
        worker.env["SPARKTRIAGE_WORKER_WEB_PORT"] = str(port)
        worker.start()
        worker.produce(records[:half - 10])
        worker.wait_for(lambda: _metric(port, "sparktriage_lines_folded_total") >= half // 2, 60,
                        "half of the first half folded")
        time.sleep(MAX_AGE + 0.5)  # a stream's lines (and events) wait up to MAX_AGE for their checkpoint,
        worker.produce(records[half - 10:half])  # written when the next record of their partition comes
        worker.wait_for(lambda: _metric(port, "sparktriage_checkpoint_writes_total") >= 1, 60, "a checkpoint written")
        assert not worker.rows("select 1 from diagnoses"), "killed before any application ended"
        worker.kill()
        worker.produce(records[half:])
        port = free_port()
        worker.env["SPARKTRIAGE_WORKER_WEB_PORT"] = str(port)
        worker.start()
        worker.wait_for(lambda: len(receiver.accepted) == 3, 90, "three webhook deliveries after the restart")
        # a barrier: a malformed record at the end of each partition; its dead letter says all before it is done
        producer = KafkaProducer(bootstrap_servers=worker.bootstrap, acks="all")
        for partition in range(3):
            producer.send(worker.topics["input"], value=b'{"app_id": ', partition=partition)
        producer.flush()
        producer.close()
        worker.wait_for(lambda: len(worker.rows("select 1 from dead_letters")) == 3, 60, "the barrier's dead letters")
        assert sorted(c for (c,) in worker.rows("select category from diagnoses")) == sorted(FAILURES)
        events = worker.rows("select app_id, container_id, line, text from exception_events")
        assert len(events) == len(set(events)), "no exception event stored twice"
        stored = {app_id: sorted(e[1:] for e in events if e[0] == app_id) for app_id, _ in apps}
        assert stored == {app_id: sorted((e.container_id, e.line, e.text) for e in events_of_paths([str(folder)])[1])
                          for app_id, folder in apps}, "each application has the events of its logs read whole"
        assert [status for _, _, status in receiver.requests] == [200, 200, 200], "one webhook request each"
        assert {p["app_id"] for p in receiver.accepted.values()} == {app_id for app_id, _ in apps}
        assert len(worker.read_topic("output", 3)) >= 3
    finally:
        receiver.shutdown()
        receiver.server_close()


def test_bad_input_lands_in_the_dead_letter_topic_with_its_reason(worker: Worker) -> None:
    bad = {
        "malformed_json": b'{"app_id": "a", "line": ',
        "not_utf8": b'{"app_id": "a", "line": "caf\xe9 cr\xe8me"}',
        "binary": bytes([0, 1, 2, 3, 255, 254]) * 10,
        "line_too_long": json.dumps({"app_id": "a", "line": "x" * (1024 * 1024 + 10)}).encode(),
        "missing_app_id": b'{"line": "ERROR something"}',
    }
    worker.start()
    worker.produce([(None, value) for value in bad.values()])
    letters = worker.read_topic("dlq", len(bad), timeout=40)
    reasons = sorted(json.loads(m.value)["reason"] for m in letters)
    assert reasons == sorted(bad)
    originals = {json.loads(m.value)["reason"]: json.loads(m.value)["value_b64"] for m in letters}
    import base64
    assert base64.b64decode(originals["not_utf8"]) == bad["not_utf8"]
    assert len(worker.rows("select reason from dead_letters")) == len(bad)
    assert worker.proc is not None and worker.proc.poll() is None  # still running


def test_a_worker_restarted_in_the_middle_of_webhook_retries_delivers_once(worker: Worker, tmp_path: Path) -> None:
    import threading

    from examples.receiver import Receiver

    receiver = Receiver(0, "hook-secret", always_fail=True)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    worker.env.update(SPARKTRIAGE_WEBHOOK_URL=f"http://127.0.0.1:{receiver.server_port}/hook",
                      SPARKTRIAGE_WEBHOOK_SECRET="hook-secret", SPARKTRIAGE_WEBHOOK_BACKOFF="0.2",
                      SPARKTRIAGE_WEBHOOK_RETRIES="30")
    app_id, folder = _app_logs(tmp_path / "logs", 31, FAILURES["access_denied"])
    try:
        worker.start()
        worker.produce(_interleaved([(app_id, folder)]))
        worker.wait_for(lambda: len(receiver.requests) >= 2, 60, "two failed tries")
        worker.kill()  # in the middle of the retries
        receiver.always_fail = False
        worker.start()
        worker.wait_for(lambda: receiver.accepted, 60, "the delivery after the restart")
        worker.wait_for(lambda: worker.rows(f"select status from deliveries where app_id = '{app_id}'") ==
                        [("delivered",)], 30, "the delivery recorded as delivered")
        # A barrier instead of a sleep: a second application's delivery leaves on a later pass of the
        # dispatcher than the first's, so a repeat of the first would have been sent by the time it arrives.
        second_id, second_folder = _app_logs(tmp_path / "logs", 32, FAILURES["shuffle_fetch_failed"])
        worker.produce(_interleaved([(second_id, second_folder)]))
        worker.wait_for(lambda: len(receiver.accepted) == 2, 90, "the second application's delivery")
        delivered = [json.loads(body)["app_id"] for _, body, status in receiver.requests if status == 200]
        assert sorted(delivered) == sorted([app_id, second_id]), "each application delivered once"
        (payload,) = [p for p in receiver.accepted.values() if p["app_id"] == app_id]
        published = [json.loads(m.value) for m in worker.read_topic("output", 2)]
        assert [p for p in published if p["app_id"] == app_id] == [payload], \
            "the topic and the webhook carry the same payload"
        assert_valid(payload)
        assert payload["category"] == "access_denied" and payload["workflow"]
    finally:
        receiver.shutdown()
        receiver.server_close()
