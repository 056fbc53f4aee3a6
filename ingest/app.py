"""The stream app: Spark logs from Kafka to one stored diagnosis per failed application.

Read top to bottom: the faust app and its topics, the tables that hold each
application's state (changelog-backed, so a crash or rebalance loses
nothing), the agent that folds envelopes into that state, and what happens
when an application ends or goes quiet.

Delivery semantics: at-least-once. faust acknowledges an event even when the
agent raises, so every event is handled inside ``try`` here: bad input goes
to the dead-letter topic with its reason; a failing output (store, topic) is
retried with backoff and, if it keeps failing, the worker stops *before*
the event is acknowledged, so it is consumed again after a restart. Replayed
records are skipped by offset, and store writes are idempotent upserts.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import faust

from classifiers.core import Classifier
from ingest.envelope import parse_envelope
from ingest.lastlines import last_words
from ingest.live import Checkpoint, LiveStreams
from ingest.state import MAX_EVENTS, AppState, event_key
from sparktriage.dispatcher import Dispatcher
from sparktriage.errors import BadInput
from sparktriage.payload import build_payload
from sparktriage.records import Envelope, ExceptionEvent
from sparktriage.settings import Settings
from sparktriage.store.base import Store
from sparktriage.webhook import webhook_urls

log = logging.getLogger("sparktriage.worker")
NON_SUCCESS = ("FAILED", "KILLED")
OUTPUT_RETRIES = 5


def create_app(settings: Settings, classifier: Classifier, store: Store) -> faust.App:
    """Build the faust app for ``settings``; ``sparktriage worker`` runs it."""
    options: dict[str, Any] = {}
    if settings.producer_max_batch_size is not None:
        options["producer_max_batch_size"] = settings.producer_max_batch_size
    app = faust.App(
        settings.group,
        broker=[f"kafka://{server}" for server in settings.bootstrap.split(",")],
        store="memory://",  # state lives in the changelog topics; memory is the cache
        topic_partitions=settings.partitions,
        broker_session_timeout=settings.session_timeout,
        broker_heartbeat_interval=min(3.0, settings.session_timeout / 3),
        consumer_auto_offset_reset="earliest",
        processing_guarantee="at_least_once",
        stream_wait_empty=False,  # unacknowledged lines wait for their checkpoint, not for a rebalance
        web_enabled=settings.worker_web_port > 0,
        web_port=max(settings.worker_web_port, 1),
        web_bind="127.0.0.1",
        datadir=f"{settings.data_dir}/faust",
        # a dead letter carries the original record base64-encoded: room for the largest accepted one
        producer_max_request_size=2 * settings.max_line_bytes + 1024 * 1024,
        **options,
    )

    logs = app.topic(settings.input_topic, key_type=bytes, value_type=bytes,
                     key_serializer="raw", value_serializer="raw")
    diagnoses = app.topic(settings.output_topic, key_type=str, value_type=bytes,
                          key_serializer="raw", value_serializer="raw")
    dead_letters = app.topic(settings.dlq_topic, key_type=bytes, value_type=bytes,
                             key_serializer="raw", value_serializer="raw")

    # Per-application state: small metadata, one assembler per container stream,
    # one entry per exception event (see ingest.state for why three tables).
    apps = app.Table("apps", partitions=settings.partitions)
    streams = app.Table("streams", partitions=settings.partitions)
    events = app.Table("events", partitions=settings.partitions)
    app.dead_letter_count = 0  # type: ignore[attr-defined]
    # The open streams in memory, checkpointed into ``streams`` (ingest.live).
    live = LiveStreams(streams.get, signals=classifier.signals)

    async def dead_letter(event: faust.EventT, err: BadInput) -> None:
        message = event.message
        record = {
            "reason": err.reason, "detail": err.detail, "topic": message.topic,
            "partition": message.partition, "offset": message.offset,
            "key": message.key.decode("utf-8", "replace") if message.key else None,
            "value_b64": base64.b64encode(message.value or b"").decode("ascii"),
        }
        body = json.dumps(record)
        store.record_dead_letter("input", err.reason, err.detail, body)  # durable first
        app.dead_letter_count += 1  # type: ignore[attr-defined]
        try:
            await (await dead_letters.send(key=message.key, value=body.encode("utf-8")))
        except Exception:  # noqa: BLE001 - the store row above already keeps it
            log.exception("dead-letter topic refused %s/%s; kept in the store", message.partition, message.offset)
        log.warning("dead letter %s at %s/%s: %s", err.reason, message.partition, message.offset, err.detail)

    def add_events(state: AppState, new: list[ExceptionEvent]) -> None:
        for event in new:
            if state.n_events >= MAX_EVENTS:
                state.dropped_events += 1
                continue
            events[event_key(state.app_id, state.n_events)] = event.to_dict()
            state.n_events += 1

    def write(checkpoint: Checkpoint, state: AppState | None) -> None:
        """Make a checkpoint durable in the tables, then acknowledge the records it covers."""
        if checkpoint.write:
            if state is not None:
                add_events(state, checkpoint.events)
            if checkpoint.stored is not None:
                streams[checkpoint.key] = checkpoint.stored
        for handle in checkpoint.acks:
            handle.ack()

    def fold_line(state: AppState, env: Envelope, event: faust.EventT) -> bool:
        """Feed a log envelope to its container's assembler; write the checkpoints that are due.

        Returns whether the application's own state changed (a new stream or
        new events), so that the caller writes it.
        """
        message = event.message
        before = state.n_events + state.dropped_events
        for checkpoint in live.fold(env, message.offset, message.partition, event, time.monotonic()):
            write(checkpoint, state if checkpoint.key == env.stream_key else None)
        if env.stream_key in state.streams:
            return state.n_events + state.dropped_events != before
        state.streams.append(env.stream_key)
        return True

    async def deliver(state: AppState, status: str | None, ended: float | None) -> None:
        """Diagnose every attempt, store it durably, then publish it; retried, never skipped."""
        all_events = [ExceptionEvent.from_dict(events[event_key(state.app_id, n)]) for n in range(state.n_events)]
        for attempt in sorted(state.attempts) or [1]:
            info = state.app_info(attempt, status, ended)
            mine = [e for e in all_events if e.attempt == attempt]
            diagnosis = classifier.diagnose(mine, info)
            body = json.dumps(build_payload(info, diagnosis))
            for n in range(OUTPUT_RETRIES):
                try:  # the webhook requests join the outbox in the diagnosis's own transaction
                    store.save(info, mine, diagnosis, [(url, body) for url in webhook_urls(settings, info)])
                    await (await diagnoses.send(key=state.app_id.encode("utf-8"), value=body.encode("utf-8")))
                    break
                except Exception:  # noqa: BLE001 - any output failure is retried
                    log.exception("output failed for %s (try %d)", state.app_id, n + 1)
                    await asyncio.sleep(min(2.0 ** n * 0.2, 5.0))
            else:
                log.critical("outputs keep failing; stopping before %s is acknowledged", state.app_id)
                await app.crash(RuntimeError(f"cannot deliver diagnosis of {state.app_id}"))
            log.info("diagnosed %s attempt %d: %s (%s)", state.app_id, attempt, diagnosis.category,
                     diagnosis.rule_id or diagnosis.source)

    async def finish(state: AppState, status: str | None, ended: float | None) -> list[Checkpoint]:
        """Close every stream, diagnose unless it succeeded; returns the checkpoints to complete.

        The tombstone in ``apps`` is written (by the caller) before the streams
        are deleted and the records acknowledged, so a crash in between
        replays the end of the application from intact state.
        """
        closing = live.finish(state.app_id, state.streams)
        for checkpoint in closing:
            add_events(state, checkpoint.events)
        if status in NON_SUCCESS and not state.n_events:  # it failed and printed no error
            add_events(state, last_words(checkpoint.last for checkpoint in closing))
        if status in NON_SUCCESS or (status is None and state.n_events):
            await deliver(state, status, ended)
        for n in range(state.n_events):
            events.pop(event_key(state.app_id, n), None)
        state.ended = status or "INACTIVE"
        state.n_events = 0
        state.streams = []
        return closing

    async def apply(event: faust.EventT) -> None:
        """Fold one record into its application's state; finish the application when it ends.

        Log lines are acknowledged by the checkpoint that covers them (see
        ``ingest.live``); everything else once its effects are written.
        """
        message = event.message
        env = parse_envelope(message.key, message.value, max_line_bytes=settings.max_line_bytes)
        raw = apps.get(env.app_id)
        state = AppState.from_dict(raw) if raw else AppState(app_id=env.app_id)
        now = time.time()
        if env.event is None:  # a log line: the hot path, written only when something changed
            if state.ended:
                log.debug("ignoring a record of %s after it ended", env.app_id)
                event.ack()
                return
            noted = state.note(env, now)
            if fold_line(state, env, event) or noted or raw is None:
                apps[env.app_id] = state.to_dict()
            return
        closing: list[Checkpoint] = []
        if message.offset > state.last_offset:  # else: already applied before a restart
            state.last_offset = message.offset
            if env.event == "inactivity_check":
                if state.ended and now - state.last_seen > settings.inactivity_timeout:
                    apps.pop(env.app_id, None)  # the tombstone has served its purpose
                    event.ack()
                    return
                if not state.ended and now - state.last_seen >= settings.inactivity_timeout:
                    closing = await finish(state, None, state.last_ts)  # diagnosed only if it left exceptions
            elif not state.ended:  # app_end
                state.note(env, now)
                closing = await finish(state, env.status, env.ts)
            apps[env.app_id] = state.to_dict()
        for checkpoint in closing:
            streams.pop(checkpoint.key, None)
            for handle in checkpoint.acks:
                handle.ack()
        for checkpoint in live.stale(message.partition, time.monotonic()):
            write(checkpoint, None)
        event.ack()

    @app.agent(logs)
    async def ingest(stream: faust.StreamT) -> None:
        async for event in stream.noack().events():
            try:
                await apply(event)
            except BadInput as err:
                await dead_letter(event, err)
                event.ack()
            except Exception as exc:  # noqa: BLE001 - a bug must not silently consume the record
                log.exception("cannot process record %s/%s", event.message.partition, event.message.offset)
                await dead_letter(event, BadInput("processing_error", repr(exc)[:500]))
                event.ack()

    @app.on_partitions_revoked.connect
    async def forget_open_streams(app: faust.App, revoked: set, **kwargs: Any) -> None:  # noqa: ARG001
        """After a rebalance faust reads again from the committed offsets: start from the checkpoints."""
        live.reset()

    if settings.webhook_url or settings.webhook_routes:
        dispatcher = Dispatcher(store, settings, timeout=min(settings.webhook_timeout, settings.webhook_budget))

        @app.timer(interval=0.5)
        async def send_webhooks() -> None:
            """Beside the stream, never on its path: a slow receiver delays only its own deliveries."""
            await dispatcher.run_once()

    if settings.excerpt_retention_days is not None:
        days = settings.excerpt_retention_days

        @app.timer(interval=3600.0)
        async def purge_old_excerpts() -> None:
            cutoff = datetime.now(UTC) - timedelta(days=days)
            log.info("purged the excerpts of %d old exception events", store.purge_excerpts(cutoff))

    @app.timer(interval=settings.inactivity_check_interval)
    async def look_for_quiet_applications() -> None:
        """Ask the agent to check applications that went quiet (table writes need its context)."""
        now = time.time()
        for app_id, raw in list(apps.items()):
            if raw and now - raw["last_seen"] >= settings.inactivity_timeout:
                body = json.dumps({"app_id": app_id, "event": "inactivity_check"}).encode("utf-8")
                await logs.send(key=app_id.encode("utf-8"), value=body)

    return app


def run(settings: Settings) -> None:
    """``sparktriage worker``: refuse to start on broken rules or settings, then consume until stopped."""
    from classifiers.core import load_classifier
    from sparktriage.store import open_store
    from sparktriage.topics import ensure_topics

    classifier = load_classifier(settings)
    store = open_store(settings.db)
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    settings = settings.replace(partitions=ensure_topics(settings))
    app = create_app(settings, classifier, store)
    faust.Worker(app, loglevel="info", quiet=True).execute_from_commandline()
