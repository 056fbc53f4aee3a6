"""What the worker's metrics cost: throughput with them on against off, on the embedded broker.

One topic of N envelope lines (``bench.worker``'s applications) is read by
``sparktriage worker`` several times, each run a new consumer group and
output topic, alternating metrics on (``/metrics`` served and scraped every
``SCRAPE_EVERY`` seconds, a common Prometheus interval) and off (``worker_web_port = 0``:
no server, the per-record calls do nothing). Lines/s is N over the time
from "Ready" to the last diagnosis; the worker's CPU seconds over the same
span (from /proc) per record are steadier on a shared machine. The runs go
in pairs, on and off back to back in alternating order, and the cost is the
median of the pairs' differences; the per-record price of the hot-path
calls, timed alone, says what the difference should be.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit
import uuid
from pathlib import Path

import httpx
from kafka import KafkaConsumer, KafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from bench.worker import _records, _wait_keys
from sparktriage.tools.broker import Broker, free_port
from sparktriage.metrics import WorkerMetrics, new_registry
from sparktriage.settings import Settings
from sparktriage.delivery.topics import ensure_topics


SCRAPE_EVERY = 15.0


def _scrape(port: int) -> dict[str, float]:
    """Each sample name's total over its labels."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
    return totals


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run(broker: Broker, topic: str, records: int, keys: set[bytes], tmp: str,
         metrics_on: bool) -> tuple[float, float]:
    """One worker over the whole topic: lines/s, and CPU microseconds the worker spent per record."""
    tag = uuid.uuid4().hex[:6]
    out_topic = f"bench-cost-out-{tag}"
    port = free_port() if metrics_on else 0
    env = {**os.environ, "SPARKTRIAGE_BOOTSTRAP": broker.bootstrap, "SPARKTRIAGE_DB": f"sqlite:///{tmp}/{tag}.db",
           "SPARKTRIAGE_INPUT_TOPIC": topic, "SPARKTRIAGE_OUTPUT_TOPIC": out_topic,
           "SPARKTRIAGE_DLQ_TOPIC": f"bench-cost-dlq-{tag}", "SPARKTRIAGE_GROUP": f"bench-cost-{tag}",
           "SPARKTRIAGE_SESSION_TIMEOUT": "6", "SPARKTRIAGE_PRODUCER_MAX_BATCH_SIZE": "1", "SPARKTRIAGE_PARTITIONS": "1",
           "SPARKTRIAGE_WORKER_WEB_PORT": str(port), "SPARKTRIAGE_DATA_DIR": f"{tmp}/var-{tag}"}
    ensure_topics(Settings(bootstrap=broker.bootstrap, input_topic=topic, output_topic=out_topic,
                           dlq_topic=env["SPARKTRIAGE_DLQ_TOPIC"], partitions=1))
    out = KafkaConsumer(out_topic, bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest", group_id=None)
    log = Path(tmp) / f"worker-{tag}.log"
    with open(log, "wb") as fh:
        worker = subprocess.Popen([sys.executable, "-m", "sparktriage.cli", "worker"], env=env,
                                  stdout=fh, stderr=subprocess.STDOUT)
    stop = threading.Event()
    try:
        while b"Worker]: Ready" not in log.read_bytes():
            if worker.poll() is not None:
                raise RuntimeError(log.read_text()[-2000:])
            time.sleep(0.05)
        t0, cpu0 = time.perf_counter(), _cpu_seconds(worker.pid)
        if metrics_on:
            def scrape_now_and_then() -> None:
                while not stop.wait(SCRAPE_EVERY):
                    _scrape(port)
            threading.Thread(target=scrape_now_and_then, daemon=True).start()
        _wait_keys(out, set(keys), timeout=1800)
        rate = records / (time.perf_counter() - t0)
        cpu = (_cpu_seconds(worker.pid) - cpu0) / records * 1e6
        if metrics_on:  # the counters saw what the benchmark sent
            got = _scrape(port)
            if got["sparktriage_records_consumed_total"] < records or got["sparktriage_diagnoses_total"] < len(keys):
                raise RuntimeError(f"the metrics missed records: {got}")
    finally:
        stop.set()
        worker.terminate()
        worker.wait(30)
        out.close()
    return rate, cpu


def _hot_path_ns() -> float:
    """Nanoseconds of one record's metric calls (a record read and a line folded)."""
    metrics = WorkerMetrics(new_registry(), "spark-logs", 8)
    n = 200_000
    seconds = min(timeit.repeat(lambda: (metrics.consumed(3), metrics.folded("a line")), number=n, repeat=5))
    return seconds / n * 1e9


def main(n_apps: int = 10, lines_per_app: int = 5_000, rounds: int = 5) -> None:
    with tempfile.TemporaryDirectory() as tmp, Broker(Settings(), port=free_port()) as broker:
        topic = f"bench-cost-in-{uuid.uuid4().hex[:6]}"
        ensure_topics(Settings(bootstrap=broker.bootstrap, input_topic=topic, partitions=1))
        apps = [_records(f"application_1700000000000_{n:04d}", lines_per_app, n) for n in range(n_apps)]
        records = [r for group in zip(*apps) for r in group] + [r for a in apps for r in a[len(apps[0]):]]
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=20, batch_size=256 * 1024)
        for key, value in records:
            producer.send(topic, key=key, value=value)
        producer.flush()
        producer.close()
        keys = {a[0][0] for a in apps}
        runs: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        for n in range(rounds):
            for on in ((True, False) if n % 2 == 0 else (False, True)):
                runs[on].append(_run(broker, topic, len(records), keys, tmp, on))
    # Neighbouring runs share the machine's load of the moment: compare them pairwise.
    pairs = list(zip(runs[True], runs[False], strict=True))
    slower = statistics.median(1 - on[0] / off[0] for on, off in pairs)
    dearer = statistics.median(on[1] / off[1] - 1 for on, off in pairs)
    hot = _hot_path_ns()
    print(f"worker metrics on against off, {len(records):,} records, {rounds} interleaved pairs of runs "
          f"(on: served and scraped every {SCRAPE_EVERY:g} s):")
    for n, (on, off) in enumerate(pairs, 1):
        print(f"  pair {n}: off {off[0]:8,.0f} lines/s {off[1]:5.0f} µs CPU/record;  "
              f"on {on[0]:8,.0f} lines/s {on[1]:5.0f} µs CPU/record")
    print(f"  cost (median of the pairs): {slower * 100:+.1f} % of throughput, {dearer * 100:+.1f} % of the "
          "worker's CPU per record (budget 5 %)")
    print(f"  hot path: {hot:.0f} ns of metric calls per record timed alone, "
          f"{hot / 1000 / statistics.median(off[1] for _, off in pairs) * 100:.2f} % of a record's CPU")

if __name__ == "__main__":
    main()
