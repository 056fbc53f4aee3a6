"""faust's Kafka consumer, with input partitions that have no committed offset read again from their beginning.

During a rebalance faust drops the records it had fetched for the partitions
it is given (its streams are suspended while the tables recover), and relies
on "seek to the committed offsets" when the streams resume to read them again.
aiokafka's ``seek_to_committed`` leaves a partition where it is when it has no
committed offset (or has 0), so such a partition resumed after the dropped
records: a worker joining the group took over a partition nobody had
committed yet and began at its end, and the lines before were never folded
(tests/test_scale_out.py). The consumer's own reset policy (``earliest``)
says where a partition with no committed offset starts: its beginning, so
that is where this consumer puts it each time faust seeks to the committed
offsets. It changes nothing for changelog partitions, which faust positions
itself, and nothing that depends on the broker.

faust may also hand the agent records of a newly assigned partition *before*
that seek, from wherever the consumer stood: folded, they jumped over the
records the seek then delivers, and a stream's checkpoint claimed lines it
never saw. So until a partition has been positioned since it was assigned,
this consumer holds its records back (they are not acknowledged, and the seek
delivers them again in order).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import faust

log = logging.getLogger("sparktriage.worker")


class RewindToBeginning:
    """For faust's consumer: ``seek_to_committed`` that also seeks the input partitions with nothing
    committed to their beginning, and no input record handed on before its partition was positioned."""

    app: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.positioned: set[tuple[str, int]] = set()  # input partitions sought since they were assigned

    def _is_input(self, tp: Any) -> bool:
        return bool(self.app.topics.acks_enabled_for(tp.topic)) and not self._is_changelog_tp(tp)  # type: ignore[attr-defined]

    async def on_partitions_revoked(self, revoked: set) -> None:
        self.positioned.difference_update((tp.topic, tp.partition) for tp in revoked)
        await super().on_partitions_revoked(revoked)  # type: ignore[misc]

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[Any, Any]]:
        async for tp, message in super().getmany(timeout):  # type: ignore[misc]
            if (tp.topic, tp.partition) in self.positioned or not self._is_input(tp):
                yield tp, message

    async def seek_to_committed(self) -> Mapping[Any, int]:
        committed = await super().seek_to_committed()  # type: ignore[misc]
        inputs = [tp for tp in committed if self._is_input(tp)]
        self.positioned.update((tp.topic, tp.partition) for tp in inputs if committed[tp])
        fresh = [tp for tp in inputs if not committed[tp]]
        if fresh:
            beginnings = await self.earliest_offsets(*fresh)  # type: ignore[attr-defined]
            log.info("nothing committed yet: reading %s from the beginning",
                     ", ".join(f"{tp.topic}/{tp.partition} at {offset}" for tp, offset in sorted(beginnings.items())))
            await self.seek_wait(beginnings)  # type: ignore[attr-defined]
            self.positioned.update((tp.topic, tp.partition) for tp in fresh)
        return committed


def use_rewinding_consumer(app: faust.App) -> None:
    """Make ``app``'s transport create its consumer (whatever its class) with :class:`RewindToBeginning`;
    before the consumer is first used."""
    base = app.transport.Consumer
    app.transport.Consumer = type(f"Rewinding{base.__name__}", (RewindToBeginning, base), {})  # type: ignore[misc]
