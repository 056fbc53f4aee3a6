"""``sparktriage repack`` on a real Tansu broker: one-line records batched per stream, in order and keyed
as the worker's own records; bad input passed on untouched; and, with a worker behind it, the stage
SIGKILLed in the middle of the stream and started again: the worker stores the events of the logs read
whole, none lost, none twice."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.partitioner.default import murmur2

from ingest.envelope import parse_envelope
from ingest.headers import origin_of
from sparktriage.errors import BadInput
from sparktriage.records import Envelope, Origin
from sparktriage.tools.broker import Broker
from sparktriage.tools.classify import events_of_paths
from tests.loggen import generate_log
from tests.test_worker_integration import FAILURES, Child, Worker, _app_logs, _interleaved

pytestmark = [pytest.mark.broker, pytest.mark.slow]

#: The workers' and stages' largest line where a record too large for the worker is sent (Kafka's default
#: largest request is 1 MiB).
MAX_LINE_BYTES = 64 * 1024
BAD = {"malformed_json": b'{"app_id": "a", "line": ', "binary": bytes([0, 1, 2, 3, 255, 254]) * 10,
       "missing_app_id": b'{"line": "ERROR something"}'}


def _erring_app_logs(tmp: Path, n: int) -> tuple[str, Path]:
    """One application of four containers with exceptions all along (a line folded twice would shift
    the line numbers of every event after it)."""
    app_id = f"application_1700000000000_{n:04d}"
    folder = tmp / app_id
    folder.mkdir(parents=True)
    for c in range(1, 5):
        text = generate_log(300, error_fraction=0.1, seed=n * 10 + c)
        (folder / f"container_e1_1700000000000_{n:04d}_01_{c:06d}").write_text(text.rstrip("\n") + "\n")
    return app_id, folder


class Repack(Child):
    """``sparktriage repack`` as a child process, from ``lines-<tag>`` into the worker's input topic."""

    def __init__(self, worker: Worker, tmp: Path, **settings: str) -> None:
        tag = worker.topics["input"]
        self.topic = f"lines-{tag}"
        self.env = {**worker.env, "SPARKTRIAGE_REPACK_TOPIC": self.topic, "SPARKTRIAGE_REPACK_GROUP": f"r-{tag}",
                    **{f"SPARKTRIAGE_{k.upper()}": v for k, v in settings.items()}}
        self.log = tmp / "repack.log"
        self.worker = worker

    def start(self, **settings: str) -> None:
        env = {**self.env, **{f"SPARKTRIAGE_{k.upper()}": v for k, v in settings.items()}}
        seen = self.log.read_bytes().count(b"INFO sparktriage.repack: repacking [") if self.log.exists() else 0
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "sparktriage.cli", "repack"], env=env,
                                         stdout=out, stderr=subprocess.STDOUT)
        self.worker.wait_for(lambda: self.log.read_bytes().count(b"INFO sparktriage.repack: repacking [") > seen,
                             120, "the stage to join its group")

    def produce(self, records: list[tuple[bytes | None, bytes]]) -> None:
        producer = KafkaProducer(bootstrap_servers=self.worker.bootstrap, acks="all")
        for key, value in records:
            producer.send(self.topic, key=key, value=value)
        producer.flush()
        producer.close()


def _sent(worker: Worker, at_least: int, timeout: float = 60) -> list:
    """The records on the worker's input topic, once there are ``at_least`` (every partition, in order)."""
    consumer = KafkaConsumer(worker.topics["input"], bootstrap_servers=worker.bootstrap,
                             auto_offset_reset="earliest", group_id=None, consumer_timeout_ms=1000)
    found: list = []
    deadline = time.monotonic() + timeout
    while len(found) < at_least and time.monotonic() < deadline:
        found += list(consumer)
    consumer.close()
    return found


def _batch(m: object) -> Envelope | None:
    """A record the stage batched, parsed; None for anything else (what it passed on: ends, bad input)."""
    try:
        env = parse_envelope(m.key, m.value)  # type: ignore[attr-defined]
    except BadInput:
        return None
    return env if env.source is not None else None


def _lines_by_stream(records: list) -> dict[str, list[tuple[int, str]]]:
    out: dict[str, list[tuple[int, str]]] = {}
    for m in records:
        env = _batch(m)
        if env is not None:
            out.setdefault(env.stream_key, []).extend(zip(env.source.offsets, env.source.lines))
    return out


def test_one_line_records_come_out_batched_per_stream_in_order_keyed_by_application(
        broker: Broker, tmp_path: Path) -> None:
    worker = Worker(broker, tmp_path)  # only its topics and settings: no worker runs here
    repack = Repack(worker, tmp_path, repack_max_lines="50", repack_linger="0.5")
    apps = [_app_logs(tmp_path / "logs", n, text) for n, text in enumerate(FAILURES.values(), 61)]
    records = _interleaved(apps)
    lines = [(k, v) for k, v in records if b'"app_end"' not in v]
    try:
        repack.start()
        repack.produce(records + [(None, value) for value in BAD.values()])
        expected: dict[str, list[str]] = {}
        for key, value in lines:
            env = parse_envelope(key, value)
            expected.setdefault(env.stream_key, []).append(env.text)
        sent = _sent(worker, at_least=len(apps) + len(BAD) + sum(-(-len(v) // 50) for v in expected.values()))
        got = _lines_by_stream(sent)
        assert {k: [text for _, text in v] for k, v in got.items()} == expected, "every line once, in order"
        assert all(offsets == sorted(offsets) for offsets in ([o for o, _ in v] for v in got.values()))
        batches = [env for env in map(_batch, sent) if env is not None]
        assert len(batches) < len(lines) / 20 and max(len(env.source.lines) for env in batches) == 50
        meta = KafkaConsumer(bootstrap_servers=worker.bootstrap)
        partitions = len(meta.partitions_for_topic(worker.topics["input"]))
        meta.close()
        for m in sent:
            if m.key is not None:  # the worker's own records for an application go where its lines go
                assert m.partition == (murmur2(m.key) & 0x7FFFFFFF) % partitions
        ends = [m for m in sent if b'"app_end"' in m.value]
        assert sorted(m.value for m in ends) == sorted(v for _, v in records if b'"app_end"' in v), "untouched"
        assert sorted(m.value for m in sent if m.key is None) == sorted(BAD.values()), "bad input untouched"
        assert repack.proc is not None and repack.proc.poll() is None, "still running"
    finally:
        repack.stop()


def test_the_stage_killed_mid_stream_and_restarted_loses_and_doubles_nothing(
        broker: Broker, tmp_path: Path) -> None:
    """Killed after it sent batches and before it committed any input offset, the restarted stage sends
    their lines again, in batches cut otherwise; the worker stores each application's events once, as
    the logs read whole give them."""
    worker = Worker(broker, tmp_path)
    repack = Repack(worker, tmp_path, repack_max_lines="20")
    apps = [_erring_app_logs(tmp_path / "logs", n) for n in range(71, 74)]
    records = _interleaved(apps)
    half = len(records) // 2  # every application's app_end is in the second half
    try:
        worker.start()
        repack.start(repack_linger="300")  # no commit before the kill
        repack.produce(records[:half] + [(None, value) for value in BAD.values()])
        before = _sent(worker, at_least=20)
        assert len(before) >= 20, "batches were sent before the kill"
        repack.kill()
        repack.produce(records[half:])
        repack.start(repack_linger="0.5", repack_max_lines="7")  # cut otherwise: batches overlap those sent
        worker.wait_for(lambda: len(worker.rows("select 1 from diagnoses")) >= len(apps), 180, "every diagnosis")
        # a barrier: a record that is not an object at the end of each partition; its dead letter says all
        # before it is done
        producer = KafkaProducer(bootstrap_servers=worker.bootstrap, acks="all")
        for partition in range(3):
            producer.send(worker.topics["input"], value=b"[1]", partition=partition)
        producer.flush()
        producer.close()
        worker.wait_for(lambda: len(worker.rows("select 1 from dead_letters where reason = 'not_an_object'")) == 3,
                        60, "the barrier's dead letters")
        sent = _lines_by_stream(_sent(worker, at_least=1))
        assert any(len(v) > len(set(v)) for v in sent.values()), "the restarted stage sent lines again"
        assert sorted(a for (a,) in worker.rows("select app_id from diagnoses")) == sorted(a for a, _ in apps)
        events = worker.rows("select app_id, container_id, line, text from exception_events")
        assert len(events) == len(set(events)), "no exception event stored twice"
        for app_id, folder in apps:
            stored = {e[1:] for e in events if e[0] == app_id}
            whole = {(e.container_id, e.line, e.text) for e in events_of_paths([str(folder)])[1]}
            assert stored == whole, (f"{app_id}: the events of its logs read whole; missing "
                                     f"{sorted(whole - stored)[:3]}, not in them {sorted(stored - whole)[:3]}")
        reasons = {r for (r,) in worker.rows("select reason from dead_letters where reason != 'not_an_object'")}
        assert reasons == set(BAD), "bad input dead-lettered by the worker with its reason"
    finally:
        repack.stop()
        worker.stop()


def _event_log_line(app: str, n: int) -> bytes:
    """A Spark event-log event that is evidence (an executor removed for memory), as a one-line record."""
    event = {"Event": "SparkListenerExecutorRemoved", "Timestamp": 1710238273500 + n, "Executor ID": str(n),
             "Removed Reason": f"Container killed by YARN for exceeding physical memory limits. {n}.6 GB used."}
    return json.dumps({"app_id": app, "role": "driver", "line": json.dumps(event)}).encode()


def _sent_on_whole(app: str, n: int) -> list[tuple[bytes | None, bytes]]:
    """Records of ``app`` the stage sends on whole: a container's end and an event-log event (evidence
    each, counted twice if applied twice) and records the worker refuses (a dead letter each), one of
    them too large for it (more than 8 x ``MAX_LINE_BYTES``), which the stage sends as its head."""
    end = {"app_id": app, "event": "container_end", "container_id": f"pod-{n}", "role": "executor",
           "lifecycle": {"source": "k8s", "pod": f"pod-{n}", "state": "Failed", "reason": "OOMKilled",
                         "exit_code": 137}}
    return [(app.encode(), json.dumps(end).encode()), (app.encode(), _event_log_line(app, n)),
            (app.encode(), b'{"app_id": "' + app.encode() + b'", "line": ' + str(n).encode()),
            (None, bytes([0, 1, n % 256, 255]) * 8),
            (app.encode(), json.dumps({"app_id": app, "line": f"{n} " + "x" * 8 * MAX_LINE_BYTES}).encode())]


def _origins(worker: Worker) -> list[Origin]:
    """Where the records on the worker's input topic that the stage sent on whole were read."""
    return [o for o in (origin_of(m.headers) for m in _sent(worker, at_least=1)) if o is not None]


def _all_committed(repack: Repack, timeout: float = 120) -> None:
    """Wait until the stage committed everything on its input: all it sent is acknowledged by then."""
    consumer = KafkaConsumer(bootstrap_servers=repack.worker.bootstrap, group_id=repack.env["SPARKTRIAGE_REPACK_GROUP"],
                             enable_auto_commit=False)
    partitions = [TopicPartition(repack.topic, p) for p in consumer.partitions_for_topic(repack.topic)]
    ends = consumer.end_offsets(partitions)
    try:
        repack.worker.wait_for(lambda: all((consumer.committed(tp) or 0) >= ends[tp] for tp in partitions),
                               timeout, "the stage to commit its input")
    finally:
        consumer.close()


def _settled(worker: Worker) -> dict:
    """What a worker keeps once every record before a barrier is applied: diagnoses, exception events
    (each kept one: a multiset), events per application, dead letters, and the applications' states as
    the changelog last holds them (what they count; the offsets they keep differ with the batches)."""
    producer = KafkaProducer(bootstrap_servers=worker.bootstrap, acks="all")
    for partition in range(3):  # a record that is not an object at the end of each partition
        producer.send(worker.topics["input"], value=b"[1]", partition=partition)
    producer.flush()
    producer.close()
    worker.wait_for(lambda: len(worker.rows("select 1 from dead_letters where reason = 'not_an_object'")) == 3,
                    60, "the barrier's dead letters")
    letters = [json.loads(p) for (p,) in worker.rows("select payload from dead_letters")]
    changelog = KafkaConsumer(f"{worker.env['SPARKTRIAGE_GROUP']}-apps-changelog", bootstrap_servers=worker.bootstrap,
                              auto_offset_reset="earliest", group_id=None, consumer_timeout_ms=3000)
    states = {json.loads(m.key): json.loads(m.value) for m in changelog if m.value is not None}
    changelog.close()
    names = ("n_events", "dropped_events", "ended", "end_source", "watch", "attempts")
    return {
        "diagnoses": sorted(worker.rows("select app_id, attempt, category, source, rule_id, superseded is null "
                                        "from diagnoses")),
        "events": sorted(worker.rows("select app_id, container_id, line, text from exception_events")),
        "counts": sorted(worker.rows("select app_id, count(*) from exception_events group by app_id")),
        "dead_letters": sorted((d["reason"], d["value_b64"]) for d in letters if d["reason"] != "not_an_object"),
        "states": {app: {name: state[name] for name in names} | {"streams": sorted(state["streams"])}
                   for app, state in states.items()},
    }


def test_records_sent_on_whole_are_applied_once_when_the_stage_is_killed_before_its_commit(
        broker: Broker, tmp_path: Path) -> None:
    """Container ends, event-log events and refused records, sent on and acknowledged by the broker, then
    the stage SIGKILLed before it committed: the restarted stage sends them again, and the worker keeps
    exactly what a worker behind a stage that was not killed keeps: state, diagnoses, events, dead letters."""
    for name in ("calm", "killed"):
        (tmp_path / name).mkdir()
    calm, killed = Worker(broker, tmp_path / "calm"), Worker(broker, tmp_path / "killed")
    for worker in (calm, killed):
        worker.env["SPARKTRIAGE_MAX_LINE_BYTES"] = str(MAX_LINE_BYTES)
    calm_stage = Repack(calm, tmp_path / "calm", repack_max_lines="20", repack_linger="0.5")
    killed_stage = Repack(killed, tmp_path / "killed", repack_max_lines="20")
    apps = [_erring_app_logs(tmp_path / "logs", n) for n in range(81, 84)]
    lines = _interleaved(apps)
    half = len(lines) // 2  # every application's app_end is in the second half
    whole = [record for n, (app, _) in enumerate(apps) for record in _sent_on_whole(app, n)]
    first = lines[:half // 2] + whole[::2] + lines[half // 2:half] + whole[1::2]
    try:
        calm.start()
        killed.start()
        calm_stage.start()
        killed_stage.start(repack_linger="300")  # no commit before the kill
        calm_stage.produce(first + lines[half:])
        killed_stage.produce(first)
        killed.wait_for(lambda: len(_origins(killed)) == len(whole), 120, "the first half's records sent on whole")
        killed_stage.kill()  # each acknowledged by the broker, none committed
        killed_stage.produce(lines[half:])
        killed_stage.start(repack_linger="0.5", repack_max_lines="7")  # cut otherwise: batches overlap those sent
        for stage in (calm_stage, killed_stage):
            _all_committed(stage)
        # those of the first half sent again; the application ends (in the second half) once
        assert sorted(Counter(_origins(killed)).values()) == [1] * len(apps) + [2] * len(whole)
        assert sorted(Counter(_origins(calm)).values()) == [1] * (len(apps) + len(whole))
        expected, got = _settled(calm), _settled(killed)
        assert len(expected["diagnoses"]) == len(apps) and expected["dead_letters"] and expected["states"]
        assert [reason for reason, _ in expected["dead_letters"]].count("record_too_large") == len(apps)
        assert got == expected
    finally:
        for child in (killed_stage, calm_stage, killed, calm):
            child.stop()
