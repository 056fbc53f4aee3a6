"""``ingest.faststart.started``: the fetch loop's hand-over of a record without a task when it need not wait."""

from __future__ import annotations

import asyncio

import pytest

from ingest.faststart import started


async def _put(queue: asyncio.Queue[int], value: int, log: list[str]) -> int:
    try:
        await queue.put(value)
        log.append(f"put {value}")
        return value
    finally:
        log.append("left")


def test_a_hand_over_that_need_not_wait_is_done_at_once() -> None:
    async def main() -> None:
        queue: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
        log: list[str] = []
        assert started(_put(queue, 1, log)) is None
        assert queue.get_nowait() == 1 and log == ["put 1", "left"]

    asyncio.run(main())


def test_an_error_of_the_hand_over_is_raised_at_once() -> None:
    async def fails() -> None:
        raise ValueError("bad record")

    with pytest.raises(ValueError, match="bad record"):
        started(fails())


def test_a_hand_over_that_waits_is_finished_by_awaiting_what_it_returns() -> None:
    async def main() -> None:
        queue: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
        queue.put_nowait(0)  # full: the put waits
        log: list[str] = []
        rest = started(_put(queue, 2, log))
        assert rest is not None and log == []
        task = asyncio.ensure_future(rest)
        await asyncio.sleep(0)
        assert not task.done()
        assert queue.get_nowait() == 0  # room: the put goes on
        assert await task == 2
        assert queue.get_nowait() == 2 and log == ["put 2", "left"]

    asyncio.run(main())


def test_cancelling_a_waiting_hand_over_cancels_the_coroutine() -> None:
    """faust's wait_first cancels the hand-over when a rebalance suspends the flow: the put must not
    happen later (a record of a revoked partition would reach the stream)."""

    async def main() -> None:
        queue: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
        queue.put_nowait(0)
        log: list[str] = []
        rest = started(_put(queue, 3, log))
        assert rest is not None
        task = asyncio.ensure_future(rest)
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert log == ["left"]
        queue.get_nowait()
        await asyncio.sleep(0)
        assert queue.empty()

    asyncio.run(main())


def test_a_stream_turns_the_event_loop_every_nth_event_only() -> None:
    """faust's stream iterator awaits sleep(0) before every event; with ``_Turns`` other tasks (the fetch loop,
    timers, heartbeats) still run every ``every`` events, and between those the events are taken at once."""
    from ingest.faststart import _Turns

    async def main() -> tuple[int, int]:
        turns = _Turns(5)
        ran = 0

        async def other() -> None:
            nonlocal ran
            while True:
                ran += 1
                await asyncio.sleep(0)

        task = asyncio.ensure_future(other())
        await asyncio.sleep(0)  # it starts
        before = ran
        for _ in range(20):
            await turns(0)
        after = ran
        await turns(0.01)  # a real wait still waits
        task.cancel()
        return after - before, ran - after

    during, waiting = asyncio.run(main())
    assert during == 4, "one turn of the loop every fifth event"
    assert waiting >= 1
