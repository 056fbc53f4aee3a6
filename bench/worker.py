"""The worker's throughput and latency on the embedded broker, side by side in one run (issue 17).

The same generated lines of ten applications (1 % error records, four
containers each) are produced twice onto two-partition topics: one line per
record, and 100 consecutive lines of one container per record (``lines``).
The applications are chosen so that each partition holds five. Then:

1. raw aiokafka consume rates of both topics, and the framework's own
   ceiling: a faust agent that only decodes each record (``bench.faust_floor``,
   on the worker's consumer);
2. one ``sparktriage worker`` on the one-line topic: lines/s from its first
   record consumed to the last diagnosis on the output topic (target: at
   least 0.8 of the faust agent);
3. one worker on the 100-line topic, against ``classify``'s event extraction
   (``logtext.events.extract_events`` with the classifier's signals) on the
   same lines in this process (target: at least 0.5);
4. two workers in one group on the one-line topic (target: at least 1.5 times
   one worker; ``uptime`` printed with it: the machine has two cores);
5. latency: with the single worker idle, applications sent one at a time, from
   producing ``app_end`` to its diagnosis.

Each rate is also given per CPU-second of the processes measured (the
worker's from ``/proc``, all its threads): other work on a shared machine
moves the wall-clock rates by several times between runs, their CPU cost far
less, so ratios side by side are best read on that basis.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, NamedTuple

from aiokafka import AIOKafkaConsumer
from kafka import KafkaConsumer, KafkaProducer
from kafka.partitioner.default import murmur2

from sparktriage.tools.broker import Broker, free_port
from sparktriage.settings import Settings
from sparktriage.delivery.topics import ensure_topics
from tests.loggen import generate_log

FAILURE = ("24/03/12 10:11:13 WARN TaskSetManager: Lost task 3.0 in stage 2.0 (TID 14) (host-7 executor 2): "
           "ExecutorLostFailure (executor 2 exited caused by one of the running tasks) Reason: Container killed "
           "by YARN for exceeding physical memory limits. 5.6 GB of 5.5 GB physical memory used.")
CONTAINERS = 4
PARTITIONS = 2


def _lines(n_lines: int, seed: int) -> list[str]:
    lines = generate_log(n_lines, error_fraction=0.01, seed=seed).split("\n")
    lines.insert(len(lines) // 2, FAILURE)
    return lines


def _end(app_id: str) -> tuple[bytes, bytes]:
    return app_id.encode(), json.dumps({"app_id": app_id, "event": "app_end", "status": "FAILED"}).encode()


def _records(app_id: str, n_lines: int, seed: int) -> list[tuple[bytes, bytes]]:
    """One line per record, the containers' lines interleaved, then the ``app_end``."""
    key = app_id.encode()
    out = [(key, json.dumps({"app_id": app_id, "line": line, "container_id": f"c{n % CONTAINERS}",
                             "role": "executor"}).encode()) for n, line in enumerate(_lines(n_lines, seed))]
    return out + [_end(app_id)]


def _batched(app_id: str, n_lines: int, seed: int, per: int) -> tuple[list[tuple[bytes, bytes]], list[str]]:
    """The same lines, ``per`` consecutive lines of one container per record; and each container's text."""
    lines = _lines(n_lines, seed)
    streams = [lines[c::CONTAINERS] for c in range(CONTAINERS)]
    key, out = app_id.encode(), []
    for start in range(0, max(len(s) for s in streams), per):
        for c, stream in enumerate(streams):
            if stream[start:start + per]:
                out.append((key, json.dumps({"app_id": app_id, "lines": stream[start:start + per],
                                             "container_id": f"c{c}", "role": "executor"}).encode()))
    return out + [_end(app_id)], ["\n".join(s) for s in streams]


def app_ids(n: int, partitions: int = PARTITIONS, stamp: str = "1700000000000") -> list[str]:
    """``n`` application ids spread evenly over ``partitions`` by Kafka's default partitioner (murmur2)."""
    per: dict[int, list[str]] = {p: [] for p in range(partitions)}
    k = 0
    while sum(len(v) for v in per.values()) < n:
        app_id = f"application_{stamp}_{k:04d}"
        p = (murmur2(app_id.encode()) & 0x7FFFFFFF) % partitions
        if len(per[p]) < n // partitions + (p < n % partitions):
            per[p].append(app_id)
        k += 1
    return [a for group in itertools.zip_longest(*per.values()) for a in group if a is not None]


async def _raw_consume(bootstrap: str, topic: str, expect: int) -> float:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                group_id=None, enable_auto_commit=False)
    await consumer.start()
    seen, t0 = 0, time.perf_counter()
    try:
        while seen < expect:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10000)
            seen += sum(len(v) for v in batch.values())
    finally:
        await consumer.stop()
    return seen / (time.perf_counter() - t0)


def _faust_noop(bootstrap: str, topic: str, expect: int) -> tuple[float, float]:
    """The faust agent's records per second and per CPU-second."""
    env = {**os.environ, "BENCH_BOOTSTRAP": bootstrap, "BENCH_TOPIC": topic, "BENCH_RECORDS": str(expect)}
    out = subprocess.run([sys.executable, "-m", "bench.faust_floor", "worker", "-l", "warn"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600).stdout
    wall, cpu = out.split("FAUST_NOOP ")[1].split()[:2]  # faust logs what its agents print
    return float(wall), float(cpu)


def cpu_seconds(procs: list[Any]) -> float:
    """User and system CPU time the processes (all their threads) have used so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for proc in procs:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def _wait_keys(consumer: KafkaConsumer, keys: set[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while keys and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=200).values():
            for message in batch:
                keys.discard(message.key)
    if keys:
        raise TimeoutError(f"{len(keys)} diagnoses did not arrive")


def p99(values: list[float]) -> float:
    """The 99th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def worker_env(broker: Broker, settings: Settings, folder: str, group: str) -> dict[str, str]:
    """``sparktriage worker``'s environment on the bench's topics, its store and data under ``folder``
    (with Tansu's quirk for exact table recovery: a changelog produce per table write)."""
    return {**os.environ, "SPARKTRIAGE_BOOTSTRAP": broker.bootstrap, "SPARKTRIAGE_DB": f"sqlite:///{folder}/b.db",
            "SPARKTRIAGE_INPUT_TOPIC": settings.input_topic, "SPARKTRIAGE_OUTPUT_TOPIC": settings.output_topic,
            "SPARKTRIAGE_DLQ_TOPIC": settings.dlq_topic, "SPARKTRIAGE_GROUP": group,
            "SPARKTRIAGE_SESSION_TIMEOUT": "6", "SPARKTRIAGE_PRODUCER_MAX_BATCH_SIZE": "1",
            "SPARKTRIAGE_WORKER_WEB_PORT": "0", "SPARKTRIAGE_DATA_DIR": f"{folder}/var"}


def launch(env: dict[str, str], folder: str) -> tuple[subprocess.Popen[bytes], Path]:
    """A worker process logging to ``folder/worker.log``."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    log = Path(folder) / "worker.log"
    with open(log, "ab") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "sparktriage.cli", "worker"], env=env,
                                stdout=fh, stderr=subprocess.STDOUT)
    return proc, log


def wait_log(proc: subprocess.Popen[bytes], log: Path, text: bytes, timeout: float = 300) -> float:
    """Wait until ``text`` is in the worker's log; when it was seen (perf_counter, 20 ms polls)."""
    return first_seen([(proc, log)], text, timeout)


def first_seen(workers: list[tuple[subprocess.Popen[bytes], Path]], text: bytes, timeout: float = 300) -> float:
    """When ``text`` first appeared in any of the workers' logs (perf_counter, 20 ms polls)."""
    deadline = time.monotonic() + timeout
    while not any(text in log.read_bytes() for _, log in workers):
        for proc, log in workers:
            if proc.poll() is not None:
                raise RuntimeError(f"a worker exited:\n{log.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {text!r} in the workers' logs")
        time.sleep(0.02)
    return time.perf_counter()


def start_worker(broker: Broker, settings: Settings, tmp: str, group: str) -> subprocess.Popen[bytes]:
    """``sparktriage worker`` on the bench's topics and a SQLite store in ``tmp``, once it is ready."""
    proc, log = launch(worker_env(broker, settings, tmp, group), tmp)
    wait_log(proc, log, b"Worker]: Ready")
    return proc


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Run(NamedTuple):
    """One run of ``run_workers``: records/s, the workers, records per CPU-second of the workers, and the
    cores the workers and the broker kept busy over the same stretch (CPU-seconds per second: on two cores,
    what is left for the workers once the broker has its share is what more workers can scale onto)."""

    rate: float
    procs: list[subprocess.Popen[bytes]]
    cpu_rate: float
    cores: float
    broker_cores: float


def run_workers(broker: Broker, settings: Settings, tmp: str, n: int, keys: set[bytes], records: int,
                keep: bool = False) -> Run:
    """``n`` workers in a new group on ``settings.input_topic``: records/s from the first record any
    of them consumed to the last of ``keys`` diagnosed (the workers are stopped unless ``keep``), and
    records per CPU-second of the workers over the same stretch."""
    out = KafkaConsumer(settings.output_topic, bootstrap_servers=broker.bootstrap,
                        auto_offset_reset="latest", group_id=None)
    out.poll(timeout_ms=500)
    group = f"bench-{uuid.uuid4().hex[:6]}"
    envs = [worker_env(broker, settings, f"{tmp}/{group}-{k}", group) for k in range(n)]
    for env in envs:  # nothing recovers here: changelog writes batched as on a production Kafka
        env.pop("SPARKTRIAGE_PRODUCER_MAX_BATCH_SIZE")
    started = [launch(env, f"{tmp}/{group}-{k}") for k, env in enumerate(envs)]
    procs = [proc for proc, _ in started]
    try:
        first = first_seen(started, b"first record consumed")
        cpu0, broker0 = cpu_seconds(procs), cpu_seconds([broker.process])
        _wait_keys(out, set(keys), timeout=1800)
        elapsed = time.perf_counter() - first
        cpu, broker_cpu = cpu_seconds(procs) - cpu0, cpu_seconds([broker.process]) - broker0
        _shared_throughout(started)
    except BaseException:
        stop(procs)
        raise
    finally:
        out.close()
    if not keep:
        stop(procs)
    return Run(records / elapsed, procs, records / cpu, cpu / elapsed, broker_cpu / elapsed)


def _shared_throughout(workers: list[tuple[subprocess.Popen[bytes], Path]]) -> None:
    """Refuse a figure that is not ``len(workers)`` workers sharing the topic: each consumed, none exited,
    and no rebalance after a worker began. With changelog writes batched, a worker recovering its tables
    after a rebalance meets Tansu's wrong latest offset and stops (faust's ConsistencyError), and the other
    does all the work: the "two workers" figure was then one worker's, after a pause."""
    for proc, log in workers:
        text = log.read_bytes()
        _, found, since = text.partition(b"first record consumed")
        if proc.poll() is not None or not found or b"Revoking previously assigned" in since:
            raise RuntimeError(f"not {len(workers)} workers sharing the topic throughout (a worker exited, "
                               f"consumed nothing or its group rebalanced after it began):\n"
                               f"{text.decode(errors='replace')[-1500:]}")


def _extraction_rate(texts: list[str]) -> tuple[float, float]:
    """Lines/s and lines per CPU-second of ``classify``'s event extraction over ``texts`` (one container's
    log each), best of 3."""
    from classifiers.core import load_classifier
    from logtext.events import extract_events

    signals = load_classifier(Settings()).signals
    n_lines = sum(t.count("\n") + 1 for t in texts)
    best = best_cpu = float("inf")
    for _ in range(3):
        t0, cpu0 = time.perf_counter(), time.process_time()
        for c, text in enumerate(texts):
            extract_events(text, app_id="bench", container_id=f"c{c}", role="executor", signals=signals)
        best, best_cpu = min(best, time.perf_counter() - t0), min(best_cpu, time.process_time() - cpu0)
    return n_lines / best, n_lines / best_cpu


def _produce(producer: KafkaProducer, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    for key, value in records:
        producer.send(topic, key=key, value=value)
    producer.flush()


def _latencies(producer: KafkaProducer, broker: Broker, settings: Settings, n_apps: int) -> list[float]:
    out = KafkaConsumer(settings.output_topic, bootstrap_servers=broker.bootstrap,
                        auto_offset_reset="latest", group_id=None)
    out.poll(timeout_ms=500)
    latencies = []
    try:
        for n, app_id in enumerate(app_ids(n_apps, stamp="1700000000001")):
            app = _records(app_id, 200, 1000 + n)
            _produce(producer, settings.input_topic, app[:-1])
            time.sleep(0.3)  # let the lines be folded: the latency is from app_end
            sent = time.perf_counter()
            _produce(producer, settings.input_topic, app[-1:])
            _wait_keys(out, {app[-1][0]}, timeout=60)
            latencies.append(time.perf_counter() - sent)
    finally:
        out.close()
    return latencies


def main(n_apps: int = 10, lines_per_app: int = 10_000, batched_lines_per_app: int = 100_000,
         latency_apps: int = 40) -> None:
    tag = uuid.uuid4().hex[:6]
    ids = app_ids(n_apps)
    keys = {a.encode() for a in ids}
    with tempfile.TemporaryDirectory() as tmp, Broker(Settings(), port=free_port()) as broker:
        one = Settings(bootstrap=broker.bootstrap, input_topic=f"bench-in-{tag}",
                       output_topic=f"bench-out-{tag}", dlq_topic=f"bench-dlq-{tag}", partitions=PARTITIONS)
        many = one.replace(input_topic=f"bench-in100-{tag}")
        ensure_topics(one)
        ensure_topics(many)
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=20, batch_size=256 * 1024,
                                 max_request_size=4 * 1024 * 1024)
        apps = [_records(a, lines_per_app, n) for n, a in enumerate(ids)]
        records = [r for group in zip(*apps) for r in group] + [r for a in apps for r in a[len(apps[0]):]]
        _produce(producer, one.input_topic, records)
        batched = [_batched(a, batched_lines_per_app, n, 100) for n, a in enumerate(ids)]
        texts = [t for _, ts in batched for t in ts]
        n_batched_lines = sum(t.count("\n") + 1 for t in texts)
        _produce(producer, many.input_topic,
                 [r for group in zip(*(b for b, _ in batched)) for r in group]
                 + [r for b, _ in batched for r in b[len(batched[0][0]):]])

        raw = asyncio.run(_raw_consume(broker.bootstrap, one.input_topic, len(records)))
        floor, floor_cpu = _faust_noop(broker.bootstrap, one.input_topic, len(records))
        n_batched = sum(len(b) for b, _ in batched)
        raw100 = asyncio.run(_raw_consume(broker.bootstrap, many.input_topic, n_batched)) * n_batched_lines / n_batched
        floor100, floor100_cpu = (rate * n_batched_lines / n_batched
                                  for rate in _faust_noop(broker.bootstrap, many.input_topic, n_batched))
        single_run = run_workers(broker, one, tmp, 1, keys, len(records), keep=True)
        single, single_cpu = single_run.rate, single_run.cpu_rate
        try:
            latencies = _latencies(producer, broker, one, latency_apps)
        finally:
            stop(single_run.procs)
        extraction, extraction_cpu = _extraction_rate(texts)
        hundred_run = run_workers(broker, many, tmp, 1, keys, n_batched_lines)
        hundred, hundred_cpu = hundred_run.rate, hundred_run.cpu_rate
        load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        pair_run = run_workers(broker, one, tmp, 2, keys, len(records))
        pair = pair_run.rate
        producer.close()
    print(f"worker: {len(records):,} records of one line, and {n_batched_lines:,} lines in records of 100 "
          f"({n_apps} applications, {PARTITIONS} partitions), side by side:")
    print(f"  raw aiokafka consume          {raw:12,.0f} records/s")
    print(f"  faust agent that only decodes {floor:12,.0f} records/s (the framework's ceiling; "
          f"{floor_cpu:,.0f} per CPU-second)")
    print(f"  worker, one line per record   {single:12,.0f} lines/s  -> {single / floor:.2f} of the faust agent "
          f"(target >= 0.8); per CPU-second {single_cpu:,.0f} -> {single_cpu / floor_cpu:.2f}")
    print(f"  classify's event extraction   {extraction:12,.0f} lines/s  (in-process, same lines; "
          f"{extraction_cpu:,.0f} per CPU-second)")
    print(f"  raw aiokafka, 100-line records{raw100:12,.0f} lines/s")
    print(f"  faust agent, 100-line records {floor100:12,.0f} lines/s  (only decoding: the framework's ceiling "
          f"for these records; {floor100_cpu:,.0f} per CPU-second)")
    print(f"  worker, 100 lines per record  {hundred:12,.0f} lines/s  -> {hundred / extraction:.2f} of the "
          f"extraction (target >= 0.5), {hundred / floor100:.2f} of the faust agent; per CPU-second "
          f"{hundred_cpu:,.0f} -> {hundred_cpu / extraction_cpu:.2f} and {hundred_cpu / floor100_cpu:.2f}")
    print(f"  two workers, one group        {pair:12,.0f} lines/s  -> {pair / single:.2f} x one worker "
          f"(target >= 1.5; {load})")
    print(f"  cores busy (CPU-s per second) one line per record: worker {single_run.cores:.2f} + broker "
          f"{single_run.broker_cores:.2f}; two workers {pair_run.cores:.2f} + broker {pair_run.broker_cores:.2f}; "
          f"100 lines per record: worker {hundred_run.cores:.2f} + broker {hundred_run.broker_cores:.2f}")
    print(f"  app_end -> diagnosis          p50 {statistics.median(latencies) * 1000:.0f} ms, "
          f"p99 {p99(latencies) * 1000:.0f} ms over {len(latencies)} applications (target p99 < 1000 ms)")


if __name__ == "__main__":
    main()
