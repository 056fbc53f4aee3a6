"""Open container streams in memory, checkpointed to the changelog in batches.

Writing a stream's assembler to its changelog-backed table on every line made
the changelog the worker's bottleneck (one produce per log line). Here each
stream's assembler lives in memory and is written only at a *checkpoint*:
when ``max_pending`` records have arrived since the last one, when a stream
has waited ``max_age`` seconds (seen at the next record of its partition, or
at a check record a timer sends a partition gone quiet: :meth:`LiveStreams.quiet`),
or when the application ends. The exception
events its closed records yield wait in memory with its lines and are
written with its checkpoint: a record of a hundred lines usually closes an
event, and writing the stream, the application's state and the event for
each such record made three table writes (each a changelog produce) per
record; now a stream's events cost one write each and its checkpoint one per
``max_age``. Each event keeps the input offset of the record it came from, so
the worker stores only those after the offset up to which the stream's
events are stored (``AppState.events_at``): a crash between storing events
and writing the checkpoint replays their records, and they are not stored twice.

The rule that keeps this exactly-once in effect: a record is acknowledged
only after a checkpoint that contains it has been written. Lines since the
last checkpoint stay unacknowledged, so Kafka redelivers them after a crash
or a rebalance, and they are folded again into the state of that checkpoint;
lines at or below a stream's checkpointed offset are already in it and are
skipped. A repacked record (``sparktriage repack``) counts its lines by the
offsets they had on the repacking stage's input (``Envelope.source``) instead
of its own: lines at or below the stream's last folded input offset are
dropped, so a batch the stage sent again after a crash folds nothing twice.
Nothing here touches faust or Kafka: ``ingest.app`` writes each
:class:`Checkpoint` to its tables and then acknowledges its ``acks``, and
the tests drive the same protocol through simulated crashes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ingest.batch import batch_events
from ingest.state import assembler_from, events_from_records
from logtext.assembly import Assembler
from logtext.lastlines import Tail, tail_event
from logtext.shapes import Shapes
from logtext.signals import DEFAULT_SIGNALS, Signals
from sparktriage.records import Envelope, ExceptionEvent, Source

#: Lines a stream may hold unacknowledged before it is checkpointed anyway.
MAX_PENDING = 500
#: Seconds a line may wait unacknowledged (Kafka's commit lags by at most this).
MAX_AGE = 2.0
#: Stretches whose shapes are kept (``logtext.shapes``), each about its own text's size: tens of MiB at most.
MAX_SHAPES = 4096


@dataclass
class Checkpoint:
    """Store the events ``found`` (those ``new_events`` keeps), write ``stored`` (None: delete the stream),
    then acknowledge ``acks``."""

    key: str
    stored: dict[str, Any] | None
    found: list[tuple[int | None, ExceptionEvent]]  # each with its record's input offset (None: made at the end)
    acks: list[Any]
    write: bool = True  # False: nothing new to write (a replayed record), only acknowledge
    last: ExceptionEvent | None = None  # when the stream closes: its last lines (logtext.lastlines)
    position: tuple[int | None, int] = (None, -1)  # when the stream closes: its (source, offset)
    app_id: str = ""

    @property
    def upto(self) -> int:
        """The highest input offset of a record whose events are here (-1: none)."""
        return max((offset for offset, _ in self.found if offset is not None), default=-1)


def new_events(checkpoints: list[Checkpoint], stored_upto: Callable[[str], int]) -> list[ExceptionEvent]:
    """The events of one application's checkpoints not stored yet (``stored_upto``: per stream key, the
    input offset up to which its events are), in the order a write per record would have stored them:
    by the offset of the record that closed them, then those its end made, stream by stream."""
    tagged = [(offset, event) for checkpoint in checkpoints for offset, event in checkpoint.found
              if offset is not None and offset > stored_upto(checkpoint.key)]
    tagged.sort(key=lambda pair: pair[0])  # stable: a record's events keep their order
    return [event for _, event in tagged] + [event for checkpoint in checkpoints
                                             for offset, event in checkpoint.found if offset is None]


@dataclass
class _Live:
    key: str
    partition: int
    env: Envelope  # the stream's metadata (attempt, container, role, host)
    assembler: Assembler
    offset: int  # highest input offset folded in
    source: int | None = None  # the repacking stage's input partition ``offset`` counts in; None: the record's own
    tail: Tail = field(default_factory=Tail)  # its last lines, for an application that prints no error
    pending: list[Any] = field(default_factory=list)
    found: list[tuple[int | None, ExceptionEvent]] = field(default_factory=list)  # events of the pending records
    since: float = 0.0  # when the oldest pending line arrived

    def stored(self) -> dict[str, Any]:
        env = self.env
        return {"assembler": self.assembler.to_dict(), "offset": self.offset, "attempt": env.attempt,
                "container_id": env.container_id, "role": env.role, "host": env.host,
                "tail": self.tail.to_list(), "source": self.source}


def stream_envelope(app_id: str, stored: dict[str, Any]) -> Envelope:
    """The metadata of a checkpointed stream, as the envelope its events are made from."""
    return Envelope(app_id=app_id, attempt=stored["attempt"], container_id=stored["container_id"],
                    role=stored["role"], host=stored["host"])


class LiveStreams:
    """The assemblers of the streams this worker is reading, and when to checkpoint them."""

    def __init__(self, load: Callable[[str], dict[str, Any] | None], *,
                 max_pending: int = MAX_PENDING, max_age: float = MAX_AGE,
                 signals: Signals = DEFAULT_SIGNALS) -> None:
        self._load = load  # the stream's last checkpoint (the table), read on first sight
        self.signals = signals  # what makes a record an event (the classifier's rules)
        # the batches' stretches seen, of every stream: a trace repeated with other ids is taken apart once
        self.shapes = Shapes(signals, max_keys=MAX_SHAPES)
        self.max_pending = max_pending
        self.max_age = max_age
        self._open: dict[str, _Live] = {}
        self._waiting: dict[int, dict[str, _Live]] = {}  # per partition, oldest pending first

    def unseen(self, env: Envelope, partition: int, closed: Sequence[Any] | None = None) -> Envelope | None:
        """A repacked record's lines that this stream has not folded yet (None: not one).

        ``closed``: the position the stream had when its application ended
        (the stream is deleted then): a batch sent again after the end is
        still recognised. Lines counted in another input partition than the
        stream's (an input topic given more partitions, a shipper that does
        not key by application) start a new count: folded, never dropped.
        """
        source = env.source
        assert source is not None
        live = self._opened(env, partition, closed)
        if live.source != source.partition:
            live.source, live.offset = source.partition, -1
        seen = source.after(live.offset)
        if seen == 0:
            return env
        if seen == len(source.offsets):
            return None
        rest = Source(source.partition, source.offsets[seen:], source.lines[seen:])
        return dataclasses.replace(env, text="\n".join(rest.lines), source=rest)

    def fold(self, env: Envelope, offset: int, partition: int, handle: Any, now: float,
             record: int | None = None) -> list[Checkpoint]:
        """Feed one log envelope; the checkpoints due now (this stream's and stale others').

        ``offset``: the record's own, or a repacked record's last input offset; ``record``: the record's
        own offset (the events it yields are tagged with it), when it is not ``offset``.
        """
        live = self._opened(env, partition)
        space = env.source.partition if env.source is not None else None
        if live.source != space:  # the stream's lines now come another way: a new count
            live.source, live.offset = space, -1
        if offset <= live.offset:  # folded in before a restart and checkpointed with it
            return [Checkpoint(live.key, None, [], [handle], write=False, app_id=env.app_id)]
        tag = offset if record is None else record
        where = (env.app_id, env.attempt, env.container_id, env.role, env.host)
        for event in batch_events(live.assembler, env.text, self.shapes, where):
            live.found.append((tag, event))
        live.tail.add(env.text)
        live.offset = offset
        if not live.pending:
            live.since = now
            self._waiting.setdefault(partition, {})[live.key] = live
        live.pending.append(handle)
        if len(live.pending) >= self.max_pending:
            return self._all(partition)
        return self.stale(partition, now)

    def due(self, keys: list[str]) -> list[Checkpoint]:
        """Checkpoints of those of ``keys`` whose pending records yielded events, now: the events are
        wanted now (an early notice reads them), or others are about to be stored after them."""
        return [self._checkpoint(live) for key in keys if (live := self._open.get(key)) is not None and live.found]

    def _opened(self, env: Envelope, partition: int, closed: Sequence[Any] | None = None) -> _Live:
        """The stream of ``env`` in memory, read from its checkpoint (or its closed position) on first sight."""
        live = self._open.get(env.stream_key)
        if live is None:
            stored = self._load(env.stream_key)
            source, offset = (stored.get("source"), stored["offset"]) if stored else (closed or (None, -1))
            live = _Live(env.stream_key, partition, env, assembler_from(stored["assembler"] if stored else None),
                         offset, source, Tail(stored.get("tail", ()) if stored else ()))
            self._open[env.stream_key] = live
        return live

    def stale(self, partition: int, now: float) -> list[Checkpoint]:
        """When the oldest pending line of this partition is ``max_age`` old: checkpoints of all its
        waiting streams (so the events of one application are stored in the order of their records,
        whichever stream they come from; ``new_events``).

        Only streams of the partition being processed: faust writes a table
        change to the changelog partition of the record in hand.
        """
        waiting = self._waiting.get(partition)
        if not waiting or now - next(iter(waiting.values())).since < self.max_age:
            return []
        return self._all(partition)

    def quiet(self, now: float) -> dict[int, tuple[str, float]]:
        """Partitions whose oldest pending line is ``max_age`` old, each with that line's application and
        arrival: no record came to them since to checkpoint it (``stale``), so a timer sends one
        (``ingest.checks``), or an application's last lines would wait for unrelated traffic."""
        out = {}
        for partition, waiting in self._waiting.items():
            oldest = next(iter(waiting.values()), None)
            if oldest is not None and now - oldest.since >= self.max_age:
                out[partition] = (oldest.env.app_id, oldest.since)
        return out

    def _all(self, partition: int) -> list[Checkpoint]:
        return [self._checkpoint(live) for live in list(self._waiting.get(partition, {}).values())]

    def finish(self, app_id: str, keys: list[str]) -> list[Checkpoint]:
        """The application ended: close every stream's open record, delete the streams."""
        out = []
        for key in keys:
            live = self._open.pop(key, None)
            if live is not None:
                self._waiting.get(live.partition, {}).pop(key, None)
                env, assembler, tail, acks, found = live.env, live.assembler, live.tail, live.pending, live.found
                position = (live.source, live.offset)
            else:  # not read since the last restart: only its checkpoint is left
                stored = self._load(key)
                if stored is None:
                    continue
                env, assembler = stream_envelope(app_id, stored), assembler_from(stored["assembler"])
                tail, acks, found = Tail(stored.get("tail", ())), [], []
                position = (stored.get("source"), stored["offset"])
            last = tail_event(tail.lines, assembler.next_line - len(tail.lines), app_id=app_id,
                              attempt=env.attempt, container_id=env.container_id, role=env.role, host=env.host)
            flushed = [(None, event) for event in events_from_records(assembler.flush(), env, self.signals)]
            out.append(Checkpoint(key, None, found + flushed, acks, last=last, position=position, app_id=app_id))
        return out

    def reset(self) -> None:
        """Forget everything in memory (a rebalance): Kafka redelivers what was not acknowledged."""
        self._open.clear()
        self._waiting.clear()

    def pending(self) -> int:
        return sum(len(live.pending) for live in self._open.values())

    def _checkpoint(self, live: _Live) -> Checkpoint:
        acks, live.pending = live.pending, []
        found, live.found = live.found, []
        self._waiting.get(live.partition, {}).pop(live.key, None)
        return Checkpoint(live.key, live.stored(), found, acks, app_id=live.env.app_id)
