"""The stream app: Spark logs from Kafka to one stored diagnosis per failed application.

Read top to bottom: ``create_app`` declares the faust app, its topics, the
tables that hold each application's state (changelog-backed, so a crash or
rebalance loses nothing), and wires the agent and the timers to the named
handlers of :class:`Worker`, which follows: what a record does to its
application's state, what happens when an application ends or goes quiet.
The writes that close an application (diagnosis, tombstone, cleanup) are in
``ingest.closing``, the timers that send the agent check records in
``ingest.checks``, faust's options and start in ``ingest.faststart``, the
``sparktriage worker`` command's start in ``ingest.worker``. What
it sends (the store, the output topic, dead letters) goes through
``ingest.outputs``.

Delivery semantics: at-least-once. faust acknowledges an event even when the
agent raises, so every event is handled inside ``try`` here: bad input goes
to the dead-letter topic with its reason; a failing output (store, topic) is
retried with backoff and, if it keeps failing, the worker stops *before*
the event is acknowledged, so it is consumed again after a restart. Replayed
records are skipped by offset (records the repacking stage sent again, by
where it read them), and store writes are idempotent upserts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Coroutine
from typing import Any

import faust

from classifiers.core import Classifier
from ingest.acks import InOrderAcks
from ingest.checks import AppIndex, Checks
from ingest.closing import Closing
from ingest.envelope import parse_envelope
from ingest.headers import origin_of, refusal_of
from ingest.faststart import faust_app
from ingest.lifecycle import lifecycle_events
from ingest.live import Checkpoint, LiveStreams, new_events
from ingest.observe import observe
from ingest.outputs import Outputs
from ingest.rewind import use_rewinding_consumer
from ingest.stalls import provisional
from ingest.state import AppState, end_time
from ingest.tables import table
from ingest.watchlist import Watchlist, end_status
from sparktriage.errors import BadInput
from sparktriage.metrics import NoMetrics, WorkerMetrics
from sparktriage.records import Envelope, Origin
from sparktriage.settings import Settings
from sparktriage.status import APP_END, ENDED, INACTIVITY, RUNNING, UNKNOWN_END
from sparktriage.store.base import Store

log = logging.getLogger("sparktriage.worker")


def create_app(settings: Settings, classifier: Classifier, store: Store,
               metrics: WorkerMetrics | None = None) -> faust.App:
    """Build the faust app for ``settings``; ``sparktriage worker`` runs it."""
    app = faust_app(settings)  # its options, and faust's fixed waits taken out (ingest.faststart)
    use_rewinding_consumer(app)  # a partition nobody committed yet is read from its beginning after a rebalance

    def raw_topic(name: str, key_type: type) -> faust.TopicT:
        return app.topic(name, key_type=key_type, value_type=bytes, key_serializer="raw", value_serializer="raw")

    worker = Worker(
        app, settings, classifier, store,
        logs=raw_topic(settings.input_topic, bytes),
        diagnoses=raw_topic(settings.output_topic, str),
        dead_letters=raw_topic(settings.dlq_topic, bytes),
        # Per-application state: metadata, container streams, exception events (ingest.state: why three tables)
        apps=table(app, "apps", settings.partitions),
        streams=table(app, "streams", settings.partitions),
        events=table(app, "events", settings.partitions),
        metrics=metrics or NoMetrics(),
    )
    app.worker = worker  # type: ignore[attr-defined]  # tests and benchmarks read its counters
    app.health = observe(app, settings, store, worker.metrics, worker.index.open_count,  # type: ignore[attr-defined]
                         classifier_versions=(classifier.engine.version, getattr(classifier.model, "version", None)))

    app.agent(worker.logs, name="ingest")(worker.consume)
    app.on_partitions_revoked.connect(worker.forget_open_streams)
    app.on_rebalance_complete.connect(worker.on_recovered)
    app.timer(interval=settings.inactivity_check_interval)(worker.checks.look_for_quiet_applications)
    app.timer(interval=0.2)(worker.checks.settle_due_ends)
    app.timer(interval=min(30.0, max(0.2, settings.stall_timeout / 10)))(worker.checks.look_for_stalls)
    app.timer(interval=worker.live.max_age / 2)(worker.checks.checkpoint_quiet_partitions)
    if settings.webhook_url or settings.webhook_routes or settings.alert_url:
        app.timer(interval=0.5)(worker.outputs.send_webhooks)
    if settings.alert_url:
        app.timer(interval=settings.spike_check_interval)(worker.outputs.check_spikes)
    if settings.excerpt_retention_days is not None:
        app.timer(interval=3600.0)(worker.outputs.purge_old_excerpts)
    return app


class Worker(Closing):
    """The handlers of the stream and the state they share: one instance per worker process.

    ``apps``, ``streams`` and ``events`` are the changelog-backed tables;
    ``live`` the open streams in memory, checkpointed into ``streams``
    (``ingest.live``). Table writes happen only inside the agent's context
    (``consume`` and what it calls), which is why the quiet-application timer
    sends a record to the agent instead of finishing applications itself.
    """

    def __init__(self, app: faust.App, settings: Settings, classifier: Classifier, store: Store, *,
                 logs: faust.TopicT, diagnoses: faust.TopicT, dead_letters: faust.TopicT,
                 apps: Any, streams: Any, events: Any, metrics: WorkerMetrics) -> None:
        self.app, self.settings, self.classifier, self.store = app, settings, classifier, store
        self.metrics = metrics
        self.logs = logs
        self.apps, self.streams, self.events = apps, streams, events
        self.live = LiveStreams(streams.get, signals=classifier.signals)
        self.acks = InOrderAcks()  # every acknowledgement goes through it: in offset order (ingest.acks)
        self.open: dict[str, AppState] = {}  # open applications' states (``state_of``)
        self.first = True  # no record consumed yet
        # due ends and stalls (ingest.watchlist): what the timers ask the agent to settle
        self.watchlist = Watchlist(settings.end_grace, settings.stall_timeout, classifier.signals)
        # the timers that send the agent check records, and what they read of every application (ingest.checks)
        self.index = AppIndex(apps)
        self.checks = Checks(settings, logs, self.index, self.watchlist, self.live)
        # the store, the output topic and dead letters, and the timers that drain them (ingest.outputs)
        self.outputs = Outputs(app, settings, classifier, store, diagnoses=diagnoses, dead_letters=dead_letters,
                               metrics=metrics)

    # -- the agent: one record at a time -------------------------------------------------

    async def consume(self, stream: faust.StreamT) -> None:
        """The agent: every record is applied, or dead-lettered with its reason; none is lost."""
        async for event in stream.noack().events():
            self.acks.take(event)
            self.metrics.consumed(event.message.partition)
            if self.first:  # when a start or a restart reached the stream (bench.restart reads it)
                log.info("first record consumed")
                self.first = False
            try:
                lifecycle = self.apply(event)  # a log line is folded here; other records' work is awaited
                if lifecycle is not None:
                    await lifecycle
            except BadInput as err:
                self.open.clear()  # a state may be half-changed: read it again from the table
                await self.outputs.dead_letter(event, err)
                self.acks.release(event)
            except Exception as exc:  # noqa: BLE001 - a bug must not silently consume the record
                self.open.clear()
                log.exception("cannot process record %s/%s", event.message.partition, event.message.offset)
                await self.outputs.dead_letter(event, BadInput("processing_error", repr(exc)[:500]))
                self.acks.release(event)

    def apply(self, event: faust.EventT) -> Coroutine[Any, Any, None] | None:
        """Fold one record into its application's state; finish the application when it ends.

        A log line is folded here and then; a lifecycle or check record's work
        (``apply_event``, which may await the outputs) is returned for the agent
        to await: a coroutine or two made and awaited per log line cost more
        than some of the steps of folding it.

        Log lines are acknowledged by the checkpoint that covers them (see
        ``ingest.live``); everything else once its effects are written.
        """
        message = event.message
        if message.headers and (refused := refusal_of(message.headers)) is not None:
            raise refused  # the head of a record the repacking stage could not send whole (ingest.repack)
        env = parse_envelope(message.key, message.value, max_line_bytes=self.settings.max_line_bytes)
        state, new = self.state_of(env.app_id)
        # a record the repacking stage sent on whole (a batch's lines have their own count: ingest.live)
        origin = origin_of(message.headers) if message.headers and env.source is None else None
        if origin is not None and state.passed_before(origin):  # sent again after the stage crashed
            self.acks.release(event)
            return None
        if state.ended and state.closing:  # a crash came between the tombstone and its cleanup
            self.complete(state, [])
        if env.event is not None:
            return self.apply_event(state, env, event, origin=origin)
        self.on_line(state, env, event, new=new, origin=origin)
        self.close_if_ended(state)
        return None

    def close_if_ended(self, state: AppState) -> None:
        """An ended application's state is a tombstone: read from the table again if a late record comes."""
        if state.ended:
            self.open.pop(state.app_id, None)

    def state_of(self, app_id: str) -> tuple[AppState, bool]:
        """An open application's state and whether it is new. Kept in memory between its records (read from
        ``apps`` once, written back whenever it changes), so that a line neither reads nor decodes the table."""
        state = self.open.get(app_id)
        if state is not None:
            return state, False
        raw = self.apps.get(app_id)
        state = self.open[app_id] = AppState.from_dict(raw) if raw else AppState(app_id=app_id)
        return state, raw is None

    async def apply_event(self, state: AppState, env: Envelope, event: faust.EventT, *,
                          origin: Origin | None = None) -> None:
        """A lifecycle or check record. ``origin``: where the repacking stage read a record it sent on
        whole; noted as applied with ``last_offset``, in the same state write as the record's effects."""
        message = event.message
        if env.event == "checkpoint_check":  # a partition gone quiet: its waiting lines' checkpoints, now
            self.commit(self.live.stale(message.partition, time.monotonic()))
            self.acks.release(event)
            self.close_if_ended(state)
            return
        if message.offset > state.last_offset:  # else: already applied before a restart
            if env.event in ("container_end", "stall_check"):  # they add to the stored events, or read them:
                self.commit(self.live.due(state.streams))  # those the lines before them closed come first
            state.applied(message.offset, origin)
            if env.event == "inactivity_check":
                if state.ended and time.time() - state.last_seen > self.settings.inactivity_timeout:
                    self.expire(state)  # the tombstone has served its purpose
                    self.acks.release(event)
                    self.close_if_ended(state)
                    return
                closing = await self.on_quiet_check(state)
            elif env.event == "container_end":
                closing = self.on_container_end(state, env)
            elif env.event == "end_check":
                closing = await self.on_end_check(state, message.offset)
            elif env.event == "stall_check":
                closing = await self.on_stall_check(state)
            else:
                closing = await self.on_end(state, env, message.offset, message.timestamp)
            self.save(state)
            if state.ended:
                self.complete(state, closing)
        self.commit(self.live.stale(message.partition, time.monotonic()))
        self.acks.release(event)
        self.close_if_ended(state)

    def on_line(self, state: AppState, env: Envelope, event: faust.EventT, *, new: bool,
                origin: Origin | None = None) -> None:
        """A log line, the hot path: folded into its stream and read for the end and progress
        (``ingest.watchlist``); the state written only when it changed.

        A line after the end was settled is kept: it is folded in and the end
        settled again after the grace period, superseding the diagnosis only
        if the answer changed. Lines at or below the offset the end covered
        are redeliveries and are skipped.
        """
        offset = event.message.offset
        if offset <= state.end_offset:
            self.acks.release(event)
            return
        if env.source is not None:  # a repacked record: only the lines its stream has not folded yet
            unseen = self.live.unseen(env, event.message.partition, state.closed_at.get(env.stream_key))
            if unseen is None:  # a batch the repacking stage sent again after a crash
                self.acks.release(event)
                return
            env = unseen
        self.metrics.folded(env.text)
        now = time.time()
        due = state.end_due
        noted = state.note(env, now)
        if state.ended and env.attempt > state.end_attempt:  # YARN runs another attempt: it runs again
            state.ended = state.end_source = None
        read = self.watchlist.read(state, env, now)
        if state.ended:
            self.watchlist.schedule(state, now)
        if read.event_log:  # one event-log event: its evidence is written now, the line acknowledged
            if offset > state.last_offset:
                if read.events:  # after the events the application's earlier lines closed
                    self.commit(self.live.due(state.streams))
                state.applied(offset, origin)
                self.add_events(state, read.events)
            self.save(state)
            self.acks.release(event)
            return
        self.fold_line(state, env, event, dirty=noted or new or read.changed or state.end_due != due)

    async def on_end(self, state: AppState, env: Envelope, offset: int, broker_ts: float | None) -> list[Checkpoint]:
        """An ``app_end`` lifecycle record: it states the end and its time, over any end read from the
        logs, with what the cluster manager said of the end (a watcher's ``lifecycle``) as evidence."""
        if state.ended and state.end_source == APP_END:
            return []
        received = time.time()
        state.note(env, received)
        return await self.finish(state, env.status or UNKNOWN_END, end_time(env.ts, broker_ts, received),
                                 source=APP_END, offset=offset,
                                 evidence=lifecycle_events(env))

    def on_container_end(self, state: AppState, env: Envelope) -> list[Checkpoint]:
        """A ``container_end`` record (an executor pod OOMKilled or evicted): evidence of its application;
        after the end was settled, it is settled again (the evidence may change the answer)."""
        state.note(env, time.time())
        self.add_events(state, lifecycle_events(env))
        if state.ended:
            self.watchlist.schedule(state, time.time())
        return []

    async def on_end_check(self, state: AppState, offset: int) -> list[Checkpoint]:
        """The grace period after an end read from the logs (or after a late line) is over: settle it."""
        if state.end_due is None:
            return []
        if state.end_due > time.time():  # pushed back since the timer looked
            self.watchlist.remember(state.app_id, state.end_due)
            return []
        status, source = end_status(state, ENDED, None)
        return await self.finish(state, status, state.last_ts if state.last_ts is not None else state.last_seen,
                                 source=source, offset=offset)

    async def on_quiet_check(self, state: AppState) -> list[Checkpoint]:
        """The timer's check of a quiet application: finish it if it is still quiet."""
        if state.ended or time.time() - state.last_seen < self.settings.inactivity_timeout:
            return []
        status, source = end_status(state, UNKNOWN_END, INACTIVITY)  # no end read: an "unknown end"
        # it ended with its last line (log time, else when it came)
        return await self.finish(state, status, state.last_ts if state.last_ts is not None else state.last_seen,
                                 source=source, offset=state.last_offset)

    async def on_stall_check(self, state: AppState) -> list[Checkpoint]:
        """Still running but stalled (``ingest.stalls``): an early, provisional diagnosis, sent once."""
        if state.ended or state.provisional:
            self.watchlist.notified(state.app_id)
            return []
        stall = self.watchlist.stall_of(state.app_id, time.time())
        if stall is None:  # it moved again since the timer looked
            return []
        attempt = max(state.attempts or [1])
        info = state.app_info(attempt, RUNNING, None)
        events = [e for e in self.stored_events(state) if e.attempt == attempt]
        diagnosis = provisional(self.classifier.diagnose, events, info, stall, time.time())
        await self.outputs.send(state, info, events, diagnosis)
        state.provisional = diagnosis.category
        self.watchlist.notified(state.app_id)
        return []

    # -- application state ----------------------------------------------------------------

    def fold_line(self, state: AppState, env: Envelope, event: faust.EventT, *, dirty: bool) -> None:
        """Feed a log envelope to its container's assembler; write what is due (``commit``).
        ``dirty``: the state changed already and must be written anyway."""
        message = event.message
        if env.stream_key not in state.streams:
            state.streams.append(env.stream_key)
            dirty = True
        position = env.source.offsets[-1] if env.source is not None else message.offset
        self.commit(self.live.fold(env, position, message.partition, event, time.monotonic(), message.offset),
                    state if dirty else None)

    def commit(self, due: list[Checkpoint], changed: AppState | None = None) -> None:
        """Write checkpoints in an order no crash breaks: their events first, then the states of their
        applications (event count, and up to which input offset each stream's events are stored) with
        ``changed``, then the checkpoints, then the acknowledgements. A crash before a checkpoint
        replays its records from the older one, and the events they yield again are not stored twice;
        a crash after it finds them counted."""
        if not due and changed is None:  # most records
            return
        states = {changed.app_id: changed} if changed is not None else {}
        by_app: dict[str, list[Checkpoint]] = {}
        for checkpoint in due:
            if checkpoint.found:
                by_app.setdefault(checkpoint.app_id, []).append(checkpoint)
        for app_id, checkpoints in by_app.items():
            state = states.get(app_id) or self.state_of(app_id)[0]
            self.add_events(state, new_events(checkpoints, lambda key: state.events_at.get(key, -1)))  # noqa: B023
            for checkpoint in checkpoints:
                state.events_at[checkpoint.key] = max(state.events_at.get(checkpoint.key, -1), checkpoint.upto)
            states[app_id] = state
        for state in states.values():
            self.save(state)
        for checkpoint in due:
            self.write(checkpoint)

    def save(self, state: AppState) -> None:
        """Write the application's state to ``apps``; the timers' index follows every write."""
        data = state.to_dict()
        self.apps[state.app_id] = data
        self.index.note(data)

    def write(self, checkpoint: Checkpoint) -> None:
        """Make a stream's checkpoint durable (its events already are), then acknowledge the records it covers."""
        if checkpoint.write:
            self.metrics.checkpoint_written()
            if checkpoint.stored is not None:
                self.streams[checkpoint.key] = checkpoint.stored
        for handle in checkpoint.acks:
            self.acks.release(handle)

    # -- beside the stream: rebalances and timers -------------------------------------------

    async def forget_open_streams(self, app: faust.App, revoked: set, **kwargs: Any) -> None:  # noqa: ARG002
        """After a rebalance faust reads again from the committed offsets: start from the checkpoints."""
        self.live.reset()
        self.acks.reset()
        self.watchlist.reset()
        self.open.clear()
        self.index.reset()

    async def on_recovered(self, app: faust.App, **kwargs: Any) -> None:  # noqa: ARG002
        """The tables hold the assigned partitions: the index of the timers reads them, beside the stream
        (``ingest.checks``)."""
        self.index.recovered()

