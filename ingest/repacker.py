"""``sparktriage repack``: the repacking stage's loop (kafka-python), exactly as safe as the worker.

It reads ``repack_topic`` in its own consumer group, batches with
:class:`ingest.repack.Repacker` and sends to the worker's topic keyed by
application id with Kafka's default partitioner, the one the worker's own
records use, so an application's records share a partition, in order.

Without Kafka transactions (Tansu has none; production users bring their own
Kafka): every ``repack_linger`` seconds, and before its partitions are taken
away by a rebalance, the stage closes its open batches, waits until the
broker acknowledged every record sent (``acks=all``, one request in flight so
a retry cannot reorder), and only then commits the input offsets it read.
A crash loses nothing (what was not committed is read again) and doubles
nothing (what is read again comes with the same input offsets, which the
worker has folded already: ``ingest.live`` for batches' lines, the
``sparktriage-source`` header for what goes through whole: ``ingest.repack``). A failed send stops the stage
before the commit, for the same reason.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ingest.envelope import MAX_RECORD_LINES_WORTH
from ingest.repack import Out, Repacker
from sparktriage.settings import Settings

log = logging.getLogger("sparktriage.repack")


class Stage:
    """One repacking process: consumer, producer, the open batches, the offsets read since the last commit."""

    def __init__(self, settings: Settings) -> None:
        from kafka import KafkaConsumer, KafkaProducer

        self.settings = settings
        servers = settings.bootstrap.split(",")
        self.consumer = KafkaConsumer(
            bootstrap_servers=servers, group_id=settings.repack_group, enable_auto_commit=False,
            auto_offset_reset="earliest", max_poll_records=5000,
            session_timeout_ms=int(settings.session_timeout * 1000),
            heartbeat_interval_ms=int(min(3.0, settings.session_timeout / 3) * 1000))
        self.producer = KafkaProducer(
            bootstrap_servers=servers, acks="all", retries=10, max_in_flight_requests_per_connection=1,
            linger_ms=5, batch_size=256 * 1024,
            # anything the parser does not refuse as too large goes on untouched when it refuses it otherwise
            max_request_size=MAX_RECORD_LINES_WORTH * settings.max_line_bytes + 1024 * 1024)
        self.repacker = Repacker(max_lines=settings.repack_max_lines, max_line_bytes=settings.max_line_bytes,
                                 topic=settings.repack_topic)
        self.read: dict[Any, int] = {}  # input partition -> the next offset to commit
        self.sent: list[Any] = []  # futures of the records sent since the last commit

    def run(self, stop: threading.Event) -> None:
        from kafka import ConsumerRebalanceListener

        stage = self

        class _Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked: Any) -> None:
                stage.commit()  # what was read from them is sent and committed before another member reads on

            def on_partitions_assigned(self, assigned: Any) -> None:
                log.info("repacking %s", sorted(tp.partition for tp in assigned))

        self.consumer.subscribe([self.settings.repack_topic], listener=_Listener())
        deadline = time.monotonic() + self.settings.repack_linger
        try:
            while not stop.is_set():
                wait = max(0.0, deadline - time.monotonic())
                for tp, messages in self.consumer.poll(timeout_ms=int(wait * 1000)).items():
                    for m in messages:
                        self.send(self.repacker.add(tp.partition, m.offset, m.key, m.value, m.headers))
                    self.read[tp] = messages[-1].offset + 1
                if time.monotonic() >= deadline:
                    self.commit()
                    deadline = time.monotonic() + self.settings.repack_linger
            self.commit()
        finally:
            self.consumer.close(autocommit=False)
            self.producer.close()

    def send(self, records: list[Out]) -> None:
        for r in records:
            self.sent.append(self.producer.send(self.settings.input_topic, key=r.key, value=r.value,
                                                headers=r.headers or None))

    def commit(self) -> None:
        """Send the open batches, wait for the broker's acknowledgement of all sent, then commit what was read."""
        from kafka.structs import OffsetAndMetadata

        self.send(self.repacker.flush())
        self.producer.flush()
        for future in self.sent:
            future.get(timeout=0)  # raises the broker's refusal: stop before the commit, lose nothing
        self.sent.clear()
        if self.read:
            self.consumer.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in self.read.items()})
            self.read.clear()


def run(settings: Settings, stop: threading.Event) -> None:
    """Repack until ``stop`` is set (SIGTERM, Ctrl-C): then send, commit and leave the group."""
    from sparktriage.delivery.topics import ensure_topics

    ensure_topics(settings, also=[settings.repack_topic])
    stage = Stage(settings)
    log.info("repacking %s into %s (group %s)", settings.repack_topic, settings.input_topic, settings.repack_group)
    stage.run(stop)
