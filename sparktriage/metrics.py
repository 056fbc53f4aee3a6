"""Prometheus metrics and health endpoints for the long-running processes.

The worker, the watchers and the read API each hold a
:class:`~prometheus_client.CollectorRegistry` of their own (so tests can run
several in one process) and a :class:`Health`, and serve both with
:func:`serve` on one loopback port: ``/metrics`` (the Prometheus text
format), ``/healthz`` (alive: the event loop beat recently) and ``/readyz``
(every readiness check passes, e.g. joined the consumer group and the store
answers). An ASGI process (the read API) can instead mount
``prometheus_client.make_asgi_app(registry)`` and answer the two health
paths from :meth:`Health.alive` / :meth:`Health.ready`.

The server runs in a thread, not on the event loop, so a scrape never
delays a record; liveness is still about the loop, because only the loop
calls :meth:`Health.beat`.

:class:`WorkerMetrics` holds the worker's metrics. The stream's hot path
(one call per record) touches only children bound in advance, so a record
costs a counter increment, never a label lookup.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    make_wsgi_app,
)
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from sparktriage.errors import ConfigError

#: Seconds from an application's end to its diagnosis: sub-second for ``app_end``,
#: around ``inactivity_timeout`` (30 min by default) for applications that went quiet.
DELAY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 2700.0, 3600.0, 7200.0)
WEBHOOK_OUTCOMES = ("delivered", "retry", "dead")


def new_registry() -> CollectorRegistry:
    """A registry with the standard process, platform and GC collectors (CPU, memory, open files)."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


#: A readiness check: None when ready, else a short reason (shown by ``/readyz``).
Check = Callable[[], str | None]


class Health:
    """What ``/healthz`` and ``/readyz`` answer.

    Alive: :meth:`beat` was called within ``stale_after`` seconds (the owner
    calls it from its event loop, so a wedged loop stops beating). Ready:
    alive, and every check returns None. A check that raises is not ready,
    with the exception as its reason.
    """

    def __init__(self, checks: dict[str, Check] | None = None, *, stale_after: float = 30.0) -> None:
        self.checks: dict[str, Check] = dict(checks or {})
        self.stale_after = stale_after
        self._last_beat = time.monotonic()

    def beat(self) -> None:
        self._last_beat = time.monotonic()

    def alive(self) -> tuple[bool, str]:
        quiet = time.monotonic() - self._last_beat
        if quiet > self.stale_after:
            return False, f"no heartbeat for {quiet:.0f} s"
        return True, "alive"

    def ready(self) -> tuple[bool, str]:
        ok, why = self.alive()
        if not ok:
            return ok, why
        problems = []
        for name, check in self.checks.items():
            try:
                problem = check()
            except Exception as exc:  # noqa: BLE001 - a failing check is an answer, not a crash
                problem = f"{type(exc).__name__}: {exc}"[:300]
            if problem:
                problems.append(f"{name}: {problem}")
        return (False, "; ".join(problems)) if problems else (True, "ready")


class _QuietHandler(WSGIRequestHandler):
    """No access log line per scrape."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


def _wsgi_app(registry: CollectorRegistry, health: Health) -> Callable:
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return metrics(environ, start_response)
        if path in ("/healthz", "/readyz"):
            ok, why = health.alive() if path == "/healthz" else health.ready()
            start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain")])
            return [why.encode("utf-8") + b"\n"]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"/metrics, /healthz or /readyz\n"]

    return app


@dataclass
class MetricsServer:
    """A running metrics and health server; ``port`` is the bound one (useful with port 0)."""

    host: str
    port: int
    _server: ThreadingWSGIServer
    _thread: threading.Thread

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def serve(host: str, port: int, registry: CollectorRegistry, health: Health) -> MetricsServer:
    """Serve ``/metrics``, ``/healthz`` and ``/readyz`` on ``host:port`` from a daemon thread.

    A port that cannot be bound is a configuration error (another process
    holds it), said in one line rather than a traceback.
    """
    try:
        server = make_server(host, port, _wsgi_app(registry, health), ThreadingWSGIServer, handler_class=_QuietHandler)
    except OSError as exc:
        raise ConfigError(f"cannot serve metrics on {host}:{port} ({exc.strerror or exc}); "
                          "choose another port (worker_web_port) or 0 to turn them off") from exc
    thread = threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True)
    thread.start()
    return MetricsServer(host, server.server_port, server, thread)


class WorkerMetrics:
    """The stream worker's metrics (names in README's "Metrics and health").

    Per record the worker calls :meth:`consumed` and, for a log line,
    :meth:`folded`; both are one increment of a child bound here. The rest
    happens per checkpoint, dead letter, diagnosis or timer tick.
    """

    def __init__(self, registry: CollectorRegistry, topic: str, partitions: int) -> None:
        self.topic = topic
        self.records = Counter("sparktriage_records_consumed", "Records read from the input topic.",
                               ["topic", "partition"], registry=registry)
        self._records = [self.records.labels(topic, str(p)) for p in range(partitions)]
        self.lag = Gauge("sparktriage_consumer_lag",
                         "Records in the partition after the group's committed offset (end offset - committed).",
                         ["topic", "partition"], registry=registry)
        self.lines = Counter("sparktriage_lines_folded", "Log lines folded into their application's streams.",
                             registry=registry)
        self.open_apps = Gauge("sparktriage_open_applications",
                               "Applications with state on this worker that have not ended.", registry=registry)
        self.checkpoints = Counter("sparktriage_checkpoint_writes",
                                   "Stream checkpoints written to the changelog-backed tables (a stream closed at its end counts once).", registry=registry)
        self.dead_letters = Counter("sparktriage_dead_letters", "Input records dead-lettered, by reason.",
                                    ["reason"], registry=registry)
        self.diagnoses = Counter("sparktriage_diagnoses", "Diagnoses made, by category and source.",
                                 ["category", "source"], registry=registry)
        self.delay = Histogram("sparktriage_diagnosis_delay_seconds",
                               "Seconds from an application's end (its app_end, or its last line when it went "
                               "quiet) to its diagnosis being stored and published.",
                               buckets=DELAY_BUCKETS, registry=registry)
        self.webhook = Counter("sparktriage_webhook_attempts", "Webhook tries, by outcome (delivered, retry: "
                               "failed and due again, dead: failed for good).", ["outcome"], registry=registry)
        for outcome in WEBHOOK_OUTCOMES:
            self.webhook.labels(outcome)
        self.outbox = Gauge("sparktriage_webhook_outbox_depth", "Webhook deliveries waiting in the outbox.",
                            registry=registry)
        # People correct through `label` and the Explorer, never through a worker: what a worker can say
        # honestly is the store's total, sampled (the same on every worker: max() it, never sum()).
        self.human = Gauge("sparktriage_human_corrections", "Corrections people recorded in the store (label, "
                           "the Explorer), by the category they chose; the store's total, sampled.", ["category"],
                           registry=registry)
        self.build = Info("sparktriage_build", "Versions of sparktriage, the rule packs and the model.",
                          registry=registry)
        self._lagging: set[int] = set()

    def consumed(self, partition: int) -> None:
        """One record read (hot path)."""
        try:
            self._records[partition].inc()
        except IndexError:  # the topic grew partitions since the worker started
            self._records.extend(self.records.labels(self.topic, str(p))
                                 for p in range(len(self._records), partition + 1))
            self._records[partition].inc()

    def folded(self, text: str) -> None:
        """The log lines of one record's ``text`` folded (hot path; counted here, so that with metrics off
        a record of a hundred lines is not counted for nothing)."""
        self.lines.inc(text.count("\n") + 1)

    def checkpoint_written(self) -> None:
        self.checkpoints.inc()

    def dead_lettered(self, reason: str) -> None:
        self.dead_letters.labels(reason).inc()

    def diagnosed(self, category: str, source: str, delay: float | None) -> None:
        self.diagnoses.labels(category, source).inc()
        if delay is not None:
            self.delay.observe(max(delay, 0.0))  # a shipper's clock ahead of ours is not negative time

    def webhook_tried(self, outcomes: dict[str, int]) -> None:
        """One dispatcher round: how many tries ended which way."""
        for outcome, n in outcomes.items():
            self.webhook.labels(outcome).inc(n)

    def set_lag(self, lags: dict[int, int]) -> None:
        """The input topic's lag per partition this worker holds; partitions it lost are dropped."""
        for partition in self._lagging - lags.keys():
            self.lag.remove(self.topic, str(partition))
        for partition, lag in lags.items():
            self.lag.labels(self.topic, str(partition)).set(lag)
        self._lagging = set(lags)

    def set_human_corrections(self, counts: dict[str, int]) -> None:
        for category, n in counts.items():
            self.human.labels(category).set(n)

    def set_versions(self, *, version: str, rule_pack: str, model: str | None) -> None:
        self.build.info({"version": version, "rule_pack_version": rule_pack, "model_version": model or "none"})


class NoMetrics(WorkerMetrics):
    """Metrics turned off (``worker_web_port = 0``): every call does nothing.

    The worker calls the same methods either way, which is what lets the
    benchmark compare the two.
    """

    def __init__(self, topic: str = "", partitions: int = 0) -> None:
        super().__init__(CollectorRegistry(), topic, 0)

    def consumed(self, partition: int) -> None:
        pass

    def folded(self, text: str) -> None:
        pass

    def checkpoint_written(self) -> None:
        pass
