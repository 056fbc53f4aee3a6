"""The worker, observed: its metrics' timers, its readiness, its quiet log in an outage.

``ingest/app.py`` counts at named points (a record read, a line folded, a
checkpoint, a dead letter, a diagnosis, a webhook round) through a
:class:`~sparktriage.metrics.WorkerMetrics`; what is sampled rather than
counted is here, on faust timers: consumer lag, open applications, outbox
depth, the corrections people recorded in the store (not a worker's count), and
the heartbeat ``/healthz`` reads. Ready (``/readyz``) means: the
worker finished joining its consumer group (recovery included) and is not
rebalancing, the Kafka client reaches the broker, and the store answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import faust
from prometheus_client import CollectorRegistry

from sparktriage import __version__
from sparktriage.metrics import Health, NoMetrics, WorkerMetrics, new_registry
from sparktriage.outage import OutageLog
from sparktriage.settings import Settings
from sparktriage.store.base import Store

SAMPLE_INTERVAL = 5.0


def worker_metrics(settings: Settings) -> tuple[WorkerMetrics, CollectorRegistry | None]:
    """The worker's metrics and their registry; none at all with ``worker_web_port = 0``."""
    if settings.worker_web_port <= 0:
        return NoMetrics(), None
    registry = new_registry()
    return WorkerMetrics(registry, settings.input_topic, settings.partitions), registry


def _committed(app: faust.App) -> dict[Any, int | None]:
    """The group's committed offsets (next to read) of the partitions this worker holds.

    faust keeps them in ``Consumer._committed_offset`` (seeded from the broker
    when partitions are assigned, updated on every commit); its public
    monitor only learns them at the first commit after a restart, which
    would report a restarted worker's whole topic as lag for a few seconds.
    """
    committed = getattr(app.consumer, "_committed_offset", None)
    if committed is None:
        return dict(app.monitor.tp_committed_offsets)
    return dict(committed)


def observe(app: faust.App, settings: Settings, store: Store, metrics: WorkerMetrics,
            open_apps: Callable[[], int | None], *, classifier_versions: tuple[str, str | None]) -> Health:
    """Sample the gauges, beat the heart, fold outages; returns the worker's :class:`Health`.

    ``open_apps``: how many applications are open, None while not known (``ingest.checks.AppIndex``: kept
    in memory, where decoding the ``apps`` table at each sample cost seconds with 100,000 applications)."""
    outage = OutageLog()
    outage.install()
    recovered = asyncio.Event()

    def group() -> str | None:
        if not recovered.is_set():
            return "not yet joined its consumer group"
        return "rebalancing" if app.rebalancing else None

    def reachable() -> None:
        store.ping()

    health = Health({"group": group, "kafka": outage.problem, "store": reachable})
    rule_pack, model = classifier_versions
    metrics.set_versions(version=__version__, rule_pack=rule_pack, model=model)

    @app.on_rebalance_complete.connect
    async def joined(app: faust.App, **kwargs: Any) -> None:  # noqa: ARG001
        recovered.set()

    def heartbeat() -> None:
        """On the event loop itself, not a faust timer: those start only after table recovery,
        and a worker recovering a long changelog is alive (only not ready)."""
        health.beat()
        outage.check()
        app.loop.call_later(1.0, heartbeat)

    app.loop.call_soon(heartbeat)

    @app.timer(interval=SAMPLE_INTERVAL)
    async def sample() -> None:
        """Lag as of the last fetch (the client's high watermark minus the committed offset)."""
        if recovered.is_set() and not app.rebalancing:
            committed = _committed(app)
            lags = {}
            for tp in app.consumer.assignment():
                if tp.topic == settings.input_topic:
                    try:
                        end = app.consumer.highwater(tp)
                    except AssertionError:  # aiokafka's assignment moved on under faust's
                        continue
                    if end is not None:
                        lags[tp.partition] = max(end - (committed.get(tp) or 0), 0)
            metrics.set_lag(lags)
        count = open_apps()
        if count is not None:
            metrics.open_apps.set(count)
        metrics.outbox.set(await asyncio.to_thread(store.outbox_depth))
        metrics.set_human_corrections(await asyncio.to_thread(store.human_corrections))

    return health
