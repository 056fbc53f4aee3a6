"""Where lifecycle records go: the input topic (kafka-python), or a list in tests.

A batch is journalled as pending in the cursor, sent, acknowledged by the
broker (``acks=all``), then journalled as sent: see ``sparktriage.watchers.cursor``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from sparktriage.settings import Settings
from sparktriage.watchers.cursor import Cursor


class Publisher(Protocol):
    def send(self, records: Sequence[dict[str, Any]]) -> None:
        """Publish every record, keyed by its app id; return once all are acknowledged."""


class KafkaPublisher:
    def __init__(self, settings: Settings) -> None:
        from kafka import KafkaProducer

        from sparktriage.delivery.topics import ensure_topics

        ensure_topics(settings)  # never let the broker auto-create the input topic with its own partition count
        self.topic = settings.input_topic
        self.producer = KafkaProducer(bootstrap_servers=settings.bootstrap.split(","), acks="all", linger_ms=5,
                                      retries=5)

    def send(self, records: Sequence[dict[str, Any]]) -> None:
        futures = [self.producer.send(self.topic, key=r["app_id"].encode("utf-8"),
                                      value=json.dumps(r).encode("utf-8")) for r in records]
        self.producer.flush()
        for future in futures:
            future.get(timeout=30)  # raises the broker's error, if any

    def close(self) -> None:
        self.producer.close()


class MemoryPublisher:
    """The in-memory twin for unit tests."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def send(self, records: Sequence[dict[str, Any]]) -> None:
        self.records.extend(records)


def publish(publisher: Publisher, cursor: Cursor,
            batch: dict[str, tuple[dict[str, Any], float]]) -> list[dict[str, Any]]:
    """Send ``batch`` (key -> (record, time it refers to)) exactly once per key as far as a crash allows.

    Keys already sent are skipped; the batch is journalled pending, sent, then
    journalled sent. Returns the records sent.
    """
    fresh = {k: v for k, v in batch.items() if k not in cursor.sent}
    if not fresh:
        return []
    cursor.pending.update({k: {"record": r, "time": t} for k, (r, t) in fresh.items()})
    cursor.save()
    publisher.send([r for r, _ in fresh.values()])
    for key, (_, when) in fresh.items():
        cursor.sent[key] = when
        cursor.pending.pop(key, None)
    cursor.save()
    return [r for r, _ in fresh.values()]


def resend_pending(publisher: Publisher, cursor: Cursor) -> list[dict[str, Any]]:
    """After a crash mid-batch: send again what was in flight (at least once, never lost)."""
    if not cursor.pending:
        return []
    batch = {k: (v["record"], float(v["time"])) for k, v in cursor.pending.items()}
    return publish(publisher, cursor, batch)
