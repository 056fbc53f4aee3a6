"""``sparktriage replay``: produce an application's log files into ``spark-logs`` as envelopes.

For the demo, tests and back-fills: each file is one container's log (a
``yarn logs`` dump is split per container), lines are sent in a realistic
interleaved order — containers write at the same time, so their lines mix on
the partition — and an ``app_end`` event closes the application. A
``metadata.json`` beside the logs may give team, user, queue, workflow and
final status.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafka import KafkaProducer

from logtext.yarn import is_aggregated, parse_container_id, split_yarn_aggregated
from sparktriage.tools.classify import role_of
from sparktriage.errors import BadInput
from sparktriage.tools.logfiles import LogFiles
from sparktriage.reach import reach_broker
from sparktriage.settings import Settings
from sparktriage.delivery.topics import ensure_topics

METADATA = "metadata.json"


@dataclass(frozen=True)
class ContainerLog:
    container_id: str
    role: str
    host: str | None
    lines: list[str]


def _containers(paths: Sequence[str]) -> Iterator[ContainerLog]:
    for name, text in LogFiles(paths, skip=(METADATA,)):
        path = Path(name)
        if is_aggregated(text):
            for section in split_yarn_aggregated(text):
                cid = parse_container_id(section.container_id)
                yield ContainerLog(section.container_id, cid.role if cid else "unknown", section.host,
                                   section.text.split("\n"))
        else:
            cid = parse_container_id(str(path))
            yield ContainerLog(cid.container_id if cid else path.stem, role_of(str(path)), None,
                               text.rstrip("\n").split("\n"))


def metadata_of(paths: Sequence[str]) -> dict[str, Any]:
    for arg in paths:
        candidate = Path(arg) / METADATA
        if candidate.is_file():
            return json.loads(candidate.read_text())
    return {}


def envelopes(app_id: str, paths: Sequence[str] | list[ContainerLog], meta: dict[str, Any],
              seed: int = 0) -> Iterator[dict[str, Any]]:
    """Every line as an envelope, containers interleaved in random runs, then app_end
    (``paths`` may be the logs :func:`_containers` read already)."""
    rng = random.Random(seed)
    logs = [p for p in paths if isinstance(p, ContainerLog)] or list(_containers(paths))  # type: ignore[arg-type]
    cursors = [0] * len(logs)
    common = {k: meta[k] for k in ("team", "user", "queue", "workflow") if k in meta}
    while True:
        live = [n for n, log in enumerate(logs) if cursors[n] < len(log.lines)]
        if not live:
            break
        n = rng.choice(live)
        log = logs[n]
        run = rng.randint(1, 12)
        for line in log.lines[cursors[n]: cursors[n] + run]:
            yield {"app_id": app_id, "line": line, "container_id": log.container_id, "role": log.role,
                   "host": log.host, **common}
        cursors[n] += run
    yield {"app_id": app_id, "event": "app_end", "status": meta.get("status", "FAILED"), **common}


def replay(settings: Settings, paths: Sequence[str], app_id: str | None = None,
           overrides: dict[str, Any] | None = None, producer: KafkaProducer | None = None) -> tuple[str, int]:
    """Send one application's logs; returns (app id, records sent)."""
    meta = {**metadata_of(paths), **{k: v for k, v in (overrides or {}).items() if v is not None}}
    app_id = app_id or meta.get("app_id")
    logs = list(_containers(paths))  # read, and refused if they are no logs, before the broker is asked
    if not app_id:
        app_id = next((cid.app_id for cid in map(parse_container_id, (log.container_id for log in logs)) if cid),
                      None)
    if not app_id:
        raise BadInput("no_app_id", "no application id in the logs: give --app-id or a metadata.json with app_id")
    reach_broker(settings)
    ensure_topics(settings)  # never let the broker auto-create it with its own partition count
    own = producer is None
    producer = producer or KafkaProducer(bootstrap_servers=settings.bootstrap.split(","), acks="all",
                                         linger_ms=5)
    sent = 0
    for envelope in envelopes(app_id, logs, meta):
        producer.send(settings.input_topic, key=app_id.encode("utf-8"),
                      value=json.dumps(envelope).encode("utf-8"))
        sent += 1
    producer.flush()
    if own:
        producer.close()
    return app_id, sent
