"""A log whose name gives no role gets the one its driver-only or executor-only loggers say."""

from __future__ import annotations

from logtext.roles import ROLE_SCAN_CHARS, role_from_loggers
from sparktriage.tools.classify import events_of_text

DRIVER_LOG = """19/10/18 09:47:02 INFO BlockManagerMasterEndpoint: Registering block manager 10.1.2.3:33435 with 413.9 MiB RAM
19/10/18 09:47:40 WARN server.TransportChannelHandler: Exception in connection from /10.1.2.4:50701
java.lang.OutOfMemoryError: GC overhead limit exceeded"""
EXECUTOR_LOG = """24/03/12 10:11:12 INFO Executor: Running task 3.0 in stage 7.0 (TID 41)
24/03/12 10:11:14 ERROR Executor: Exception in task 3.0 in stage 7.0 (TID 41)
java.lang.OutOfMemoryError: Java heap space"""


def test_driver_and_executor_loggers_give_the_role() -> None:
    assert role_from_loggers(DRIVER_LOG) == "driver"
    assert role_from_loggers(EXECUTOR_LOG) == "executor"
    assert role_from_loggers("2024-03-12 10:11:12,345 ERROR [dag-scheduler-event-loop] "
                             "org.apache.spark.scheduler.DAGScheduler: Stage 3 failed") == "driver"


def test_a_known_role_both_kinds_or_none_are_left_as_they_are() -> None:
    assert role_from_loggers(DRIVER_LOG, "executor") == "executor"
    assert role_from_loggers(DRIVER_LOG + "\n" + EXECUTOR_LOG) == "unknown"  # local mode
    assert role_from_loggers("java.lang.OutOfMemoryError: Java heap space") == "unknown"
    # a logger named inside a message is not the record's logger, nor one past the scanned head
    assert role_from_loggers("24/03/12 10:11:12 ERROR Utils: stopping SparkContext: heap") == "unknown"
    assert role_from_loggers("x" * ROLE_SCAN_CHARS + "\n" + DRIVER_LOG) == "unknown"


def test_pasted_driver_log_events_carry_the_driver_role() -> None:
    events = events_of_text(DRIVER_LOG, "app")
    assert events and {e.role for e in events} == {"driver"}


def test_a_layout_with_the_callers_location_still_names_the_logger() -> None:
    """Hadoop's log4j layout ``%c{2} (%F:%M(%L)) - %m`` puts the location between the logger and the message
    (forms from the real train split: mudrod #135's executor log, a FileFormatWriter record)."""
    assert role_from_loggers("2017-04-14 10:48:00,782 ERROR executor.Executor (Logging.scala:logError(91)) - "
                             "Exception in task 0.0 in stage 0.0 (TID 0)") == "executor"
    assert role_from_loggers("2025-03-01 13:06:06,217 INFO [dag-scheduler-event-loop] scheduler.DAGScheduler "
                             "(Logging.scala:logInfo(54)): Job 3 failed") == "driver"
    assert role_from_loggers("2025-03-01 13:06:06,217 INFO SparkContext (see below) - stopping") == "unknown"
