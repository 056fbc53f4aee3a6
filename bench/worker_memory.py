"""The worker's memory with many applications open at once (issue 17): it grows with the applications
open, not with the lines seen.

One ``sparktriage worker`` on the embedded broker (two partitions); its
resident set size (``VmRSS``) is read from ``/proc`` once it has folded:

1. nothing (started and joined);
2. ``n_apps`` open applications (no end), each a driver and an executor
   stream of ``lines`` lines with 1 % error records (records of 50 lines);
3. as many lines again for the same applications (lines seen doubled,
   applications open unchanged);
4. ``n_apps`` more open applications (applications open doubled).

Target: at most 1 GiB with ``n_apps`` open.
"""

from __future__ import annotations

import json
import tempfile
import time
import urllib.request
import uuid

from kafka import KafkaProducer

from bench.worker import launch, stop, wait_log, worker_env
from sparktriage.delivery.topics import ensure_topics
from sparktriage.settings import Settings
from sparktriage.tools.broker import Broker, free_port
from tests.loggen import generate_log

PER_RECORD = 50


def _metric(port: int, name: str) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
    except OSError:
        return 0.0
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def rss_mib(pid: int) -> float:
    """Resident set size of process ``pid`` in MiB."""
    with open(f"/proc/{pid}/status") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return kib / 1024


def _send(producer: KafkaProducer, topic: str, first: int, count: int, lines: list[str]) -> int:
    """``lines`` of a driver and an executor stream for applications ``first`` .. ``first + count``."""
    sent = 0
    for n in range(first, first + count):
        app_id = f"application_1700000000000_{n:06d}"
        for container, role in (("c1", "driver"), ("c2", "executor")):
            for start in range(0, len(lines), PER_RECORD):
                producer.send(topic, key=app_id.encode(), value=json.dumps(
                    {"app_id": app_id, "container_id": container, "role": role,
                     "lines": lines[start:start + PER_RECORD]}).encode())
                sent += len(lines[start:start + PER_RECORD])
    producer.flush()
    return sent


def main(n_apps: int = 10_000, lines: int = 100) -> None:
    tag = uuid.uuid4().hex[:6]
    text = generate_log(lines, error_fraction=0.01, seed=5).split("\n")[:lines]
    figures = []
    with tempfile.TemporaryDirectory() as tmp, Broker(Settings(), port=free_port()) as broker:
        settings = Settings(bootstrap=broker.bootstrap, input_topic=f"mem-in-{tag}",
                            output_topic=f"mem-out-{tag}", dlq_topic=f"mem-dlq-{tag}", partitions=2)
        ensure_topics(settings)
        port = free_port()
        env = {**worker_env(broker, settings, tmp, f"mem-{tag}"), "SPARKTRIAGE_WORKER_WEB_PORT": str(port),
               "SPARKTRIAGE_INACTIVITY_TIMEOUT": "86400"}  # they stay open
        env.pop("SPARKTRIAGE_PRODUCER_MAX_BATCH_SIZE")  # a Tansu quirk for exact recovery; nothing recovers here
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=20, batch_size=256 * 1024)
        worker, log = launch(env, tmp)
        try:
            wait_log(worker, log, b"Worker]: Ready")
            time.sleep(2)
            figures.append(("started, nothing folded", 0, 0, rss_mib(worker.pid)))
            seen = 0
            for first, what in ((0, f"{n_apps:,} applications open"), (0, "as many lines again, same applications"),
                                (n_apps, f"{n_apps:,} more applications open")):
                seen += _send(producer, settings.input_topic, first, n_apps, text)
                deadline = time.monotonic() + 1800
                while _metric(port, "sparktriage_lines_folded_total") < seen and time.monotonic() < deadline:
                    time.sleep(1)
                time.sleep(3)  # the last checkpoints
                figures.append((what, first + n_apps if first else n_apps, seen, rss_mib(worker.pid)))
        finally:
            stop([worker])
            producer.close()
    print(f"worker memory (VmRSS), open applications of a driver and an executor stream each:")
    for what, open_apps, seen, rss in figures:
        print(f"  {what:42s} {open_apps:7,} open {seen:10,} lines seen  {rss:7.0f} MiB")
    print(f"  target: at most 1024 MiB with {n_apps:,} open")


if __name__ == "__main__":
    main()
