"""``sparktriage worker``: what it loads and checks before the stream app (``ingest.app``) runs.

The rules are compiled (or read from their cache) and linted first, so a
broken pack refuses the start; the model file is read beside the group join
(``ingest.modelread``); the metrics and health endpoints serve in a thread.
"""

from __future__ import annotations

from pathlib import Path

import faust
from faust.exceptions import ConsistencyError

from ingest.app import create_app
from ingest.modelread import read_model_beside
from ingest.observe import worker_metrics
from sparktriage.errors import ConfigError
from sparktriage.metrics import serve
from sparktriage.settings import Settings
from sparktriage.store.base import Store


def run(settings: Settings, store: Store | None = None) -> None:
    """``sparktriage worker``: refuse to start on broken rules or settings, then consume until stopped
    (``store``: the one the command opened already, to fail early on an unreachable database)."""
    from classifiers.core import load_classifier
    from sparktriage.store import open_store
    from sparktriage.delivery.topics import ensure_topics

    classifier = load_classifier(settings)  # the rules; the model file is read beside the group join
    store = store or open_store(settings.db)
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    settings = settings.replace(partitions=ensure_topics(settings))
    metrics, registry = worker_metrics(settings)
    app = create_app(settings, classifier, store, metrics)
    refusal = read_model_beside(app, classifier.model)
    if registry is not None:  # /metrics, /healthz, /readyz beside the stream, in a thread
        serve(settings.worker_web_host, settings.worker_web_port, registry, app.health)  # type: ignore[attr-defined]
    worker = faust.Worker(app, loglevel="info", quiet=True)
    try:
        worker.execute_from_commandline()
    finally:
        if refusal:  # the model could not be read: the worker stopped, and says why as any refusal to start
            raise refusal[0]
        if isinstance(worker.crash_reason, ConsistencyError):  # else faust exits 1 after its traceback, unexplained
            faust_dir = Path(settings.data_dir) / "faust"
            raise ConfigError(f"the tables in {faust_dir} are ahead of their changelog topics on {settings.bootstrap}: "
                              "another worker uses this data dir, or the broker lost the topics (an embedded one "
                              "restarted)", hint=f"give each worker its own --data-dir; after a broker lost its "
                              f"topics, remove {faust_dir} (the changelogs are the tables' source of truth)")
