"""The worker's throughput and latency on the embedded broker, in one run.

1. Produce N envelope lines of M applications (1% error records, interleaved)
   plus their ``app_end`` into a one-partition topic.
2. Raw consume rate: aiokafka reads the whole topic (the denominator); and
   the ceiling of the framework itself: a faust agent that only decodes JSON.
3. Worker rate: ``sparktriage worker`` starts on the filled topic; lines/s is
   N over the time from its "Ready" to the last diagnosis on the output topic.
4. Latency: with the worker idle, applications are sent one at a time; the
   time from producing ``app_end`` to its diagnosis on the output topic.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from kafka import KafkaConsumer, KafkaProducer

from sparktriage.tools.broker import Broker, free_port
from sparktriage.settings import Settings
from sparktriage.delivery.topics import ensure_topics
from tests.loggen import generate_log

FAILURE = ("24/03/12 10:11:13 WARN TaskSetManager: Lost task 3.0 in stage 2.0 (TID 14) (host-7 executor 2): "
           "ExecutorLostFailure (executor 2 exited caused by one of the running tasks) Reason: Container killed "
           "by YARN for exceeding physical memory limits. 5.6 GB of 5.5 GB physical memory used.")


def _records(app_id: str, n_lines: int, seed: int) -> list[tuple[bytes, bytes]]:
    lines = generate_log(n_lines, error_fraction=0.01, seed=seed).split("\n")
    lines.insert(len(lines) // 2, FAILURE)
    key = app_id.encode()
    out = [(key, json.dumps({"app_id": app_id, "line": line, "container_id": f"c{n % 4}",
                             "role": "executor"}).encode()) for n, line in enumerate(lines)]
    out.append((key, json.dumps({"app_id": app_id, "event": "app_end", "status": "FAILED"}).encode()))
    return out


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


def _faust_noop(bootstrap: str, topic: str, expect: int) -> float:
    env = {**os.environ, "BENCH_BOOTSTRAP": bootstrap, "BENCH_TOPIC": topic, "BENCH_RECORDS": str(expect)}
    out = subprocess.run([sys.executable, "-m", "bench.faust_floor", "worker", "-l", "warn"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600).stdout
    return float(out.split("FAUST_NOOP ")[1].split()[0])  # faust logs what its agents print


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


def start_worker(broker: Broker, settings: Settings, tmp: str, group: str) -> subprocess.Popen[bytes]:
    """``sparktriage worker`` on the bench's topics and a SQLite store in ``tmp``, once it is ready."""
    env = {**os.environ, "SPARKTRIAGE_BOOTSTRAP": broker.bootstrap, "SPARKTRIAGE_DB": f"sqlite:///{tmp}/b.db",
           "SPARKTRIAGE_INPUT_TOPIC": settings.input_topic, "SPARKTRIAGE_OUTPUT_TOPIC": settings.output_topic,
           "SPARKTRIAGE_DLQ_TOPIC": settings.dlq_topic, "SPARKTRIAGE_GROUP": group,
           "SPARKTRIAGE_SESSION_TIMEOUT": "6", "SPARKTRIAGE_PRODUCER_MAX_BATCH_SIZE": "1",
           "SPARKTRIAGE_WORKER_WEB_PORT": "0", "SPARKTRIAGE_DATA_DIR": f"{tmp}/var"}
    log = Path(tmp) / "worker.log"
    with open(log, "wb") as fh:
        worker = subprocess.Popen([sys.executable, "-m", "sparktriage.cli", "worker"], env=env,
                                  stdout=fh, stderr=subprocess.STDOUT)
    while b"Worker]: Ready" not in log.read_bytes():
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited:\n{log.read_text()[-2000:]}")
        time.sleep(0.05)
    return worker


def main(n_apps: int = 10, lines_per_app: int = 5_000, latency_apps: int = 40) -> None:
    tag = uuid.uuid4().hex[:6]
    with tempfile.TemporaryDirectory() as tmp, Broker(Settings(), port=free_port()) as broker:
        settings = Settings(bootstrap=broker.bootstrap, input_topic=f"bench-in-{tag}",
                            output_topic=f"bench-out-{tag}", dlq_topic=f"bench-dlq-{tag}", partitions=1)
        ensure_topics(settings)
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=20, batch_size=256 * 1024)
        apps = [_records(f"application_1700000000000_{n:04d}", lines_per_app, n) for n in range(n_apps)]
        records = [r for group in zip(*apps) for r in group] + [r for a in apps for r in a[len(apps[0]):]]
        for key, value in records:
            producer.send(settings.input_topic, key=key, value=value)
        producer.flush()
        raw = asyncio.run(_raw_consume(broker.bootstrap, settings.input_topic, len(records)))
        floor = _faust_noop(broker.bootstrap, settings.input_topic, len(records))

        out = KafkaConsumer(settings.output_topic, bootstrap_servers=broker.bootstrap,
                            auto_offset_reset="latest", group_id=None)
        out.poll(timeout_ms=500)
        worker = start_worker(broker, settings, tmp, f"bench-{tag}")
        try:
            t0 = time.perf_counter()
            _wait_keys(out, {a[0][0] for a in apps}, timeout=1800)
            rate = len(records) / (time.perf_counter() - t0)

            latencies = []
            for n in range(latency_apps):
                app = _records(f"application_1700000000001_{n:04d}", 200, 1000 + n)
                for key, value in app[:-1]:
                    producer.send(settings.input_topic, key=key, value=value)
                producer.flush()
                time.sleep(0.3)  # let the lines be folded: the latency is from app_end
                sent = time.perf_counter()
                producer.send(settings.input_topic, key=app[-1][0], value=app[-1][1])
                producer.flush()
                _wait_keys(out, {app[-1][0]}, timeout=60)
                latencies.append(time.perf_counter() - sent)
        finally:
            worker.terminate()
            worker.wait(30)
            producer.close()
            out.close()
    tail = p99(latencies)
    print(f"worker on {len(records):,} records ({n_apps} applications, 1 partition, one process):")
    print(f"  raw aiokafka consume   {raw:12,.0f} records/s")
    print(f"  faust no-op agent      {floor:12,.0f} records/s (the framework's ceiling; ratio {floor / raw:.3f})")
    print(f"  sparktriage worker     {rate:12,.0f} lines/s  -> ratio {rate / raw:.3f} (target >= 0.5), "
          f"{rate / floor:.2f} of the faust ceiling")
    print(f"  app_end -> diagnosis   p50 {statistics.median(latencies) * 1000:.0f} ms, "
          f"p99 {tail * 1000:.0f} ms over {len(latencies)} applications (target p99 < 1000 ms)")


if __name__ == "__main__":
    main()
