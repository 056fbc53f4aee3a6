"""The worker's checkpoint protocol through crashes at every point, on the code the worker runs.

The worker (``ingest.app.Worker``) acknowledges a log line only after a
checkpoint that contains it is written (``ingest.live``), writes an ended
application's tombstone before deleting its streams, and skips what it
already applied when Kafka redelivers it. ``tests.worker_twin`` runs that
worker over in-memory changelogs, store and topics, and kills it right
before any one of its effects: whatever the point, the restarted worker must
store exactly the exception events and diagnoses of a run without a crash:
none lost, none twice, and publish every diagnosis at least once.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifiers.core import Classifier
from ingest.acks import InOrderAcks
from ingest.envelope import parse_envelope
from ingest.live import Checkpoint, LiveStreams, new_events
from ingest.state import AppState, end_time
from sparktriage.records import Envelope, ExceptionEvent
from sparktriage.settings import Settings
from tests.loggen import generate_log
from tests.packs import small_classifier
from tests.worker_twin import Fuse, Message, Partition, envelope, furthest_commit

APPS = [f"application_1700000000000_00{n}" for n in (41, 42, 43)]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Classifier:
    return small_classifier(tmp_path_factory.mktemp("rules"))


def stored_events(checkpoint: Checkpoint) -> list[ExceptionEvent]:
    """The events the worker stores of one checkpoint of a stream none of whose events are stored yet."""
    return new_events([checkpoint], lambda key: -1)


def _records(seed: int, n_apps: int, n_streams: int, lines: int,
             error_fraction: float = 0.08) -> list[tuple[bytes, bytes]]:
    """Lines of ``n_streams`` containers of each application interleaved at random; each application's
    ``app_end`` (FAILED) right after its last line."""
    rng = random.Random(seed)
    logs = {(a, c): generate_log(lines, error_fraction=error_fraction, seed=seed * 7 + a * 5 + c).split("\n")
            for a in range(n_apps) for c in range(n_streams)}
    cursors = dict.fromkeys(logs, 0)
    out = []
    while any(cursors[k] < len(logs[k]) for k in logs):
        a, c = rng.choice([k for k in logs if cursors[k] < len(logs[k])])
        out.append(envelope(APPS[a], logs[a, c][cursors[a, c]], container_id=f"container_{c}", role="executor"))
        cursors[a, c] += 1
        if all(cursors[a, s] == len(logs[a, s]) for s in range(n_streams)):
            out.append(envelope(APPS[a], event="app_end", status="FAILED"))
    return out


def _timeless(payload: bytes) -> str:
    """A published diagnosis without the moment it was made."""
    return json.dumps({k: v for k, v in json.loads(payload).items() if k != "diagnosed"}, sort_keys=True)


def _outcome(partition: Partition) -> dict:
    """What the outside world sees: the store, the published diagnoses (as a set), dead letters, the state left
    (the events each application holds as the worker reads them back, however they were batched into entries)."""
    store = partition.store
    worker = partition.worker(Fuse())
    return {
        "events": {key: [e.to_dict() for e in events] for key, events in store.events.items()},
        "diagnoses": {key: d.to_dict() for key, d in store.current.items()},
        "superseded": len(store.history),
        "published": sorted({_timeless(value) for _, value in partition.published}),
        "dead_letters": store.dead_letters,
        "open_streams": partition.changelogs["streams"],
        "stored_events": {app_id: [e.to_dict() for e in worker.stored_events(AppState.from_dict(json.loads(state)))]
                          for app_id, state in partition.changelogs["apps"].items()},
    }


def _expire_all(partition: Partition) -> dict[str, str]:
    """Every application's tombstone expired (an inactivity check past the timeout): what is left of the
    events table (nothing, or entries a crash orphaned)."""
    apps = sorted(partition.changelogs["apps"])
    partition.settings = partition.settings.replace(inactivity_timeout=0.0)
    partition.records = partition.records + [envelope(app_id, event="inactivity_check") for app_id in apps]
    assert partition.run()
    assert partition.changelogs["apps"] == {}
    return partition.changelogs["events"]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n_apps=st.integers(1, 3), n_streams=st.integers(1, 3),
       crashes=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=2), commit=st.sampled_from([0.0, 0.5, 1.0]),
       max_pending=st.sampled_from([1, 3, 50, 10_000]), max_age=st.sampled_from([0.0, 1e9]))
def test_a_crash_anywhere_loses_and_repeats_no_event(classifier, seed, n_apps, n_streams, crashes, commit,
                                                    max_pending, max_age) -> None:
    records = _records(seed, n_apps, n_streams, lines=60)
    clean = Partition(records, classifier, max_pending=max_pending, max_age=max_age)
    assert clean.run()
    expected = _outcome(clean)
    assert len(expected["diagnoses"]) == n_apps and expected["events"], "every application is diagnosed"
    assert expected["open_streams"] == {}, "an ended application leaves no open stream"
    # its events stay with its tombstone until that expires, for a late line to settle it again (ingest.app)
    assert sum(map(len, expected["stored_events"].values())) == sum(len(events) for events in expected["events"].values())
    crashed = Partition(records, classifier, max_pending=max_pending, max_age=max_age)
    for where in crashes:  # the second crash, if any, hits the restarted worker replaying
        crashed.run(crash_after=int(where * crashed.effects()), commit=commit)
    assert crashed.run()
    assert _outcome(crashed) == expected
    assert len(crashed.published) >= len(clean.published)  # at least once: a crash after sending repeats it
    assert _expire_all(crashed) == {}, "no events entry outlives its application, whatever a crash left"


def _every_crash_point(records: list[tuple[bytes, bytes]], classifier: Classifier, *, max_pending: int,
                       commit: float, dying: Callable[[], AbstractContextManager] = nullcontext) -> None:
    """A crash before each effect in turn (``dying``: how the worker that dies differs), then a replay: the
    outcome of a run without a crash, and nothing left once every application's tombstone expired."""
    clean = Partition(records, classifier, max_pending=max_pending)
    clean.run()
    expected = _outcome(clean)
    total = Partition(records, classifier, max_pending=max_pending).effects()
    for point in range(total):
        crashed = Partition(records, classifier, max_pending=max_pending)
        with dying():
            assert not crashed.run(crash_after=point, commit=commit)
        assert crashed.run()
        assert _outcome(crashed) == expected, f"crash before effect {point} of {total}"
        assert _expire_all(crashed) == {}, f"an events entry outlives its application: crash before effect {point}"


def test_a_crash_between_checkpoint_and_end_replays_to_the_same_result(classifier) -> None:
    """Every single crash point of a small run, in turn (the property above samples them)."""
    _every_crash_point(_records(11, 2, 2, lines=25), classifier, max_pending=3, commit=1.0)


def test_a_replay_that_batches_events_otherwise_leaves_no_entry_behind(classifier, monkeypatch) -> None:
    """Events are stored a batch per entry, keyed by the number of the first; a worker that dies between
    storing its batches and writing the state is replayed, and the replay may batch otherwise (here the dead
    worker stored every event alone, as entries of large events are): whatever it stepped over goes when
    the application's tombstone expires."""
    import ingest.state

    @contextmanager
    def one_event_per_entry() -> Iterator[None]:
        with monkeypatch.context() as patch:
            patch.setattr(ingest.state, "ENTRY_CHARS", 0)
            yield

    _every_crash_point(_records(11, 2, 2, lines=25, error_fraction=0.3), classifier, max_pending=10_000,
                       commit=0.0, dying=one_event_per_entry)


def test_lines_are_acknowledged_only_once_their_checkpoint_is_written(classifier) -> None:
    records = _records(3, 2, 2, lines=100)
    partition = Partition(records, classifier, max_pending=10_000, max_age=1e9)
    acked_lines = []

    def durable(message: Message) -> None:
        env = parse_envelope(message.key, message.value)
        if env.event is not None:
            return
        acked_lines.append(message.offset)
        stored = partition.changelogs["streams"].get(env.stream_key)
        ended = json.loads(partition.changelogs["apps"].get(env.app_id, "{}")).get("ended")
        assert ended or (stored is not None and json.loads(stored)["offset"] >= message.offset), \
            "an acknowledged line is in a written checkpoint, or its application's end is written"

    partition.on_ack = durable
    assert partition.run()
    assert len(acked_lines) == sum(1 for _, value in records if b'"line"' in value)


def test_a_quiet_stream_is_checkpointed_after_max_age() -> None:
    """With every other waiting stream of its partition: an application's events are stored in the order of
    their records whichever stream they come from."""
    live = LiveStreams(lambda key: None, max_pending=10_000, max_age=2.0)
    quiet = Envelope(app_id=APPS[0], text="24/03/12 10:11:13 INFO Executor: Running task 1.0", container_id="a")
    busy = Envelope(app_id=APPS[0], text="24/03/12 10:11:14 INFO Executor: Running task 2.0", container_id="b")
    other = Envelope(app_id=APPS[1], text="24/03/12 10:11:14 INFO Executor: Running task 2.0", container_id="b")
    assert live.fold(quiet, 0, 0, "line 0", now=0.0) == []
    assert live.fold(busy, 1, 0, "line 1", now=1.0) == []
    assert live.fold(other, 0, 1, "elsewhere", now=1.0) == []  # another partition's
    (due, also) = live.fold(busy, 2, 0, "line 2", now=2.5)  # the quiet stream's line waited 2.5 s
    assert (due.key, due.acks, due.stored["offset"], stored_events(due)) == (quiet.stream_key, ["line 0"], 0, [])
    assert (also.key, also.acks, also.stored["offset"]) == (busy.stream_key, ["line 1", "line 2"], 2)
    assert live.pending() == 1
    assert live.fold(busy, 3, 0, "line 3", now=3.0) == []
    assert live.stale(0, now=4.9) == [], "busy's line has waited 1.9 s"
    (due,) = live.stale(0, now=5.0)  # exactly max_age: due
    assert due.key == busy.stream_key
    (due,) = live.stale(1, now=5.0)
    assert due.key == other.stream_key


def test_max_pending_bounds_what_a_stream_holds_back() -> None:
    live = LiveStreams(lambda key: None, max_pending=5, max_age=1e9)
    acked = []
    for offset in range(12):
        env = Envelope(app_id=APPS[0], text=f"24/03/12 10:11:13 INFO X: line {offset}", container_id="a")
        due = live.fold(env, offset, 0, offset, now=0.0)
        assert all(stored_events(checkpoint) == [] for checkpoint in due), "INFO lines: nothing to write but the stream"
        acked += [ack for checkpoint in due for ack in checkpoint.acks]
    assert acked == list(range(10))
    assert live.pending() == 2


def test_a_replayed_line_is_acknowledged_without_being_folded_again() -> None:
    stored: dict = {}
    live = LiveStreams(stored.get, max_pending=1, max_age=1e9)
    env = Envelope(app_id=APPS[0], text="24/03/12 10:11:13 ERROR X: java.io.IOException: boom", container_id="a")
    (first,) = live.fold(env, 7, 0, "first", now=0.0)
    stored[first.key] = first.stored
    live.reset()  # a restart: the checkpoint is all that is left
    (again,) = live.fold(env, 7, 0, "again", now=0.0)
    assert (again.key, again.write, again.acks, stored_events(again)) == (first.key, False, ["again"], [])
    (later,) = live.fold(env, 8, 0, "later", now=0.0)
    assert later.write and later.stored["offset"] == 8


def test_an_application_always_has_an_end_time() -> None:
    """The record's own time, else its broker timestamp, else when it was received (the dashboards select by it)."""
    assert end_time(100.0, 200.0, 300.0) == 100.0
    assert end_time(None, 200.0, 300.0) == 200.0
    assert end_time(None, -1.0, 300.0) == 300.0  # Kafka's "no timestamp"
    assert end_time(None, None, 300.0) == 300.0


def test_a_stream_ended_after_a_restart_keeps_its_checkpointed_metadata() -> None:
    """Read before a restart, ended after it: the open record and the last lines come from the checkpoint,
    with the stream's attempt, container, role and host."""
    stored: dict = {}
    live = LiveStreams(stored.get, max_pending=1, max_age=1e9)
    env = Envelope(app_id=APPS[1], text="24/03/12 10:11:13 ERROR X: java.io.IOException: boom", attempt=2,
                   container_id="container_e1_1700000000000_0042_02_000003", host="node-3", role="executor")
    (first,) = live.fold(env, 4, 0, "first", now=0.0)
    stored[first.key] = first.stored
    live.reset()  # a restart: the checkpoint is all that is left
    (ended,) = live.finish(APPS[1], ["a stream never checkpointed", first.key])
    assert (ended.key, ended.stored, ended.acks) == (first.key, None, [])
    (event,) = stored_events(ended)
    assert event.exc_class == "java.io.IOException"
    for made in (event, ended.last):
        assert (made.app_id, made.attempt, made.container_id, made.role, made.host) == \
            (APPS[1], 2, "container_e1_1700000000000_0042_02_000003", "executor", "node-3")


def test_an_ended_stream_is_never_checkpointed_again() -> None:
    """Pending lines, then the end: the stream's tombstone is the last word; no later stale checkpoint
    brings it back. A stream that saw only replayed lines since a restart ends the same way."""
    stored: dict = {}
    live = LiveStreams(stored.get, max_pending=100, max_age=1.0)
    line = Envelope(app_id=APPS[2], text="24/03/12 10:11:13 INFO X: working", container_id="a")
    assert live.fold(line, 1, 0, "one", now=0.0) == []
    (ended,) = live.finish(APPS[2], [line.stream_key])
    assert (ended.stored, ended.acks) == (None, ["one"])
    assert live.stale(0, now=100.0) == [] and live.pending() == 0
    (written,) = LiveStreams(stored.get, max_pending=1).fold(line, 1, 0, "one", now=0.0)
    stored[written.key] = written.stored
    restarted = LiveStreams(stored.get, max_pending=100, max_age=1.0)
    (replayed,) = restarted.fold(line, 1, 3, "again", now=0.0)  # only a replayed line since the restart
    assert not replayed.write
    (ended,) = restarted.finish(APPS[2], [line.stream_key])
    assert ended.stored is None and restarted.stale(3, now=100.0) == []


def test_a_finished_record_is_written_with_its_checkpoint() -> None:
    """Its event waits with its lines for their checkpoint (not a table write per record that ends one),
    tagged with the offset of the record that closed it, unless it is wanted now (``due``)."""
    live = LiveStreams(lambda key: None, max_pending=100, max_age=2.0)
    error = Envelope(app_id=APPS[0], text="24/03/12 10:11:13 ERROR X: java.io.IOException: boom", container_id="a")
    after = Envelope(app_id=APPS[0], text="24/03/12 10:11:14 INFO X: carrying on", container_id="a")
    assert live.fold(error, 0, 0, "error", now=0.0) == []  # the record may go on
    assert live.fold(after, 1, 0, "after", now=1.0, record=41) == []  # it ended: its event waits with its lines
    (due,) = live.stale(0, now=2.0)
    assert [e.exc_class for e in stored_events(due)] == ["java.io.IOException"] and due.acks == ["error", "after"]
    assert (due.app_id, due.upto) == (APPS[0], 41)
    assert ([e.exc_class for e in new_events([due], lambda key: 40)], new_events([due], lambda key: 41)) == (
        ["java.io.IOException"], [])
    live.fold(error, 2, 0, "again", now=3.0)
    live.fold(after, 3, 0, "and after", now=3.0)
    assert live.due(["another stream"]) == []
    (now,) = live.due([after.stream_key])
    assert (now.upto, now.acks, len(stored_events(now))) == (3, ["again", "and after"], 1)
    assert live.due([after.stream_key]) == [] and live.stale(0, now=100.0) == [], "nothing left pending"


def test_a_checkpoint_from_before_tails_were_kept_still_resumes() -> None:
    """Checkpoints written before streams kept their last lines have no ``tail``: they resume with none."""
    stored: dict = {}
    env = Envelope(app_id=APPS[0], text="24/03/12 10:11:13 INFO X: working", container_id="a")
    (first,) = LiveStreams(stored.get, max_pending=1).fold(env, 3, 0, "first", now=0.0)
    stored[first.key] = {k: v for k, v in first.stored.items() if k != "tail"}
    (later,) = LiveStreams(stored.get, max_pending=1).fold(env, 4, 0, "later", now=0.0)
    assert later.stored["offset"] == 4 and later.stored["tail"] == [env.text]
    (ended,) = LiveStreams(stored.get).finish(APPS[0], [first.key])
    assert ended.last is None, "no tail kept: no last lines"


def test_the_streams_find_events_by_the_classifier_s_signals() -> None:
    """An INFO record that only a rule recognises is an event, folded live or flushed at the end."""
    from logtext.signals import Signals

    signals = Signals(words=("FailedScheduling",), matches=lambda text: "FailedScheduling" in text)
    line = "24/03/12 10:11:13 INFO Scheduler: FailedScheduling: 0/3 nodes are available"
    after = "24/03/12 10:11:14 INFO Scheduler: still waiting"
    live = LiveStreams(lambda key: None, max_pending=100, max_age=1e9, signals=signals)
    env = Envelope(app_id=APPS[0], text=line, container_id="a")
    assert live.fold(env, 0, 0, "one", now=0.0) == []
    live.fold(Envelope(app_id=APPS[0], text=after, container_id="a"), 1, 0, "two", now=0.0)
    (due,) = live.due([env.stream_key])
    assert [e.text for e in stored_events(due)] == [line]
    batched = LiveStreams(lambda key: None, max_pending=100, max_age=1e9, signals=signals)
    batched.fold(Envelope(app_id=APPS[0], text=f"{after}\n{line}\n{after}", container_id="a"), 0, 0, "b",
                 now=0.0)  # a shipper's batch of lines in one record
    (due,) = batched.due([env.stream_key])
    assert [e.text for e in stored_events(due)] == [line]
    ending = LiveStreams(lambda key: None, max_pending=100, max_age=1e9, signals=signals)
    ending.fold(env, 0, 0, "one", now=0.0)
    (ended,) = ending.finish(APPS[0], [env.stream_key])
    assert [e.text for e in stored_events(ended)] == [line]


class _Handle:
    """A record as ``InOrderAcks`` sees it: its partition and offset, and what acknowledging it did."""

    def __init__(self, partition: int, offset: int, acked: list[tuple[int, int]]) -> None:
        self.message = Message("spark-logs", partition, offset, None, b"")
        self.acked = acked

    def ack(self) -> None:
        self.acked.append((self.message.partition, self.message.offset))


@settings(max_examples=200, deadline=None)
@given(order=st.permutations(range(12)), partitions=st.integers(1, 3))
def test_records_are_acknowledged_in_offset_order_whatever_order_they_are_released(order, partitions) -> None:
    acked: list[tuple[int, int]] = []
    acks = InOrderAcks()
    handles = [_Handle(n % partitions, n // partitions, acked) for n in range(12)]
    for handle in handles:
        acks.take(handle)
    for n in order:
        acks.release(handles[n])
        for partition in range(partitions):
            offsets = [offset for p, offset in acked if p == partition]
            released = {handles[m].message.offset for m in order[:order.index(n) + 1] if m % partitions == partition}
            assert offsets == list(range(len(offsets))), "oldest first, no gap"
            assert offsets == sorted(offsets) and set(offsets) <= released
            assert len(offsets) == next(k for k in range(len(released) + 1) if k not in released), \
                "acknowledged exactly up to the first record not released"
    assert acks.held() == 0 and len(acked) == 12


def test_a_record_taken_before_a_rebalance_is_never_acknowledged() -> None:
    """Its partition is read again from the committed offset: the same offset comes again as a new record."""
    acked: list[tuple[int, int]] = []
    acks = InOrderAcks()
    old = _Handle(0, 5, acked)
    acks.take(old)
    acks.reset()
    again = _Handle(0, 5, acked)
    acks.take(again)
    acks.release(old)
    assert acked == [] and acks.held() == 1
    acks.release(again)
    assert acked == [(0, 5)]


def test_the_twin_commits_as_faust_does_with_acknowledgements_out_of_order() -> None:
    """Nothing committed yet: the first run of acknowledged offsets, wherever it starts; later, past a gap of one."""
    assert furthest_commit(-1, {3, 4, 5}) == 5
    assert furthest_commit(-1, {0, 1, 3, 4}) == 4  # 2 was never acknowledged
    assert furthest_commit(9, {11, 12}) == 12  # the gap of one at 10
    assert furthest_commit(9, {12, 13}) == 9
    assert furthest_commit(9, {10, 11}) == 11


def test_a_stall_check_stores_the_events_its_streams_hold_back_before_the_early_notice(classifier) -> None:
    """Events wait in memory for their stream's checkpoint; an early notice reads the stored ones, so the
    stall check writes the application's checkpoints first (and acknowledges their lines)."""
    app, driver = APPS[0], {"container_id": "container_e1_1700000000000_0041_01_000001", "role": "driver"}
    records = [envelope(app, "24/03/12 10:11:12 ERROR SparkContext: java.lang.OutOfMemoryError: Java heap space",
                        **driver),
               envelope(app, "24/03/12 10:11:13 WARN YarnScheduler: Initial job has not accepted any resources",
                        **driver),
               envelope(app, event="stall_check")]
    partition = Partition(records, classifier, Settings(stall_timeout=0.0), max_pending=10_000, max_age=1e9)
    assert partition.run(), "every line acknowledged: the check wrote their checkpoint"
    (notice,) = [json.loads(value) for _, value in partition.published]
    assert (notice["provisional"], notice["category"]) == (True, "driver_oom")
    assert len(partition.changelogs["events"]) == 1, "the closed record's event; the warning's record is still open"


def test_a_partition_s_oldest_waiting_line_past_max_age_makes_it_quiet() -> None:
    """What the timer asks a check record for: each partition whose oldest pending line is ``max_age`` old,
    with that line's application (the check's key) and arrival (asked once per arrival)."""
    live = LiveStreams(lambda key: None, max_pending=10_000, max_age=2.0)
    first = Envelope(app_id=APPS[0], text="24/03/12 10:11:13 INFO Executor: Running task 1.0", container_id="a")
    later = Envelope(app_id=APPS[1], text="24/03/12 10:11:14 INFO Executor: Running task 2.0", container_id="b")
    live.fold(first, 0, 0, "first", now=10.0)
    live.fold(later, 1, 0, "later", now=11.0)
    elsewhere = Envelope(app_id=APPS[2], text="24/03/12 10:11:15 INFO Executor: Running task 3.0", container_id="c")
    live.fold(elsewhere, 0, 2, "elsewhere", now=11.5)
    assert live.quiet(11.9) == {}
    assert live.quiet(12.0) == {0: (APPS[0], 10.0)}, "exactly max_age: quiet"
    assert live.quiet(13.5) == {0: (APPS[0], 10.0), 2: (APPS[2], 11.5)}
    (checkpoint, _) = live.stale(0, now=13.5)
    assert checkpoint.acks == ["first"] and live.quiet(13.5) == {2: (APPS[2], 11.5)}


def test_a_checkpoint_check_stores_a_quiet_partition_s_events_and_acknowledges_its_lines(classifier) -> None:
    """The last lines of a running application, then the check the timer sends to their partition: the
    closed record's event is stored and every line acknowledged, with no end and no other record."""
    app, executor = APPS[0], {"container_id": "container_e1_1700000000000_0041_01_000002"}
    records = [envelope(app, "24/03/12 10:11:12 ERROR Executor: Exception in task 1.0", **executor),
               envelope(app, "java.io.IOException: disk gone", **executor),
               envelope(app, "24/03/12 10:11:13 INFO Executor: Finished task 2.0", **executor),
               envelope(app, event="checkpoint_check")]
    partition = Partition(records, classifier, max_pending=10_000, max_age=1e-9)  # due once a record later
    assert partition.run(), "every line acknowledged: the check wrote their checkpoint"
    assert [e["exc_class"] for e in _outcome(partition)["stored_events"][app]] == ["java.io.IOException"]
    assert partition.published == [] and partition.store.dead_letters == [], "nothing settled, nothing refused"


def _batched(records: list[tuple[bytes, bytes]], per: int) -> list[tuple[bytes, bytes]]:
    """The same lines, up to ``per`` consecutive lines of one stream per record (``lines``), each application's
    end after its last batch."""
    out, streams = [], {}
    for key, value in records:
        body = json.loads(value)
        if "line" not in body:
            for (app, container), lines in list(streams.items()):
                if app == body["app_id"]:
                    out.append(envelope(app, None, container_id=container, role="executor", lines=lines))
                    del streams[app, container]
            out.append((key, value))
            continue
        lines = streams.setdefault((body["app_id"], body["container_id"]), [])
        lines.append(body["line"])
        if len(lines) == per:
            out.append(envelope(body["app_id"], None, container_id=body["container_id"], role="executor", lines=lines))
            del streams[body["app_id"], body["container_id"]]
    return out


@pytest.mark.parametrize("per", [1, 7, 100])
def test_events_held_until_the_checkpoint_give_the_state_of_a_checkpoint_per_record(classifier, per: int) -> None:
    """Whether a stream is checkpointed after every record (its events stored at once) or only at the end
    (its events held in memory until then), the same lines store the same events and diagnoses."""
    records = _batched(_records(5, 2, 3, lines=300, error_fraction=0.05), per)
    every = Partition(records, classifier, max_pending=1, max_age=0.0)
    held = Partition(records, classifier, max_pending=10_000, max_age=1e9)
    assert every.run() and held.run()
    assert _outcome(held) == _outcome(every)
    assert len(_outcome(held)["events"]) == 2 and sum(map(len, _outcome(held)["events"].values())) > 20


def test_events_are_stored_in_entries_of_bounded_size_and_one_event_entries_are_still_read(classifier) -> None:
    """A batch of events is one ``events`` entry up to ``ENTRY_CHARS`` of text (a changelog record stays
    well under Kafka's message size; a larger event is an entry alone); an entry holding one event's dict,
    as the worker stored each event before, reads as that event."""
    from ingest.state import ENTRY_CHARS

    worker = Partition([], classifier).worker(Fuse())
    state = AppState(app_id="a")
    old = ExceptionEvent(app_id="a", text="ERROR before", line=1)
    worker.events["a#0"] = old.to_dict()
    state.n_events = 1
    big = ExceptionEvent(app_id="a", text="E" * (ENTRY_CHARS + 1), line=2)
    small = [ExceptionEvent(app_id="a", text=f"ERROR {n}" + "x" * (ENTRY_CHARS // 3), line=3 + n) for n in range(4)]
    worker.add_events(state, [big, *small])
    assert [len(v) if isinstance(v, list) else "one" for v in worker.events.memory.values()] == ["one", 1, 2, 2]
    assert list(worker.events.memory) == ["a#0", "a#1", "a#2", "a#4"]
    assert worker.stored_events(state) == [old, big, *small]
