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

No input record is handed on while the app rebalances (from the revocation
to the end of the tables' recovery), for two reasons. faust may hand the agent
records of a newly assigned partition *before* that seek, from wherever the
consumer stood: folded, they jumped over the records the seek then delivers,
and a stream's checkpoint claimed lines it never saw. And after the seek,
faust resumes the streams' flow, which empties every agent's queue
(``faust.tables.recovery.Recovery.on_recovery_completed``: the seek, then
``flow_control.resume()``, whose queues are ``clear_on_resume``): records
fetched in between were thrown away, while the fetch position and faust's read
offset had moved past them, so a redelivery of them was dropped too. A worker
taking over a partition lost the lines it fetched first (an event stored at
line 125 where its log has it at 151, ``tests/test_scale_out.py``), or an
application's ``app_end`` and never diagnosed it. Records held back are not
acknowledged: once the rebalance is over, the partitions are sought to their
committed offsets again and deliver them in order (``tests/test_rewind.py``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import faust

log = logging.getLogger("sparktriage.worker")


class RewindToBeginning:
    """For faust's consumer: ``seek_to_committed`` that also seeks the input partitions with nothing
    committed to their beginning, and no input record handed on while the app rebalances."""

    app: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.held_back = False  # an input record was held back since the partitions were last sought

    def _is_input(self, tp: Any) -> bool:
        return bool(self.app.topics.acks_enabled_for(tp.topic)) and not self._is_changelog_tp(tp)  # type: ignore[attr-defined]

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[Any, Any]]:
        if self.held_back and not self.app.rebalancing:  # what was held back, again from the committed offsets
            try:
                await self.perform_seek()  # type: ignore[attr-defined]
            except Exception as exc:  # noqa: BLE001 - a rebalance under way seeks anyway; else the next call again
                log.warning("cannot seek to the committed offsets after a rebalance: %r", exc)
                return
        async for tp, message in super().getmany(timeout):  # type: ignore[misc]
            # once one is held back, so are those after it (they would overtake it) until the seek
            if (self.app.rebalancing or self.held_back) and self._is_input(tp):
                self.held_back = True
            else:
                yield tp, message

    async def seek_to_committed(self) -> Mapping[Any, int]:
        self.held_back = False
        committed = await super().seek_to_committed()  # type: ignore[misc]
        fresh = [tp for tp in committed if self._is_input(tp) and not committed[tp]]
        if fresh:
            beginnings = await self.earliest_offsets(*fresh)  # type: ignore[attr-defined]
            log.info("nothing committed yet: reading %s from the beginning",
                     ", ".join(f"{tp.topic}/{tp.partition} at {offset}" for tp, offset in sorted(beginnings.items())))
            await self.seek_wait(beginnings)  # type: ignore[attr-defined]
        return committed


def use_rewinding_consumer(app: faust.App) -> None:
    """Make ``app``'s transport create its consumer (whatever its class) with :class:`RewindToBeginning`;
    before the consumer is first used."""
    base = app.transport.Consumer
    app.transport.Consumer = type(f"Rewinding{base.__name__}", (RewindToBeginning, base), {})  # type: ignore[misc]
