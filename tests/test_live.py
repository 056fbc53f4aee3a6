"""The checkpoint protocol of the worker's in-memory streams, through simulated crashes.

The worker acknowledges a record only after a checkpoint that contains it is
written; Kafka redelivers everything after the committed offset (the highest
offset below which everything is acknowledged). These tests play that
contract without a broker: crash anywhere, restart from the written
checkpoints and the committed offset, and the exception events must be
exactly those of a run without a crash: none lost, none twice, same lines.
"""

from __future__ import annotations

import copy
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.live import LiveStreams
from ingest.state import end_time
from sparktriage.records import Envelope
from tests.loggen import generate_log

APP = "application_1700000000000_0042"


def _records(seed: int, n_streams: int, lines: int) -> list[Envelope]:
    """Lines of ``n_streams`` containers interleaved at random on one partition."""
    rng = random.Random(seed)
    logs = [generate_log(lines, error_fraction=0.08, seed=seed * 7 + c).split("\n") for c in range(n_streams)]
    cursors = [0] * n_streams
    out = []
    while any(cursors[c] < len(logs[c]) for c in range(n_streams)):
        c = rng.choice([c for c in range(n_streams) if cursors[c] < len(logs[c])])
        out.append(Envelope(app_id=APP, text=logs[c][cursors[c]], container_id=f"container_{c}", role="executor"))
        cursors[c] += 1
    return out


class Worker:
    """What ``ingest.app`` does with checkpoints, with dicts for the tables."""

    def __init__(self, table: dict, events: list, max_pending: int, max_age: float) -> None:
        self.table, self.events, self.acked = table, events, set()
        self.live = LiveStreams(self.table.get, max_pending=max_pending, max_age=max_age)

    def _write(self, checkpoint) -> None:
        if checkpoint.write:
            self.events.extend(e.to_dict() for e in checkpoint.events)
            if checkpoint.stored is not None:
                self.table[checkpoint.key] = copy.deepcopy(checkpoint.stored)
            else:
                self.table.pop(checkpoint.key, None)
        self.acked.update(checkpoint.acks)

    def process(self, offset: int, env: Envelope, now: float) -> None:
        for checkpoint in self.live.fold(env, offset, 0, offset, now):
            self._write(checkpoint)

    def finish(self) -> None:
        keys = sorted({key for key in self.table} | {f"{APP}:1:container_{c}" for c in range(8)})
        for checkpoint in self.live.finish(APP, keys):
            self._write(checkpoint)

    def committed(self) -> int:
        offset = -1
        while offset + 1 in self.acked:
            offset += 1
        return offset


def _run(records: list[Envelope], crash_at: int | None, max_pending: int, max_age: float) -> list[dict]:
    table: dict = {}
    events: list = []
    worker = Worker(table, events, max_pending, max_age)
    start = 0
    if crash_at is not None:
        for offset in range(crash_at):
            worker.process(offset, records[offset], now=offset * 0.01)
        start = worker.committed() + 1  # what Kafka redelivers to the restarted worker
        worker = Worker(table, events, max_pending, max_age)  # memory gone; tables survive
    for offset in range(start, len(records)):
        worker.process(offset, records[offset], now=offset * 0.01)
    worker.finish()
    return events


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n_streams=st.integers(1, 4), crash=st.floats(0.0, 1.0),
       max_pending=st.sampled_from([1, 3, 50, 10_000]), max_age=st.sampled_from([0.0, 0.05, 1e9]))
def test_a_crash_anywhere_loses_and_repeats_no_event(seed, n_streams, crash, max_pending, max_age) -> None:
    records = _records(seed, n_streams, lines=120)
    expected = _run(records, None, max_pending, max_age)
    assert expected, "the generated logs carry exceptions"
    crash_at = int(crash * len(records))
    assert _run(records, crash_at, max_pending, max_age) == expected


def test_lines_are_acknowledged_only_through_checkpoints() -> None:
    records = _records(3, 2, lines=200)
    worker = Worker({}, [], max_pending=10_000, max_age=1e9)
    for offset, env in enumerate(records):
        worker.process(offset, env, now=0.0)
        checkpointed = {key: stored["offset"] for key, stored in worker.table.items()}
        # every acknowledged line is at or below its stream's written checkpoint
        for acked in worker.acked:
            key = records[acked].stream_key
            assert acked <= checkpointed[key]
    assert worker.live.pending() == len(records) - len(worker.acked)
    assert worker.acked, "closing an exception record checkpoints its stream"


def test_a_quiet_stream_is_checkpointed_after_max_age() -> None:
    worker = Worker({}, [], max_pending=10_000, max_age=2.0)
    quiet = Envelope(app_id=APP, text="24/03/12 10:11:13 INFO Executor: Running task 1.0", container_id="a")
    busy = Envelope(app_id=APP, text="24/03/12 10:11:14 INFO Executor: Running task 2.0", container_id="b")
    worker.process(0, quiet, now=0.0)
    worker.process(1, busy, now=1.0)
    assert worker.acked == set()
    worker.process(2, busy, now=2.5)  # the quiet stream's line waited 2.5 s
    assert 0 in worker.acked and 1 not in worker.acked
    assert worker.table[quiet.stream_key]["offset"] == 0


def test_max_pending_bounds_what_a_stream_holds_back() -> None:
    worker = Worker({}, [], max_pending=5, max_age=1e9)
    for offset in range(12):
        worker.process(offset, Envelope(app_id=APP, text=f"24/03/12 10:11:13 INFO X: line {offset}",
                                        container_id="a"), now=0.0)
    assert worker.acked == set(range(10))
    assert worker.live.pending() == 2


def test_an_application_always_has_an_end_time() -> None:
    """The record's own time, else its broker timestamp, else when it was received (the dashboards select by it)."""
    assert end_time(100.0, 200.0, 300.0) == 100.0
    assert end_time(None, 200.0, 300.0) == 200.0
    assert end_time(None, -1.0, 300.0) == 300.0  # Kafka's "no timestamp"
    assert end_time(None, None, 300.0) == 300.0
