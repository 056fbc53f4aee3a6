"""A rebalance loses no input record: each one a worker keeps or takes over is handed to its agent.

faust seeks the partitions of a rebalance to their committed offsets and only then resumes the streams'
flow, which empties every agent's queue; records fetched in between were thrown away while the fetch
position had moved past them (``ingest.rewind``). Two processes of ``tests.rebalance_app`` on the
worker's app and consumer, the second joining while the first reads: every record of both partitions
must reach one of their agents. Without the hold-back in ``ingest.rewind`` the one that kept a
partition skipped the records it fetched during its seek (a third to a half of them here).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from kafka import KafkaProducer

from sparktriage.delivery.topics import ensure_topics
from sparktriage.settings import Settings
from sparktriage.tools.broker import Broker
from tests.test_worker_integration import Child

pytestmark = [pytest.mark.broker, pytest.mark.slow]
PARTITIONS = 2
RECORDS = 1500  # per partition: the first process is still reading when the second joins


class _Reader(Child):
    """A ``tests.rebalance_app`` process: what its agent was handed, read from its output."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "tests.rebalance_app"], env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT)

    def handed(self) -> set[tuple[int, int]]:
        text = self.log.read_text() if self.log.exists() else ""
        return {(int(p), int(o)) for p, o in re.findall(r"HANDED (\d+) (\d+)", text)}

    def alive(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.log} exited ({self.proc.returncode}):\n{self.log.read_text()[-3000:]}")


def _wait(check, timeout: float, *readers: _Reader) -> None:
    """Until ``check()`` or ``timeout`` seconds, whichever comes first; a reader that exits fails the test."""
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        for reader in readers:
            reader.alive()
        time.sleep(0.2)


def test_every_record_reaches_an_agent_across_a_rebalance(broker: Broker, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    env = {**os.environ, "SPARKTRIAGE_BOOTSTRAP": broker.bootstrap, "SPARKTRIAGE_INPUT_TOPIC": f"rw-{tag}",
           "SPARKTRIAGE_GROUP": f"g-{tag}", "SPARKTRIAGE_PARTITIONS": str(PARTITIONS),
           "SPARKTRIAGE_SESSION_TIMEOUT": "6"}
    ensure_topics(Settings(bootstrap=broker.bootstrap, input_topic=env["SPARKTRIAGE_INPUT_TOPIC"],
                           partitions=PARTITIONS, output_topic=f"rw-out-{tag}", dlq_topic=f"rw-dlq-{tag}"))
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    for n in range(RECORDS):
        for partition in range(PARTITIONS):
            producer.send(env["SPARKTRIAGE_INPUT_TOPIC"], value=b"%d" % n, partition=partition)
    producer.flush()
    producer.close()
    readers = [_Reader({**env, "SPARKTRIAGE_DATA_DIR": str(tmp_path / name)}, tmp_path / f"{name}.log")
               for name in ("a", "b")]
    a, b = readers
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    everything = {(p, o) for p in range(PARTITIONS) for o in range(RECORDS)}
    try:
        a.start()
        _wait(lambda: len(a.handed()) >= RECORDS // 5, 120, a)
        assert len(a.handed()) >= RECORDS // 5, "the first reader's agent was handed records"
        b.start()  # joins the group: the first keeps one partition, gives the other up, both seek
        _wait(lambda: not everything - a.handed() - b.handed(), 90, a, b)
        missing = everything - a.handed() - b.handed()
        assert not missing, f"{len(missing)} records reached no agent, (partition, offset) {min(missing)} to {max(missing)}"
    finally:
        for reader in readers:
            reader.stop()
