"""A Kafka outage in the log: one line when it starts, slow reminders, one line when it ends."""

from __future__ import annotations

import logging
import re

import pytest

from sparktriage.outage import OutageLog


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def client(caplog: pytest.LogCaptureFixture):
    """aiokafka's client logger with the filter on it, and the clock the filter reads."""
    clock = Clock()
    outage = OutageLog(remind_every=60.0, quiet_after=5.0, clock=clock)
    logger = logging.getLogger("aiokafka.client")
    logger.addFilter(outage)
    caplog.set_level(logging.INFO)
    yield logger, outage, clock
    logger.removeFilter(outage)


def test_a_flood_of_reconnect_errors_is_a_start_two_reminders_and_an_end(client, caplog: pytest.LogCaptureFixture) -> None:
    logger, outage, clock = client
    for _ in range(1500):  # 150 s of errors, one every 100 ms
        logger.error("Unable connect to node with id %s: %s", 111, "[Errno 111] Connect call failed")
        logger.error("Unable to update metadata from [%s]", 111)
        clock.now += 0.1
        outage.check()
    assert outage.problem() == "Kafka broker unreachable for 150 s"
    clock.now += 5.0
    outage.check()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4, lines  # start, reminders at 60 s and 120 s, end
    assert lines[0].startswith("Kafka broker unreachable: Unable connect to node with id 111")
    assert re.match(r"Kafka broker still unreachable after 60 s \(1[12]\d\d client errors since; the latest: Unable", lines[1])
    assert lines[2].startswith("Kafka broker still unreachable after 120 s")
    assert lines[3] == "Kafka broker answers again: the client's errors stopped after 150 s (2999 folded)"
    assert outage.problem() is None


def test_other_errors_pass_and_a_second_outage_is_told_again(client, caplog: pytest.LogCaptureFixture) -> None:
    logger, outage, clock = client
    logger.error("Topic authorization failed for topics %s", ["spark-logs"])
    logger.info("Discovered coordinator 111 for group g")
    for _ in range(2):
        logger.error("Failed fetch messages from 111: NodeNotReadyError: not ready")
        logger.warning("Marking the coordinator dead (node 111) for group g.")  # folded: part of the outage
        clock.now += 6.0
        outage.check()
    lines = [r.getMessage() for r in caplog.records]
    assert lines[:2] == ["Topic authorization failed for topics ['spark-logs']", "Discovered coordinator 111 for group g"]
    assert [line.split(":")[0] for line in lines[2:]] == ["Kafka broker unreachable", "Kafka broker answers again"] * 2
