"""A faust app on the worker's own app and consumer (``ingest.faststart``, ``ingest.rewind``) whose agent
prints each input record it is handed, for ``tests/test_rewind.py``; settings from ``SPARKTRIAGE_*``.

Two things make the rebalance the test forces go the way a busy worker's goes, every time: the agent is
slow (records wait in its queue, as they do behind a worker folding 100-line records), and faust's seek to
the committed offsets inside a rebalance takes seconds longer (the fetcher hands records over while it
waits, as it does on a loaded machine before faust resumes the flow and empties the agents' queues).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import faust

from ingest.faststart import faust_app, table_options
from ingest.rewind import use_rewinding_consumer
from sparktriage.settings import load_settings

#: how much longer faust's seek inside a rebalance takes (seconds)
WINDOW = 2.5
#: the agent's time per record (seconds)
PER_RECORD = 0.004

settings = load_settings()
app = faust_app(settings)
use_rewinding_consumer(app)


class _LateToResume:
    """The consumer whose seek to the committed offsets inside a rebalance ends ``WINDOW`` later."""

    app: Any

    async def seek_to_committed(self) -> Mapping[Any, int]:
        committed: Mapping[Any, int] = await super().seek_to_committed()  # type: ignore[misc]
        if self.app.rebalancing:
            await asyncio.sleep(WINDOW)
        return committed


_base = app.transport.Consumer
app.transport.Consumer = type(f"LateToResume{_base.__name__}", (_LateToResume, _base), {})  # type: ignore[misc]
logs = app.topic(settings.input_topic, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
# a table, as the worker has: faust's rebalance then recovers tables before it seeks
seen = app.Table("seen", partitions=settings.partitions, options=table_options())


@app.agent(logs)
async def note(stream: faust.StreamT) -> None:
    async for event in stream.events():
        await asyncio.sleep(PER_RECORD)
        print(f"HANDED {event.message.partition} {event.message.offset}", flush=True)


if __name__ == "__main__":
    faust.Worker(app, loglevel="info", quiet=True).execute_from_commandline()
