"""One-line records end to end: through ``sparktriage repack`` into the worker, against straight into it.

The same generated lines of ten applications (``bench.worker``'s, one line
per record, the containers interleaved, an ``app_end`` each) are produced
onto a two-partition topic. Then, side by side in one run:

1. one ``sparktriage worker`` reading that topic: lines/s from its first
   record consumed to the last diagnosis on the output topic;
2. the same worker set up on a second topic, idle, and ``sparktriage repack``
   started on the one-line topic: lines/s from the stage's partitions
   assigned (it reads from the start) to the last diagnosis. Both processes
   share the machine's two cores with the broker.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer

from bench.worker import (PARTITIONS, _produce, _records, _wait_keys, app_ids, first_seen, launch, run_workers, stop,
                          wait_log, worker_env)
from sparktriage.delivery.topics import ensure_topics
from sparktriage.settings import Settings
from sparktriage.tools.broker import Broker, free_port


def _through_repack(broker: Broker, one: Settings, tmp: str, keys: set[bytes], lines: int) -> float:
    """Lines/s from ``repack`` reading ``one.input_topic`` to the last of ``keys`` diagnosed by a worker
    reading what it sends."""
    tag = uuid.uuid4().hex[:6]
    behind = one.replace(input_topic=f"bench-repacked-{tag}")
    ensure_topics(behind)
    out = KafkaConsumer(one.output_topic, bootstrap_servers=broker.bootstrap, auto_offset_reset="latest",
                        group_id=None)
    out.poll(timeout_ms=500)
    env = worker_env(broker, behind, f"{tmp}/w-{tag}", f"bench-{tag}")
    env.pop("SPARKTRIAGE_PRODUCER_MAX_BATCH_SIZE")  # nothing recovers here: changelog writes batched
    worker, log = launch(env, f"{tmp}/w-{tag}")
    procs = [worker]
    try:
        wait_log(worker, log, b"Worker]: Ready")
        folder = Path(f"{tmp}/r-{tag}")
        folder.mkdir()
        stage_log = folder / "repack.log"
        with open(stage_log, "ab") as fh:
            stage = subprocess.Popen([sys.executable, "-m", "sparktriage.cli", "repack"], stdout=fh,
                                     stderr=subprocess.STDOUT,
                                     env={**env, "SPARKTRIAGE_REPACK_TOPIC": one.input_topic,
                                          "SPARKTRIAGE_REPACK_GROUP": f"repack-{tag}"})
        procs.append(stage)
        start = first_seen([(stage, stage_log)], b"sparktriage.repack: repacking [")
        _wait_keys(out, set(keys), timeout=1800)
        return lines / (time.perf_counter() - start)
    finally:
        out.close()
        stop(procs)


def main(n_apps: int = 10, lines_per_app: int = 10_000) -> None:
    tag = uuid.uuid4().hex[:6]
    ids = app_ids(n_apps)
    keys = {a.encode() for a in ids}
    with tempfile.TemporaryDirectory() as tmp, Broker(Settings(), port=free_port()) as broker:
        one = Settings(bootstrap=broker.bootstrap, input_topic=f"bench-lines-{tag}",
                       output_topic=f"bench-out-{tag}", dlq_topic=f"bench-dlq-{tag}", partitions=PARTITIONS)
        ensure_topics(one)
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=20, batch_size=256 * 1024)
        apps = [_records(a, lines_per_app, n) for n, a in enumerate(ids)]
        records = [r for group in zip(*apps) for r in group] + [r for a in apps for r in a[len(apps[0]):]]
        _produce(producer, one.input_topic, records)
        producer.close()
        straight = run_workers(broker, one, tmp, 1, keys, len(records)).rate
        repacked = _through_repack(broker, one, tmp, keys, len(records))
        load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"one-line records end to end: {len(records):,} records ({n_apps} applications, {PARTITIONS} partitions), "
          f"side by side:")
    print(f"  straight to the worker        {straight:12,.0f} lines/s")
    print(f"  through repack -> worker      {repacked:12,.0f} lines/s  -> {repacked / straight:.2f} x straight "
          f"(both processes on the same cores as the broker; {load})")


if __name__ == "__main__":
    main()
