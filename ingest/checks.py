"""Beside the stream: the timers that ask the agent to check applications, and what they read.

The agent alone writes the tables, so a timer that finds an application
quiet, an end due, a stall or lines waiting on a partition no record comes to
sends a check record to the agent
(``ingest.app.Worker.apply_to`` handles it). What the quiet-application
timer and the open-applications gauge read of every application, when it
was last seen, whether an end is due, whether it ended, is kept in memory
(:class:`AppIndex`): decoding the whole ``apps`` table at each tick cost
seconds of the event loop with 100,000 applications in the table (issue 17).
Its one read of the table after an assignment runs a slice at a time beside
the stream: read at once, it held the first record after a restart for 1 to
17 s with 100,000 applications (``bench.restart``).
"""

from __future__ import annotations

import asyncio
import json
import time
from itertools import islice
from typing import Any, NamedTuple

import faust

from ingest.live import LiveStreams
from ingest.watchlist import Watchlist
from sparktriage.settings import Settings

#: Applications read from the table between two turns of the event loop (tens of milliseconds' work)
FILL_SLICE = 1000


class Entry(NamedTuple):
    last_seen: float
    end_due: float | None
    ended: bool


def _entry(data: dict[str, Any]) -> Entry:
    return Entry(data["last_seen"], data.get("end_due"), bool(data.get("ended")))


class AppIndex:
    """What the timers need of each application in this worker's share of the ``apps`` table.

    Every write of the table by the agent passes ``note`` (a removal ``drop``).
    After an assignment the table holds applications this process never
    wrote (its own before a restart, another worker's before a rebalance):
    once the assignment's recovery is over, ``fill`` reads the table once, a
    slice at a time, while the agent goes on; until it is done the index
    says nothing. An application the agent wrote or dropped meanwhile is
    skipped by the fill: the table's iterator reads the table as it was when
    it began, the index holds what was written since.
    """

    def __init__(self, apps: Any) -> None:
        self.apps = apps
        self.entries: dict[str, Entry] = {}
        self.complete = False
        self.touched: set[str] | None = None  # while a fill runs: applications the agent wrote since it began
        self.filling: asyncio.Task[None] | None = None

    def note(self, data: dict[str, Any]) -> None:
        app_id = data["app_id"]
        self.entries[app_id] = _entry(data)
        if self.touched is not None:
            self.touched.add(app_id)

    def drop(self, app_id: str) -> None:
        self.entries.pop(app_id, None)
        if self.touched is not None:
            self.touched.add(app_id)

    def reset(self) -> None:
        """Partitions were revoked: what the index holds may be another worker's now."""
        if self.filling is not None:
            self.filling.cancel()  # its table partitions are closing
        self.entries.clear()
        self.complete, self.touched, self.filling = False, None, None

    def recovered(self) -> None:
        """The tables hold the assigned partitions: read them in the background (``fill``)."""
        self.reset()
        self.filling = asyncio.ensure_future(self.fill())

    async def fill(self) -> None:
        """Read the table (its active partitions) into the index, ``FILL_SLICE`` applications between two
        turns of the event loop, so that records are consumed meanwhile."""
        self.touched = touched = set()
        items = iter(self.apps.items())
        while chunk := list(islice(items, FILL_SLICE)):
            for app_id, raw in chunk:
                if raw and app_id not in touched:
                    self.entries[app_id] = _entry(raw)
            await asyncio.sleep(0)
        self.complete, self.touched = True, None

    def ready(self) -> bool:
        """Whether the index holds every application of this worker's partitions."""
        return self.complete

    def open_count(self) -> int | None:
        """Applications not ended, or None while the index is not ready."""
        if not self.ready():
            return None
        return sum(1 for entry in self.entries.values() if not entry.ended)


class Checks:
    """The timers: quiet applications, ends whose grace period is over, stalls, partitions whose lines
    wait for a checkpoint; each a check record."""

    def __init__(self, settings: Settings, logs: faust.TopicT, index: AppIndex, watchlist: Watchlist,
                 live: LiveStreams) -> None:
        self.settings, self.logs, self.index, self.watchlist, self.live = settings, logs, index, watchlist, live
        self.asked: dict[int, float] = {}  # per partition, the arrival of the oldest waiting line asked for

    async def look_for_quiet_applications(self) -> None:
        """Ask the agent to check applications that went quiet (table writes need its context)."""
        if not self.index.ready():
            return  # recovery still fills the table: look at the next tick
        now = time.time()
        for app_id, entry in list(self.index.entries.items()):
            if now - entry.last_seen >= self.settings.inactivity_timeout:
                await self.ask(app_id, "inactivity_check")
            elif entry.end_due is not None:  # due before a restart or a rebalance
                self.watchlist.remember(app_id, entry.end_due)

    async def settle_due_ends(self) -> None:
        """Ask the agent to settle the ends whose grace period is over."""
        for app_id in self.watchlist.due(time.time()):
            await self.ask(app_id, "end_check")

    async def look_for_stalls(self) -> None:
        """Ask the agent to send early notices for stalled applications."""
        for app_id, _ in self.watchlist.stalled(time.time()):
            await self.ask(app_id, "stall_check")

    async def checkpoint_quiet_partitions(self) -> None:
        """Ask the agent to checkpoint the lines of partitions no record came to since they arrived (an
        application's last lines): their events stored and their records committed now, not when the next
        record of that partition comes. Once per waiting line: a check still on its way is not sent again."""
        for partition, (app_id, since) in self.live.quiet(time.monotonic()).items():
            if self.asked.get(partition) != since:
                self.asked[partition] = since
                await self.ask(app_id, "checkpoint_check", partition=partition)

    async def ask(self, app_id: str, check: str, partition: int | None = None) -> None:
        """A check record for the agent, on the application's own partition (or the one named: table
        writes go to the changelog partition of the record in hand)."""
        body = json.dumps({"app_id": app_id, "event": check}).encode("utf-8")
        await self.logs.send(key=app_id.encode("utf-8"), value=body, partition=partition)
