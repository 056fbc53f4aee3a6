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
from pathlib import Path
from typing import Any

import faust

from classifiers.core import Classifier
from ingest.envelope import parse_envelope
from ingest.state import MAX_EVENTS, AppState, assembler_from, event_key, events_from_records
from sparktriage.errors import BadInput
from sparktriage.payload import build_payload
from sparktriage.records import Envelope, ExceptionEvent
from sparktriage.settings import Settings
from sparktriage.store.base import Store

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

    def fold_line(state: AppState, env: Envelope, offset: int) -> bool:
        """Feed a log envelope's lines to its container's assembler; keep the events it closes.

        Returns whether the application's own state changed (a new stream or
        new events). A record at or below the stream's last applied offset was
        already folded in before a restart, and is skipped.
        """
        stored = streams.get(env.stream_key)
        if stored and offset <= stored["offset"]:
            return False
        assembler = assembler_from(stored["assembler"] if stored else None)
        closed = assembler.feed([env.text])
        streams[env.stream_key] = {
            "assembler": assembler.to_dict(), "offset": offset, "attempt": env.attempt,
            "container_id": env.container_id, "role": env.role, "host": env.host,
        }
        before = state.n_events + state.dropped_events
        add_events(state, events_from_records(closed, env))
        if env.stream_key in state.streams:
            return state.n_events + state.dropped_events != before
        state.streams.append(env.stream_key)
        return True

    def flush_streams(state: AppState) -> None:
        """The application ended: close every open record."""
        for key in state.streams:
            stored = streams.pop(key, None)
            if not stored:
                continue
            env = Envelope(app_id=state.app_id, attempt=stored["attempt"], container_id=stored["container_id"],
                           role=stored["role"], host=stored["host"])
            add_events(state, events_from_records(assembler_from(stored["assembler"]).flush(), env))
        state.streams = []

    async def deliver(state: AppState, status: str | None, ended: float | None) -> None:
        """Diagnose every attempt, store it durably, then publish it; retried, never skipped."""
        all_events = [ExceptionEvent.from_dict(events[event_key(state.app_id, n)]) for n in range(state.n_events)]
        for attempt in sorted(state.attempts) or [1]:
            info = state.app_info(attempt, status, ended)
            mine = [e for e in all_events if e.attempt == attempt]
            diagnosis = classifier.diagnose(mine, info)
            payload = json.dumps(build_payload(info, diagnosis)).encode("utf-8")
            for n in range(OUTPUT_RETRIES):
                try:
                    store.save(info, mine, diagnosis)
                    await (await diagnoses.send(key=state.app_id.encode("utf-8"), value=payload))
                    break
                except Exception:  # noqa: BLE001 - any output failure is retried
                    log.exception("output failed for %s (try %d)", state.app_id, n + 1)
                    await asyncio.sleep(min(2.0 ** n * 0.2, 5.0))
            else:
                log.critical("outputs keep failing; stopping before %s is acknowledged", state.app_id)
                await app.crash(RuntimeError(f"cannot deliver diagnosis of {state.app_id}"))
            log.info("diagnosed %s attempt %d: %s (%s)", state.app_id, attempt, diagnosis.category,
                     diagnosis.rule_id or diagnosis.source)
        for n in range(state.n_events):
            events.pop(event_key(state.app_id, n), None)

    async def finish(state: AppState, status: str | None, ended: float | None) -> None:
        flush_streams(state)
        if status in NON_SUCCESS or (status is None and state.n_events):
            await deliver(state, status, ended)
        else:  # SUCCEEDED: forget it, no diagnosis
            for n in range(state.n_events):
                events.pop(event_key(state.app_id, n), None)
        state.ended = status or "INACTIVE"
        state.n_events = 0

    async def apply(event: faust.EventT) -> None:
        """Fold one record into its application's state; finish the application when it ends."""
        message = event.message
        env = parse_envelope(message.key, message.value, max_line_bytes=settings.max_line_bytes)
        raw = apps.get(env.app_id)
        state = AppState.from_dict(raw) if raw else AppState(app_id=env.app_id)
        now = time.time()
        if env.event is None:  # a log line: the hot path, written only when something changed
            if state.ended:
                log.debug("ignoring a record of %s after it ended", env.app_id)
                return
            noted = state.note(env, now)
            if fold_line(state, env, message.offset) or noted or raw is None:
                apps[env.app_id] = state.to_dict()
            return
        if message.offset <= state.last_offset:
            return  # already applied before a restart
        state.last_offset = message.offset
        if env.event == "inactivity_check":
            if state.ended and now - state.last_seen > settings.inactivity_timeout:
                apps.pop(env.app_id, None)  # the tombstone has served its purpose
                return
            if not state.ended and now - state.last_seen >= settings.inactivity_timeout:
                await finish(state, None, state.last_ts)  # diagnosed only if it left exceptions
        elif not state.ended:  # app_end
            state.note(env, now)
            await finish(state, env.status, env.ts)
        apps[env.app_id] = state.to_dict()

    @app.agent(logs)
    async def ingest(stream: faust.StreamT) -> None:
        async for event in stream.events():
            try:
                await apply(event)
            except BadInput as err:
                await dead_letter(event, err)
            except Exception as exc:  # noqa: BLE001 - a bug must not silently consume the record
                log.exception("cannot process record %s/%s", event.message.partition, event.message.offset)
                await dead_letter(event, BadInput("processing_error", repr(exc)[:500]))

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
