"""Where the stream's results go: the store (with the webhook outbox), the output topic, dead letters.

The worker (``ingest.app``) decides *when* an application is settled; this
module decides what is sent and keeps the delivery promise: a diagnosis is
stored durably (its webhook requests in the same transaction) and then
published, retried with backoff; if the outputs keep failing the worker
stops *before* the record is acknowledged, so it is consumed again after a
restart. Nothing is sent twice: an application settled again with the same
answer (late lines) sends nothing. Beside the stream, on timers: the webhook
outbox, spike alerts and the excerpt purge.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import faust

from classifiers.core import Classifier
from ingest.headers import origin_of
from ingest.state import AppState
from sparktriage.delivery.dispatcher import Dispatcher
from sparktriage.delivery.spikes import SpikeWatch
from sparktriage.delivery.webhook import webhook_urls
from sparktriage.errors import BadInput
from sparktriage.metrics import WorkerMetrics
from sparktriage.payload import payload_text, supersedes
from sparktriage.records import AppInfo, Diagnosis, ExceptionEvent, Origin
from sparktriage.settings import Settings
from sparktriage.status import FAILURES, closing_note
from sparktriage.store.base import Store, dead_letter_origin, fingerprint

log = logging.getLogger("sparktriage.worker")
OUTPUT_RETRIES = 5


class Outputs:
    """The worker's outputs and the timers beside the stream that drain them."""

    def __init__(self, app: faust.App, settings: Settings, classifier: Classifier, store: Store, *,
                 diagnoses: faust.TopicT, dead_letters: faust.TopicT, metrics: WorkerMetrics) -> None:
        self.app, self.settings, self.classifier, self.store = app, settings, classifier, store
        self.diagnoses, self.dead_letters, self.metrics = diagnoses, dead_letters, metrics
        self.dispatcher = Dispatcher(store, settings, timeout=min(settings.webhook_timeout, settings.webhook_budget))
        # Spike alerts (sparktriage.delivery.spikes): checked after each saved diagnosis and on a timer.
        self.spikes = SpikeWatch(store, settings) if settings.alert_url else None

    async def deliver(self, state: AppState, status: str, ended: float | None, last: int,
                      all_events: list[ExceptionEvent]) -> None:
        """Diagnose the attempts the end settles and send what changed since the last delivery: the
        last attempt ``last``, and earlier ones not diagnosed yet (one settled before keeps its own end)."""
        for attempt in sorted(state.attempts) or [1]:
            if attempt != last and str(attempt) in state.delivered:
                continue
            info = state.app_info(attempt, status, ended)
            mine = [e for e in all_events if e.attempt == attempt]
            diagnosis = self.classifier.diagnose(mine, info)
            note = closing_note(status, replaces=state.provisional is not None or str(attempt) in state.delivered)
            if note:
                diagnosis = replace(diagnosis, notes=diagnosis.notes + (note,))
            if await self.send(state, info, mine, diagnosis):
                self.metrics.diagnosed(diagnosis.category, diagnosis.source,
                                       time.time() - (ended if ended is not None else state.last_seen))
                if status in FAILURES:  # only failures make a spike
                    self.watch_spikes(lambda: self.spikes.observe(info, mine, diagnosis))  # type: ignore[union-attr]

    async def send(self, state: AppState, info: AppInfo, events: list[ExceptionEvent], diagnosis: Diagnosis) -> bool:
        """Store a diagnosis durably, then publish it; retried, never skipped; nothing sent twice
        (returns whether it was sent)."""
        fp = fingerprint(diagnosis)
        if state.delivered.get(str(info.attempt)) == fp:
            return False  # settled again (late lines) with the same answer
        earlier = self.store.current_diagnosis(state.app_id, info.attempt) if str(info.attempt) in state.delivered \
            else None  # an early notice, or an answer late lines changed: say what it replaces
        body = payload_text(info, diagnosis, dashboard_url=self.settings.dashboard_url, end_source=state.end_source,
                            replaces=supersedes(earlier) if earlier else None)
        for n in range(OUTPUT_RETRIES):
            try:  # the webhook requests join the outbox in the diagnosis's own transaction
                self.store.save(info, events, diagnosis, [(url, body) for url in webhook_urls(self.settings, info)])
                await (await self.diagnoses.send(key=state.app_id.encode("utf-8"), value=body.encode("utf-8")))
                break
            except Exception:  # noqa: BLE001 - any output failure is retried
                log.exception("output failed for %s (try %d)", state.app_id, n + 1)
                await asyncio.sleep(min(2.0 ** n * 0.2, 5.0))
        else:
            log.critical("outputs keep failing; stopping before %s is acknowledged", state.app_id)
            await self.app.crash(RuntimeError(f"cannot deliver diagnosis of {state.app_id}"))
        state.delivered[str(info.attempt)] = fp
        log.info("diagnosed %s attempt %d (%s): %s (%s)", state.app_id, info.attempt, info.final_status,
                 diagnosis.category, diagnosis.rule_id or diagnosis.source)
        return True

    async def dead_letter(self, event: faust.EventT, err: BadInput) -> None:
        """Keep a record that cannot be used, with its reason: the store first, then the topic; once
        per origin (where it was first read), so that a record consumed again after a crash of the
        worker, or sent again by the repacking stage, is not kept twice."""
        message = event.message
        try:
            origin = origin_of(message.headers)
        except BadInput:  # the record is refused anyway: it is kept as read here
            origin = None
        first = origin or Origin(message.topic, message.partition, message.offset)
        value, detail = message.value or b"", err.detail
        if err.reason == "record_too_large":  # kept by its head, all the repacking stage can send of one
            value = value[:self.settings.max_line_bytes]
            detail = f"{detail}; value_b64 holds its first {len(value)} bytes"
        record = {
            "reason": err.reason, "detail": detail, "topic": message.topic,
            "partition": message.partition, "offset": message.offset,
            "key": message.key.decode("utf-8", "replace") if message.key else None,
            "value_b64": base64.b64encode(value).decode("ascii"),
        }
        if origin is not None:
            record["origin"] = {"topic": origin.topic, "partition": origin.partition, "offset": origin.offset}
        body = json.dumps(record)
        if not self.store.record_dead_letter("input", err.reason, err.detail, body,  # durable first
                                             origin=dead_letter_origin(first, message.key, message.value)):
            log.info("dead letter %s at %s/%s kept already", err.reason, message.partition, message.offset)
            return
        self.metrics.dead_lettered(err.reason)
        try:
            await (await self.dead_letters.send(key=message.key, value=body.encode("utf-8")))
        except Exception:  # noqa: BLE001 - the store row above already keeps it
            log.exception("dead-letter topic refused %s/%s; kept in the store", message.partition, message.offset)
        log.warning("dead letter %s at %s/%s: %s", err.reason, message.partition, message.offset, err.detail)


    async def send_webhooks(self) -> None:
        """Beside the stream, never on its path: a slow receiver delays only its own deliveries."""
        self.metrics.webhook_tried(await self.dispatcher.run_once())

    def watch_spikes(self, check: Callable[[], Any]) -> None:
        """Run a spike check; a failing one is logged, never holds the stream (the timer checks again)."""
        if self.spikes is None:
            return
        try:
            check()
        except Exception:  # noqa: BLE001 - alerts are beside the diagnoses, not on their path
            log.exception("spike check failed; checking again on the next round")

    async def check_spikes(self) -> None:
        """Open alerts end here when failures simply stop arriving; keys not checked on arrival too."""
        self.watch_spikes(lambda: self.spikes.sweep())  # type: ignore[union-attr]

    async def purge_old_excerpts(self) -> None:
        """Drop raw excerpts older than ``excerpt_retention_days`` (the redacted text stays)."""
        cutoff = datetime.now(UTC) - timedelta(days=self.settings.excerpt_retention_days or 0)
        log.info("purged the excerpts of %d old exception events", self.store.purge_excerpts(cutoff))
