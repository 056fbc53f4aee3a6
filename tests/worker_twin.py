"""The real stream worker (``ingest.app.Worker``) over in-memory twins of what outlives it.

What a worker process may lose when it dies is its memory; what survives is
the tables' changelogs (a write is durable once made: faust replays the
changelog into a new worker's tables), the store, the topics it produced to,
and the input partition with its committed offset. Here those are plain
Python objects, and every effect the worker has on them (a table write, a
store save, a send, an acknowledgement) passes a :class:`Fuse` that can kill
the worker right before it: a crash at every point of the protocol, on the
code the worker runs.

After a crash the committed offset is anywhere between the last commit and
the furthest faust may have committed from the acknowledgements it got
(:func:`furthest_commit`; it commits every few seconds): a new worker starts
from there over the same changelogs, and Kafka redelivers everything after it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from classifiers.core import Classifier
from ingest.app import Worker
from sparktriage.metrics import NoMetrics
from sparktriage.settings import Settings
from sparktriage.store import MemoryStore


class Crash(BaseException):
    """The process died here; a BaseException so that no ``except Exception`` in the worker survives it."""


class Fuse:
    """Counts the worker's effects; the one after ``at`` effects does not happen: the worker dies instead."""

    def __init__(self, at: int | None = None) -> None:
        self.at, self.spent = at, 0

    def spend(self) -> None:
        if self.at is not None and self.spent >= self.at:
            raise Crash
        self.spent += 1


class Table:
    """A changelog-backed table as the worker uses it: ``get``, ``[]``, ``pop``, ``items``.

    The changelog keeps each value as JSON written at the time of the write
    (what faust replays into a new worker); the worker's own objects are its
    memory, lost with it.
    """

    def __init__(self, changelog: dict[str, str], fuse: Fuse) -> None:
        self.changelog, self.fuse = changelog, fuse
        self.memory = {key: json.loads(value) for key, value in changelog.items()}

    def get(self, key: str, default: Any = None) -> Any:
        return self.memory.get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self.memory[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.fuse.spend()
        self.changelog[key] = json.dumps(value)
        self.memory[key] = value

    def pop(self, key: str, default: Any = None) -> Any:
        self.fuse.spend()
        self.changelog.pop(key, None)
        return self.memory.pop(key, default)

    def items(self) -> Iterable[tuple[str, Any]]:
        """The table as it was when the read began, as a RocksDB iterator reads it (writes made while the
        caller goes through it are not seen)."""
        return list(self.memory.items())


class Topic:
    """A topic the worker produces to: ``await (await topic.send(key=, value=, partition=))``."""

    def __init__(self, records: list[tuple[Any, bytes]], fuse: Fuse) -> None:
        self.records, self.fuse = records, fuse
        self.partitions: list[int | None] = []  # the partition each record was sent to (None: by its key)

    async def send(self, key: Any = None, value: bytes = b"", partition: int | None = None) -> asyncio.Future[None]:
        self.fuse.spend()
        self.records.append((key, value))
        self.partitions.append(partition)
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        sent.set_result(None)
        return sent


class Store:
    """The in-memory store twin, each write passing the fuse (a save is one transaction)."""

    def __init__(self, store: MemoryStore, fuse: Fuse) -> None:
        self.store, self.fuse = store, fuse

    def save(self, *args: Any, **kwargs: Any) -> bool:
        self.fuse.spend()
        return self.store.save(*args, **kwargs)

    def record_dead_letter(self, *args: Any, **kwargs: Any) -> bool:
        self.fuse.spend()
        return self.store.record_dead_letter(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


@dataclass
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp: float | None = None  # the broker's time of the record
    headers: list[tuple[str, bytes]] = field(default_factory=list)


#: The broker time of record 0 of a partition; each later record is a second later.
EPOCH = 1_700_000_000.0


class Record:
    """One input record as the agent sees it (``faust.EventT``): its message, and ``ack``."""

    def __init__(self, message: Message, acked: set[int], fuse: Fuse,
                 on_ack: Callable[[Message], None] | None = None) -> None:
        self.message, self.acked, self.fuse, self.on_ack = message, acked, fuse, on_ack

    def ack(self) -> None:
        self.fuse.spend()
        if self.on_ack is not None:
            self.on_ack(self.message)
        self.acked.add(self.message.offset)


class Stream:
    """The agent's input: ``stream.noack().events()`` over the records after the committed offset."""

    def __init__(self, records: list[Record]) -> None:
        self.records = records

    def noack(self) -> Stream:
        return self

    async def events(self) -> AsyncIterator[Record]:
        for record in self.records:
            yield record


@dataclass
class Partition:
    """One input partition and everything that outlives a worker: changelogs, store, output topics."""

    records: list[tuple[bytes | None, bytes]]  # or (key, value, headers)
    classifier: Classifier
    settings: Settings = field(default_factory=Settings)
    max_pending: int | None = None  # the worker's checkpoint policy (ingest.live), when a test sets it
    max_age: float | None = None
    committed: int = -1  # every offset up to here is acknowledged and committed
    changelogs: dict[str, dict[str, str]] = field(default_factory=lambda: {"apps": {}, "streams": {}, "events": {}})
    store: MemoryStore = field(default_factory=MemoryStore)
    published: list[tuple[Any, bytes]] = field(default_factory=list)
    dead_letters: list[tuple[Any, bytes]] = field(default_factory=list)
    on_ack: Callable[[Message], None] | None = None  # a test's look at the state as each record is acknowledged

    def worker(self, fuse: Fuse) -> Worker:
        """A new worker process: the tables as the changelogs replay them, nothing else remembered."""
        worker = Worker(
            None, self.settings, self.classifier, Store(self.store, fuse),  # type: ignore[arg-type]
            logs=Topic([], fuse), diagnoses=Topic(self.published, fuse), dead_letters=Topic(self.dead_letters, fuse),
            apps=Table(self.changelogs["apps"], fuse), streams=Table(self.changelogs["streams"], fuse),
            events=Table(self.changelogs["events"], fuse), metrics=NoMetrics())
        if self.max_pending is not None:
            worker.live.max_pending = self.max_pending
        if self.max_age is not None:
            worker.live.max_age = self.max_age
        return worker

    def _consume(self, fuse: Fuse, acked: set[int]) -> None:
        """One worker process reading everything after the committed offset (until the fuse blows)."""
        start = self.committed + 1
        stream = Stream([Record(Message("spark-logs", 0, offset, key, value, EPOCH + offset, list(*headers)),
                                acked, fuse, self.on_ack)
                         for offset, (key, value, *headers) in enumerate(self.records[start:], start)])
        asyncio.run(self.worker(fuse).consume(stream))

    def run(self, crash_after: int | None = None, commit: float = 1.0) -> bool:
        """Consume from the committed offset to the end; False if the worker died after ``crash_after`` effects.

        ``commit``: how far the committed offset had got at the crash, from the
        last commit (0.0) to everything acknowledged (1.0).
        """
        acked: set[int] = set()
        try:
            self._consume(Fuse(crash_after), acked)
        except Crash:
            self.committed += int(commit * (furthest_commit(self.committed, acked) - self.committed))
            return False
        assert acked == set(range(self.committed + 1, len(self.records))), "every record is acknowledged in the end"
        self.committed = len(self.records) - 1
        return True

    def effects(self) -> int:
        """How many effects a run from here without a crash has (probing a copy; this partition is untouched)."""
        probe = Partition(self.records, self.classifier, self.settings, self.max_pending, self.max_age,
                          self.committed, json.loads(json.dumps(self.changelogs)))
        fuse = Fuse()
        probe._consume(fuse, set())
        return fuse.spent


def furthest_commit(committed: int, acked: set[int]) -> int:
    """The highest offset faust-streaming (0.15) may commit as done after ``committed`` from ``acked``.

    Each commit takes the first run of consecutive acknowledged offsets above
    the last commit and commits its end. It checks that the run follows the
    last commit only once something was committed (its committed offset is
    the next one to read, and 0 counts as nothing), and lets a gap of one
    through: acknowledgements out of order make it commit past records not
    acknowledged (``ingest.acks``).
    """
    waiting = sorted(offset for offset in acked if offset > committed)
    while waiting:
        if committed + 1 > 0 and waiting[0] - (committed + 1) > 1:
            break
        run_end = waiting[0]
        while run_end + 1 in acked:
            run_end += 1
        committed = run_end
        waiting = [offset for offset in waiting if offset > committed]
    return committed


def envelope(app_id: str, text: str | None = None, **fields: Any) -> tuple[bytes, bytes]:
    """A record of the input topic: a log line (``text``) or a lifecycle record (``event=...``)."""
    body = {"app_id": app_id, **fields}
    if text is not None:
        body["line"] = text
    return app_id.encode(), json.dumps(body).encode()
