"""Latency from an application's last log line to its diagnosis when the end is read from the logs.

No ``app_end`` record: each application's logs end the way a real one's do,
half with the YARN ApplicationMaster's ``Final app status: FAILED`` (stated)
and half with a driver's shutdown after an uncaught exception (inferred).
Applications are sent one at a time to an idle worker; the figure is the time
from producing the last line to the diagnosis on the output topic, so it
includes the grace period (``end_grace``, default 2 s) and the timer that
notices it is over (every 0.2 s). Target: p99 under 5 s.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
import uuid

from kafka import KafkaConsumer, KafkaProducer

from bench.worker import FAILURE, _wait_keys, p99, start_worker
from sparktriage.tools.broker import Broker, free_port
from sparktriage.settings import Settings
from sparktriage.delivery.topics import ensure_topics
from tests.loggen import generate_log

ENDINGS = (
    ["24/03/12 10:15:01 INFO ApplicationMaster: Final app status: FAILED, exitCode: 15, (reason: User class threw "
     "exception: org.apache.spark.SparkException: Job aborted due to stage failure)",
     "24/03/12 10:15:02 INFO ApplicationMaster: Unregistering ApplicationMaster with FAILED",
     "24/03/12 10:15:02 INFO ShutdownHookManager: Shutdown hook called"],
    ['Exception in thread "main" org.apache.spark.SparkException: Job aborted due to stage failure',
     "24/03/12 10:15:02 INFO SparkContext: Invoking stop() from shutdown hook",
     "24/03/12 10:15:03 INFO SparkContext: Successfully stopped SparkContext",
     "24/03/12 10:15:03 INFO ShutdownHookManager: Shutdown hook called"],
)


def _records(app_id: str, n_lines: int, seed: int) -> list[tuple[bytes, bytes]]:
    lines = generate_log(n_lines, error_fraction=0.01, seed=seed).split("\n")
    lines.insert(len(lines) // 2, FAILURE)
    key = app_id.encode()
    out = [(key, json.dumps({"app_id": app_id, "line": line, "container_id": f"c{n % 3 + 2}",
                             "role": "executor"}).encode()) for n, line in enumerate(lines)]
    return out + [(key, json.dumps({"app_id": app_id, "line": line, "container_id": "c1", "role": "driver"}).encode())
                  for line in ENDINGS[seed % 2]]


def main(n_apps: int = 40, lines_per_app: int = 200) -> None:
    tag = uuid.uuid4().hex[:6]
    latencies: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, Broker(Settings(), port=free_port()) as broker:
        settings = Settings(bootstrap=broker.bootstrap, input_topic=f"ends-in-{tag}",
                            output_topic=f"ends-out-{tag}", dlq_topic=f"ends-dlq-{tag}", partitions=1)
        ensure_topics(settings)
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=0)
        out = KafkaConsumer(settings.output_topic, bootstrap_servers=broker.bootstrap,
                            auto_offset_reset="latest", group_id=None)
        out.poll(timeout_ms=500)
        worker = start_worker(broker, settings, tmp, f"ends-{tag}")
        try:
            for n in range(n_apps):
                app = _records(f"application_1700000000002_{n:04d}", lines_per_app, n)
                for key, value in app:
                    producer.send(settings.input_topic, key=key, value=value)
                producer.flush()
                last = time.perf_counter()  # the last line is on the broker
                _wait_keys(out, {app[0][0]}, timeout=60)
                latencies.append(time.perf_counter() - last)
        finally:
            worker.terminate()
            worker.wait(30)
            producer.close()
            out.close()
    print(f"end read from the logs, no app_end ({n_apps} applications, half AM final status, half driver shutdown):")
    print(f"  last line -> diagnosis p50 {statistics.median(latencies) * 1000:.0f} ms, "
          f"p99 {p99(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms (grace {Settings().end_grace:.1f} s included; target p99 < 5000 ms)")


if __name__ == "__main__":
    main()
