"""Create the input, output and dead-letter topics when they are missing (kafka-python admin)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from sparktriage.settings import Settings


def ensure_topics(settings: Settings, timeout: float = 30.0, also: Sequence[str] = ()) -> int:
    """Create missing topics (and ``also``: the repacking stage's input); return the input topic's partition count.

    The worker sizes its tables from that count: faust needs changelog topics
    partitioned like their source, whoever created the source topic.
    """
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap.split(","), client_id="sparktriage-admin",
                             request_timeout_ms=int(timeout * 1000))
    try:
        existing = set(admin.list_topics())
        wanted = [settings.input_topic, settings.output_topic, settings.dlq_topic, *also]
        missing = [NewTopic(name, settings.partitions, 1) for name in wanted if name not in existing]
        if missing:
            try:
                admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another worker created them meanwhile
        described = admin.describe_topics([settings.input_topic])
        return len(described[0]["partitions"]) or settings.partitions
    finally:
        admin.close()


def publisher(settings: Settings) -> Callable[[list[Any]], None]:
    """Publish relabelled diagnoses on the output topic (``relabel --notify``), one flush per batch."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=settings.bootstrap.split(","), acks="all")

    def publish(changes: list[Any]) -> None:
        for change in changes:
            producer.send(settings.output_topic, key=change.app.app_id.encode("utf-8"),
                          value=change.payload(settings).encode("utf-8"))
        producer.flush()

    return publish
