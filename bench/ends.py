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
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer

from bench.worker import FAILURE, _wait_keys
from sparktriage.broker import Broker, free_port
from sparktriage.settings import Settings
from sparktriage.topics import ensure_topics
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
        env = {**os.environ, "SPARKTRIAGE_BOOTSTRAP": broker.bootstrap, "SPARKTRIAGE_DB": f"sqlite:///{tmp}/b.db",
               "SPARKTRIAGE_INPUT_TOPIC": settings.input_topic, "SPARKTRIAGE_OUTPUT_TOPIC": settings.output_topic,
               "SPARKTRIAGE_DLQ_TOPIC": settings.dlq_topic, "SPARKTRIAGE_GROUP": f"ends-{tag}",
               "SPARKTRIAGE_SESSION_TIMEOUT": "6", "SPARKTRIAGE_PRODUCER_MAX_BATCH_SIZE": "1",
               "SPARKTRIAGE_WORKER_WEB_PORT": "0", "SPARKTRIAGE_DATA_DIR": f"{tmp}/var"}
        log = Path(tmp) / "worker.log"
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=0)
        out = KafkaConsumer(settings.output_topic, bootstrap_servers=broker.bootstrap,
                            auto_offset_reset="latest", group_id=None)
        out.poll(timeout_ms=500)
        with open(log, "wb") as fh:
            worker = subprocess.Popen([sys.executable, "-m", "sparktriage.cli", "worker"], env=env,
                                      stdout=fh, stderr=subprocess.STDOUT)
        try:
            while b"Worker]: Ready" not in log.read_bytes():
                if worker.poll() is not None:
                    raise RuntimeError(f"the worker exited:\n{log.read_text()[-2000:]}")
                time.sleep(0.05)
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
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
    print(f"end read from the logs, no app_end ({n_apps} applications, half AM final status, half driver shutdown):")
    print(f"  last line -> diagnosis p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
          f"max {latencies[-1] * 1000:.0f} ms (grace {Settings().end_grace:.1f} s included; target p99 < 5000 ms)")


if __name__ == "__main__":
    main()
