"""How an application is closed, in an order no crash breaks: its events, the diagnosis, the tombstone.

``ingest.app.Worker`` decides *when* an application ends (an ``app_end``,
an end read from the logs after the grace period, inactivity); these are
the writes that follow, shared by every kind of end: ``finish`` closes the
streams and diagnoses, the caller writes the tombstone, ``complete``
deletes the closed streams, ``expire`` drops the tombstone when it has
served its purpose. Exception events are stored a batch per table entry
(``add_events``: the events of one checkpoint of an application together)
and read back for a diagnosis (``stored_events``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ingest.acks import InOrderAcks
from ingest.checks import AppIndex
from ingest.live import Checkpoint, LiveStreams, new_events
from ingest.outputs import Outputs
from ingest.state import MAX_EVENTS, AppState, entry_size, event_entry, event_key, events_of_entry
from ingest.watchlist import Watchlist
from logtext.lastlines import last_words
from sparktriage.records import ExceptionEvent
from sparktriage.metrics import WorkerMetrics
from sparktriage.settings import Settings
from sparktriage.status import FAILURES, should_diagnose


class Closing:
    """The closing half of :class:`ingest.app.Worker` (its tables, streams and outputs are the worker's)."""

    settings: Settings
    apps: Any
    streams: Any
    events: Any
    live: LiveStreams
    acks: InOrderAcks
    watchlist: Watchlist
    outputs: Outputs
    index: AppIndex
    open: dict[str, AppState]
    metrics: WorkerMetrics

    def save(self, state: AppState) -> None:
        raise NotImplementedError  # the worker's: a state write and its index

    def add_events(self, state: AppState, new: list[ExceptionEvent]) -> None:
        """Store events up to ``MAX_EVENTS`` (later ones are only counted), as few table entries as
        ``event_entry`` allows: each entry is a changelog produce, and a checkpoint of a stream of
        100-line records brings several events at once. An entry's key holds the number of the first
        event in it; the application's state, written after, says how many are stored."""
        room = max(0, MAX_EVENTS - state.n_events)
        state.dropped_events += max(0, len(new) - room)
        new = new[:room]
        while new:
            entry, new = event_entry(new)
            self.events[event_key(state.app_id, state.n_events)] = entry
            state.n_events += len(entry)

    def complete(self, state: AppState, closing: list[Checkpoint]) -> None:
        """After the tombstone is written: delete the streams it lists as closed, then acknowledge
        their lines. A tombstone that still lists them is completed again (``apply``). The events
        stay with the tombstone until it expires (``expire``): a late line settles it again."""
        for key in state.closing:
            self.streams.pop(key, None)
            self.metrics.checkpoint_written()  # the stream's last write: its deletion
        if state.closing:
            state.closing = []
            self.save(state)
        for checkpoint in closing:
            for handle in checkpoint.acks:
                self.acks.release(handle)

    async def finish(self, state: AppState, status: str, ended: float | None, *, source: str | None,
                     offset: int, evidence: list[ExceptionEvent] | None = None) -> list[Checkpoint]:
        """Close every stream, diagnose as ``status`` asks (``sparktriage.status``); returns the
        checkpoints to complete. Settling again (late lines, a stated end after an inferred one)
        supersedes a diagnosis only where the answer changed.

        ``evidence``: what the cluster manager said of the end; it joins the
        events after the check for an application that printed no error, so
        the last lines of such an application are still read beside it.
        The tombstone in ``apps`` is written (by the caller) before the streams
        and the closed streams are deleted and the records acknowledged
        (``complete``), so a crash before it replays the end from intact state.
        The events stay until the tombstone expires (``expire``), for a later
        settling to read.
        """
        closing = self.live.finish(state.app_id, state.streams)
        self.add_events(state, new_events(closing, lambda key: state.events_at.get(key, -1)))
        for checkpoint in closing:
            if checkpoint.position[0] is not None:  # repacked: a batch sent again after the end is known
                state.closed_at[checkpoint.key] = list(checkpoint.position)
        if status in FAILURES and not state.n_events:  # it failed and printed no error
            self.add_events(state, last_words(checkpoint.last for checkpoint in closing))
        self.add_events(state, evidence or [])
        state.end_source = source  # the payload says where the end was learnt
        attempt = max(state.attempts or [1])  # the end is the last attempt's: earlier ones were settled before
        sent = state.provisional is not None or str(attempt) in state.delivered
        if should_diagnose(status, has_events=bool(state.n_events), provisional_sent=sent,
                           succeeded_notes=self.settings.succeeded_notes):
            await self.outputs.deliver(state, status, ended, attempt, self.stored_events(state))
        state.ended, state.end_due, state.end_attempt = status, None, attempt
        state.end_offset = max(state.end_offset, offset)
        state.closing, state.streams = state.closing + state.streams, []
        self.watchlist.forget(state.app_id)
        return closing

    def expire(self, state: AppState) -> None:
        """Drop an ended application's tombstone, its events and any stream a late line opened."""
        closing = self.live.finish(state.app_id, state.streams)
        for key in state.streams + state.closing:
            self.streams.pop(key, None)
        # with the keys inside each entry's range: a worker that died after storing events and before
        # writing the state may have left an entry there that its replay, batching otherwise, stepped over
        for first, raw in list(self._entries(state)):
            for n in range(first, first + entry_size(raw)):
                self.events.pop(event_key(state.app_id, n), None)
        self.apps.pop(state.app_id, None)
        self.index.drop(state.app_id)
        self.open.pop(state.app_id, None)
        for checkpoint in closing:
            for handle in checkpoint.acks:
                self.acks.release(handle)

    def stored_events(self, state: AppState) -> list[ExceptionEvent]:
        return [event for _, raw in self._entries(state) for event in events_of_entry(raw)]

    def _entries(self, state: AppState) -> Iterator[tuple[int, Any]]:
        """The application's stored ``events`` entries with the number of the first event of each."""
        n = 0
        while n < state.n_events:
            raw = self.events[event_key(state.app_id, n)]
            yield n, raw
            n += entry_size(raw)
