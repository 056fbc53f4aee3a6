"""Acknowledge each input partition's records in offset order, whatever order the worker finishes them in.

The checkpoint protocol (``ingest.live``) finishes records out of order by
design: a stream's lines wait for its next checkpoint while the lines of other
streams in the same partition, read later, are checkpointed first. Kafka's
committed offset is one number per partition, "everything before this is
done", so a line may count as done only when every record before it in its
partition is. faust-streaming does not hold to that when acknowledgements come
out of order: until a partition has a committed offset it commits the end of
the first run of acknowledged offsets wherever that run starts, and after that
it lets a gap of one unacknowledged record through. A rebalance or a crash
then resumed past lines that no checkpoint held, and they were lost.

So the worker hands every record to :class:`InOrderAcks` as it arrives and
releases it here instead of acknowledging it; a released record is
acknowledged once every record that came before it in its partition is
acknowledged too. Then the acknowledged offsets of a partition always form
one run from where it was read, and any commit rule commits only what is done.
"""

from __future__ import annotations

from collections import deque
from typing import Any


class InOrderAcks:
    """Records taken in per partition, acknowledged oldest first once released (``handle.ack()``).

    A handle is anything with ``message.partition`` and ``ack()`` (a faust event).
    """

    def __init__(self) -> None:
        self._held: dict[int, deque[list[Any]]] = {}  # per partition, oldest first: [handle, released]
        self._entries: dict[int, list[Any]] = {}  # id(handle) -> its entry, while held

    def take(self, handle: Any) -> None:
        """A record has arrived (records of a partition arrive in offset order)."""
        entry = [handle, False]
        self._held.setdefault(handle.message.partition, deque()).append(entry)
        self._entries[id(handle)] = entry

    def release(self, handle: Any) -> None:
        """The record is done: acknowledge it, and the released records after it, once all before it are.

        A handle taken before the last :meth:`reset` is ignored: its partition
        is read again from the committed offset, and the record comes again.
        """
        entry = self._entries.get(id(handle))
        if entry is None:
            return
        entry[1] = True
        held = self._held[handle.message.partition]
        while held and held[0][1]:
            done = held.popleft()[0]
            del self._entries[id(done)]
            done.ack()

    def held(self) -> int:
        """Records taken and not yet acknowledged."""
        return len(self._entries)

    def reset(self) -> None:
        """Forget every record held (a rebalance): none of them is acknowledged any more."""
        self._held.clear()
        self._entries.clear()
