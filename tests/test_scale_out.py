"""Scale-out through Tansu: two worker processes in one consumer group share the input partitions; a worker
joining and one leaving in the middle of the stream move applications between them, and every application
still gets one diagnosis and each of its exception events once. Without ``ingest.rewind`` the worker joining
began the partitions nobody had committed yet at their end (3 runs of 5 failed here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka import KafkaProducer

from sparktriage.tools.broker import Broker, free_port
from sparktriage.tools.classify import events_of_paths
from tests.test_worker_integration import FAILURES, Worker, _app_logs, _interleaved, _metric

pytestmark = [pytest.mark.broker, pytest.mark.slow]
PARTITIONS = 4


def _member(broker: Broker, tmp: Path, first: Worker | None, db: str) -> Worker:
    """A worker process of the group of ``first`` (its topics, group and store), with its own local state."""
    worker = Worker(broker, tmp)
    if first is not None:
        worker.topics = first.topics
        for name in ("INPUT_TOPIC", "OUTPUT_TOPIC", "DLQ_TOPIC", "GROUP"):
            worker.env[f"SPARKTRIAGE_{name}"] = first.env[f"SPARKTRIAGE_{name}"]
    worker.db = db
    worker.env.update(SPARKTRIAGE_DB=db, SPARKTRIAGE_PARTITIONS=str(PARTITIONS),
                      SPARKTRIAGE_WORKER_WEB_PORT=str(free_port()))
    return worker


def _folded(worker: Worker) -> float:
    return _metric(int(worker.env["SPARKTRIAGE_WORKER_WEB_PORT"]), "sparktriage_lines_folded_total")


def test_a_worker_joining_and_one_leaving_mid_stream_lose_and_double_nothing(
        broker: Broker, tmp_path: Path, empty_pg_url: str) -> None:
    apps = [_app_logs(tmp_path / "logs", n, text) for n, text in enumerate(list(FAILURES.values()) * 2, 41)]
    records = _interleaved(apps)
    first_part, second_part = len(records) * 3 // 10, len(records) * 6 // 10  # every app_end is after both
    a = _member(broker, tmp_path / "a", None, empty_pg_url)
    b = _member(broker, tmp_path / "b", a, empty_pg_url)
    try:
        a.start()
        a.produce(records[:first_part])
        a.wait_for(lambda: _folded(a) >= first_part // 3, 120, "worker a folding the first part")
        b.start()  # joins the group: a gives up some partitions, in the middle of their streams
        a.produce(records[first_part:second_part])
        b.wait_for(lambda: _folded(b) > 0 and _folded(a) + _folded(b) >= second_part, 120,
                   "both workers folding the second part")
        assert not a.rows("select 1 from diagnoses"), "no application ended before the moves"
        a.stop()  # leaves the group: b takes over its partitions and their unacknowledged lines
        a.produce(records[second_part:])
        b.wait_for(lambda: len(b.rows("select 1 from diagnoses")) >= len(apps), 180, "every diagnosis")
        # a barrier: a malformed record at the end of each partition; its dead letter says all before it is done
        producer = KafkaProducer(bootstrap_servers=b.bootstrap, acks="all")
        for partition in range(PARTITIONS):
            producer.send(b.topics["input"], value=b'{"app_id": ', partition=partition)
        producer.flush()
        producer.close()
        b.wait_for(lambda: len(b.rows("select 1 from dead_letters")) == PARTITIONS, 60, "the barrier's dead letters")
        diagnosed = b.rows("select app_id, category from diagnoses")
        assert sorted(diagnosed) == sorted((app_id, cat) for (app_id, _), cat in
                                           zip(apps, list(FAILURES) * 2)), "one diagnosis per application"
        events = b.rows("select app_id, container_id, line, text from exception_events")
        assert len(events) == len(set(events)), "no exception event stored twice"
        stored = {app_id: sorted(e[1:] for e in events if e[0] == app_id) for app_id, _ in apps}
        assert stored == {app_id: sorted((e.container_id, e.line, e.text) for e in events_of_paths([str(folder)])[1])
                          for app_id, folder in apps}, "each application has the events of its logs read whole"
    finally:
        a.stop()
        b.stop()
