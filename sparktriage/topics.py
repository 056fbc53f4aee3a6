"""Create the input, output and dead-letter topics when they are missing (kafka-python admin)."""

from __future__ import annotations

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from sparktriage.settings import Settings


def ensure_topics(settings: Settings, timeout: float = 30.0) -> None:
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap.split(","), client_id="sparktriage-admin",
                             request_timeout_ms=int(timeout * 1000))
    try:
        existing = set(admin.list_topics())
        wanted = [settings.input_topic, settings.output_topic, settings.dlq_topic]
        missing = [NewTopic(name, settings.partitions, 1) for name in wanted if name not in existing]
        if missing:
            try:
                admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another worker created them meanwhile
    finally:
        admin.close()
