"""From ``sparktriage worker`` starting to its first record consumed, fresh and after a SIGKILL (issue 17).

Side by side on the embedded broker, in one run:

1. the broker's group join: a kafka-python consumer in a new group (the same
   6 s session timeout; Tansu makes a join wait half of it) from subscribing
   to its first record: the yardstick;
2. a fresh worker (empty data dir) on a topic that holds one record: from the
   process start to its log's "first record consumed";
3. the same worker after it folded one line of each of ``n_apps`` applications
   (its tables hold them all, RocksDB under its data dir on local disk) and
   was killed with SIGKILL: the restart, from the process start to the first
   record consumed.

Target: each start at most the group join + 3 s. A worker killed with
SIGKILL stays a member of its group until its session expires, and the
broker's join waits for it: the join of a consumer that replaces a killed
one in its group (kafka-python, in a process of its own) is printed too,
the yardstick of what the restart cannot avoid.

The workers keep their compiled rules in the run's own cache folder, filled
before the first start: a start is measured as it is whenever the packs did
not change (the shared cache under the home directory is pruned by whatever
else runs on the machine, and a start that compiles the rules measures that).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer

from bench.worker import first_seen, launch, worker_env
from classifiers.core import load_classifier
from sparktriage.delivery.topics import ensure_topics
from sparktriage.settings import Settings
from sparktriage.tools.broker import Broker, free_port

LINE = "24/03/12 10:11:12 INFO Executor: Running task 3.0 in stage 7.0 (TID 41)"


def _join(bootstrap: str, topic: str) -> float:
    """Seconds from a new group's consumer subscribing to its first record."""
    t0 = time.perf_counter()
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"join-{uuid.uuid4().hex[:6]}",
                             auto_offset_reset="earliest", session_timeout_ms=6000, heartbeat_interval_ms=2000)
    try:
        while not consumer.poll(timeout_ms=100):
            pass
        return time.perf_counter() - t0
    finally:
        consumer.close()


#: a consumer in group argv[3] that prints the seconds from its subscription to its first record, commits,
#: and waits to be killed
_MEMBER = """
import sys, time
from kafka import KafkaConsumer
t0 = time.perf_counter()
consumer = KafkaConsumer(sys.argv[2], bootstrap_servers=sys.argv[1], group_id=sys.argv[3],
                         auto_offset_reset="earliest", session_timeout_ms=6000, heartbeat_interval_ms=2000)
while not consumer.poll(timeout_ms=100):
    pass
print(f"{time.perf_counter() - t0:.3f}", flush=True)
consumer.commit()
time.sleep(3600)
"""


def _join_after_kill(bootstrap: str, topic: str, send: Any) -> float:
    """Seconds from a consumer subscribing to its first record, in a group whose one member (on the same
    topic) was killed with SIGKILL just before: what the broker's join costs a restarted worker."""
    group = f"killed-{uuid.uuid4().hex[:6]}"

    def member() -> tuple[subprocess.Popen[str], float]:
        proc = subprocess.Popen([sys.executable, "-c", _MEMBER, bootstrap, topic, group], stdout=subprocess.PIPE,
                                text=True)
        assert proc.stdout is not None
        return proc, float(proc.stdout.readline())

    first, _ = member()
    time.sleep(3)  # a heartbeat or two, as a worker that ran a while
    first.kill()
    first.wait()
    send()  # a record after the committed offset
    second, seconds = member()
    second.kill()
    second.wait()
    return seconds


def _folded(port: int) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as answer:
            text = answer.read().decode()
    except OSError:
        return 0.0
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("sparktriage_lines_folded_total"))


def _start(env: dict[str, str], folder: str) -> tuple[float, object]:
    """Seconds from starting a worker process to its first record consumed."""
    log = Path(folder) / "worker.log"
    if log.exists():
        log.rename(log.with_suffix(f".{time.time():.0f}"))
    t0 = time.perf_counter()
    proc, log = launch(env, folder)
    return first_seen([(proc, log)], b"first record consumed", timeout=900) - t0, proc


def main(n_apps: int = 100_000) -> None:
    tag = uuid.uuid4().hex[:6]
    with tempfile.TemporaryDirectory() as tmp, Broker(Settings(), port=free_port()) as broker:
        settings = Settings(bootstrap=broker.bootstrap, input_topic=f"restart-in-{tag}",
                            output_topic=f"restart-out-{tag}", dlq_topic=f"restart-dlq-{tag}", partitions=2)
        ensure_topics(settings)
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=20, batch_size=256 * 1024)

        def send(n: int) -> None:
            app_id = f"application_1700000000000_{n:06d}"
            producer.send(settings.input_topic, key=app_id.encode(),
                          value=json.dumps({"app_id": app_id, "line": LINE, "container_id": "c1"}).encode())

        send(0)
        producer.flush()
        join = min(_join(broker.bootstrap, settings.input_topic) for _ in range(3))
        join_after_kill = _join_after_kill(broker.bootstrap, settings.input_topic, lambda: (send(0), producer.flush()))
        port = free_port()
        env = {**worker_env(broker, settings, tmp, f"restart-{tag}"), "SPARKTRIAGE_WORKER_WEB_PORT": str(port),
               "SPARKTRIAGE_RULES_CACHE": f"{tmp}/rules-cache"}
        load_classifier(settings.replace(rules_cache=env["SPARKTRIAGE_RULES_CACHE"]))  # compiled once, kept
        fresh, worker = _start(env, tmp)
        for n in range(1, n_apps):
            send(n)
        producer.flush()
        deadline = time.monotonic() + 3600
        while _folded(port) < n_apps and time.monotonic() < deadline:
            time.sleep(1)
        time.sleep(5)  # the streams' checkpoints (2 s) and a commit of the offsets
        worker.send_signal(signal.SIGKILL)  # type: ignore[attr-defined]
        worker.wait()  # type: ignore[attr-defined]
        send(n_apps)
        producer.flush()
        restart, worker = _start(env, tmp)
        worker.terminate()  # type: ignore[attr-defined]
        worker.wait(60)  # type: ignore[attr-defined]
        producer.close()
    print("worker start, process start -> first record consumed (RocksDB tables on local disk):")
    print(f"  group join of a new consumer (yardstick)  {join:6.2f} s")
    print(f"  fresh worker                              {fresh:6.2f} s  (target <= {join + 3:.2f} s)")
    print(f"  after SIGKILL, {n_apps:,} applications      {restart:6.2f} s  (target <= {join + 3:.2f} s)")
    print(f"  group join replacing a SIGKILLed member   {join_after_kill:6.2f} s  "
          f"(after SIGKILL: its join + 3 s = {join_after_kill + 3:.2f} s)")


if __name__ == "__main__":
    main()
