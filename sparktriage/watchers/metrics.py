"""The watchers' metrics and health (served by ``sparktriage.metrics.serve`` on ``watch_web_port``).

Alive: the watcher's loop beat recently (a YARN poll, a Kubernetes event or
watch renewal). Ready: its last poll succeeded (YARN), or every stream has
listed and is watching, not backing off after errors (Kubernetes).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge

from sparktriage.metrics import Health, new_registry, serve
from sparktriage.settings import Settings
from sparktriage.watchers.publisher import KafkaPublisher


class WatcherMetrics:
    def __init__(self, source: str, registry: CollectorRegistry | None = None) -> None:
        self.source = source
        registry = registry or CollectorRegistry()
        self.registry = registry
        self.published = Counter("sparktriage_watch_records_published",
                                 "Lifecycle records the watcher published, by event (app_end, container_end).",
                                 ["source", "event"], registry=registry)
        self.requests = Counter("sparktriage_watch_requests",
                                "Polls of the ResourceManager, or lists and watches of the Kubernetes API, "
                                "by outcome (ok, error).", ["source", "outcome"], registry=registry)
        self.relists = Counter("sparktriage_watch_relists",
                               "Kubernetes lists made again because the watch's resourceVersion was gone (410).",
                               ["source"], registry=registry)
        self.last_ok = Gauge("sparktriage_watch_last_success_timestamp_seconds",
                             "When the cluster manager last answered.", ["source"], registry=registry)
        self.failing: set[str] = set()  # the streams (or "poll") whose last request failed
        self.health = Health({"cluster manager": self._answering}, stale_after=900.0)

    def _answering(self) -> str | None:
        return f"failing: {', '.join(sorted(self.failing))}" if self.failing else None

    def ok(self, what: str = "poll") -> None:
        self.requests.labels(self.source, "ok").inc()
        self.last_ok.labels(self.source).set(time.time())
        self.failing.discard(what)
        self.health.beat()

    def error(self, what: str = "poll") -> None:
        self.requests.labels(self.source, "error").inc()
        self.failing.add(what)
        self.health.beat()  # alive: the loop runs; not ready while it fails

    def sent(self, records: list[dict]) -> None:
        for record in records:
            self.published.labels(self.source, record.get("event", "app_end")).inc()


@contextmanager
def watching(settings: Settings, kind: str) -> Iterator[tuple[KafkaPublisher, WatcherMetrics]]:
    """What every watcher runs with: the Kafka publisher and its metrics served on ``watch_web_port``,
    both closed when the watcher stops."""
    publisher = KafkaPublisher(settings)
    metrics = WatcherMetrics(kind, new_registry())
    server = serve(settings.worker_web_host, settings.watch_web_port, metrics.registry, metrics.health) \
        if settings.watch_web_port else None
    try:
        yield publisher, metrics
    finally:
        publisher.close()
        if server:
            server.close()
