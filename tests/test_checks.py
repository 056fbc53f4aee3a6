"""The quiet-application timer and the open-applications gauge read an index of the ``apps`` table kept in
memory (``ingest.checks``), not the table at every tick: after a restart it must still find the
applications the tables recovered, and it must follow every write the agent makes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from classifiers.core import Classifier
from ingest.app import Worker
from ingest.envelope import parse_envelope
from sparktriage.settings import Settings
from tests.packs import small_classifier
from tests.worker_twin import Fuse, Partition, envelope

OPEN, ENDED = "application_1700000000000_0061", "application_1700000000000_0062"
LINE = "24/03/12 10:11:12 INFO Executor: Running task 3.0 in stage 7.0 (TID 41)"


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Classifier:
    return small_classifier(tmp_path_factory.mktemp("rules"))


def _asked(worker: Worker) -> list[tuple[str, str]]:
    """The check records the timers sent to the agent: (app id, check)."""
    return sorted((key.decode(), json.loads(value)["event"]) for key, value in worker.checks.logs.records)  # type: ignore[attr-defined]


def _restarted(classifier: Classifier, timeout: float) -> tuple[Partition, Worker]:
    """Two applications folded by a worker that then died: one still open, one ended (its tombstone kept);
    a new worker over the changelogs, whose inactivity timeout is ``timeout``."""
    partition = Partition([envelope(OPEN, LINE, container_id="c1"), envelope(ENDED, LINE, container_id="c1"),
                           envelope(ENDED, event="app_end", status="FAILED")], classifier,
                          max_age=0.0)  # the open stream checkpointed by the next record: every record acknowledged
    assert partition.run()
    partition.settings = Settings(inactivity_timeout=timeout)
    return partition, partition.worker(Fuse())


def _recover(worker: Worker) -> None:
    """The assignment's recovery over, and the index's read of the table it starts, to its end."""
    async def recovered() -> None:
        await worker.on_recovered(None)  # type: ignore[arg-type]
        assert worker.index.filling is not None
        await worker.index.filling

    asyncio.run(recovered())


def test_after_a_restart_the_timer_finds_the_applications_the_tables_recovered(classifier: Classifier) -> None:
    _, worker = _restarted(classifier, timeout=0.0)
    asyncio.run(worker.checks.look_for_quiet_applications())
    assert _asked(worker) == [] and worker.index.open_count() is None, "nothing before the recovery is over"
    _recover(worker)
    assert worker.index.open_count() == 1
    asyncio.run(worker.checks.look_for_quiet_applications())
    assert _asked(worker) == [(OPEN, "inactivity_check"), (ENDED, "inactivity_check")]


def test_the_index_follows_the_agents_writes_without_reading_the_table_again(classifier: Classifier) -> None:
    _, worker = _restarted(classifier, timeout=3600.0)
    _recover(worker)
    assert worker.index.open_count() == 1

    def unread(*_: Any) -> Any:
        raise AssertionError("the table read again")

    worker.apps.items = unread  # type: ignore[method-assign]
    state, _ = worker.state_of(OPEN)
    state.last_seen, state.ended = 0.0, "FAILED"
    worker.save(state)
    assert worker.index.open_count() == 0, "an end written by the agent is counted at once"
    asyncio.run(worker.checks.look_for_quiet_applications())
    assert _asked(worker) == [(OPEN, "inactivity_check")], "quiet as of what was written last"
    worker.expire(state)
    assert OPEN not in worker.index.entries


def test_a_rebalance_forgets_the_index_until_the_new_assignment_is_recovered(classifier: Classifier) -> None:
    _, worker = _restarted(classifier, timeout=0.0)
    _recover(worker)
    assert worker.index.open_count() == 1
    asyncio.run(worker.forget_open_streams(None, set()))  # type: ignore[arg-type]
    assert worker.index.open_count() is None and not worker.index.entries
    asyncio.run(worker.checks.look_for_quiet_applications())
    assert _asked(worker) == []


def test_the_index_reads_the_table_a_slice_at_a_time_beside_the_agent(classifier: Classifier,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """After a restart the index reads the table between turns of the event loop (records are consumed
    meanwhile): with 100,000 applications, read at once, it held the first record for seconds."""
    _, worker = _restarted(classifier, timeout=3600.0)
    monkeypatch.setattr("ingest.checks.FILL_SLICE", 1)

    async def recovered() -> tuple[bool, int]:
        await worker.on_recovered(None)  # type: ignore[arg-type]
        await asyncio.sleep(0)  # the loop's turn: the read took one application so far
        midway = worker.index.ready(), len(worker.index.entries)
        assert worker.index.filling is not None
        await worker.index.filling
        return midway

    assert asyncio.run(recovered()) == (False, 1)
    assert worker.index.open_count() == 1


@pytest.mark.parametrize("change", ["write", "drop"])
def test_what_the_agent_writes_while_the_index_reads_the_table_wins(classifier: Classifier, change: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The table's iterator reads the table as it was when the read began: an application the agent
    wrote or dropped meanwhile keeps what the agent did (a dropped one read back would be asked about
    as quiet, and come back as a new, empty application)."""
    _, worker = _restarted(classifier, timeout=3600.0)
    monkeypatch.setattr("ingest.checks.FILL_SLICE", 1)

    async def recovered() -> None:
        await worker.on_recovered(None)  # type: ignore[arg-type]
        await asyncio.sleep(0)
        assert list(worker.index.entries) == [OPEN], "the ended application not read yet"
        state, _ = worker.state_of(ENDED)
        if change == "write":
            state.last_seen = 12345.0
            worker.save(state)
        else:
            worker.expire(state)
        assert worker.index.filling is not None
        await worker.index.filling

    asyncio.run(recovered())
    if change == "write":
        assert worker.index.entries[ENDED].last_seen == 12345.0
    else:
        assert ENDED not in worker.index.entries
    assert worker.index.ready()


def test_a_partition_whose_lines_wait_is_sent_one_checkpoint_check_per_waiting_line(classifier: Classifier) -> None:
    """The timer asks the agent to checkpoint a partition no record came to since its oldest pending line
    is ``max_age`` old: on that partition (table writes go to the record's partition), once per line."""
    worker = Partition([], classifier).worker(Fuse())
    worker.live.max_age = 1.0  # the timer reads the monotonic clock: long past the lines folded "at" 0 and 6
    worker.live.fold(parse_envelope(None, envelope(OPEN, LINE, container_id="c1")[1]), 5, 2, "line", now=0.0)
    asyncio.run(worker.checks.checkpoint_quiet_partitions())
    asyncio.run(worker.checks.checkpoint_quiet_partitions())  # the check is on its way: not sent again
    assert _asked(worker) == [(OPEN, "checkpoint_check")] and worker.checks.logs.partitions == [2]  # type: ignore[attr-defined]
    worker.commit(worker.live.stale(2, now=5.0))  # what the check does when the agent takes it
    worker.live.fold(parse_envelope(None, envelope(OPEN, LINE, container_id="c1")[1]), 6, 2, "next", now=6.0)
    asyncio.run(worker.checks.checkpoint_quiet_partitions())
    assert worker.checks.logs.partitions == [2, 2], "a later line waiting: asked again"  # type: ignore[attr-defined]
