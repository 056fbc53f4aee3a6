"""Stalled applications from their driver's progress lines: no resources, every
executor lost, no task finishing while tasks run."""

from __future__ import annotations

from ingest.eventlog import translate
from ingest.stalls import EXECUTORS_LOST, NO_PROGRESS, NO_RESOURCES, Progress
from ingest.watchlist import RECORD_GATE

STARVED = ("24/03/12 10:11:13 WARN YarnScheduler: Initial job has not accepted any resources; check your cluster "
           "UI to ensure that workers are registered and have sufficient resources")
REGISTERED = ("24/03/12 10:11:20 INFO YarnSchedulerBackend$YarnDriverEndpoint: Registered executor "
              "NettyRpcEndpointRef(spark-client://Executor) (10.0.0.7:43210) with ID {n},  ResourceProfileId 0")
LOST = "24/03/12 10:12:00 ERROR YarnScheduler: Lost executor {n} on worker-{n}: Container marked as failed: exit 143"
STARTED = ("24/03/12 10:11:30 INFO TaskSetManager: Starting task {n}.0 in stage 1.0 (TID {n}) "
           "(worker-1, executor 1, partition {n}, PROCESS_LOCAL, 7890 bytes)")
FINISHED = "24/03/12 10:11:40 INFO TaskSetManager: Finished task {n}.0 in stage 1.0 (TID {n}) in 812 ms on worker-1"


def fold(progress: Progress, text: str, role: str, now: float) -> None:
    """One record's text, as the worker reads it (``Watchlist.read``): the lines the record's gate finds."""
    progress.fold_lines(RECORD_GATE.lines(text)[1], role, now)


def test_an_application_that_never_gets_resources_is_stalled_after_the_timeout() -> None:
    p = Progress()
    for t in range(0, 300, 15):  # the driver repeats the warning every 15 s
        fold(p, STARVED, "driver", 1000.0 + t)
        assert p.stalled(1000.0 + t, timeout=300) is None
    stall = p.stalled(1300.0, timeout=300)
    assert stall is not None and stall.kind == NO_RESOURCES and stall.since == 1000.0
    assert "Initial job has not accepted" in stall.evidence and "5.0 min" in stall.describe(1300.0)


def test_resources_arriving_clear_the_stall() -> None:
    p = Progress()
    fold(p, STARVED, "driver", 0.0)
    fold(p, REGISTERED.format(n=1), "driver", 100.0)
    assert p.stalled(1000.0, timeout=300) is None


def test_every_executor_lost_and_none_back_is_a_stall_but_idle_removals_are_not() -> None:
    p = Progress()
    for n in (1, 2):
        fold(p, REGISTERED.format(n=n), "driver", 0.0)
    fold(p, LOST.format(n=1), "driver", 10.0)
    assert p.stalled(1000.0, timeout=300) is None  # one is still there
    fold(p, LOST.format(n=2), "driver", 20.0)
    stall = p.stalled(320.0, timeout=300)
    assert stall is not None and stall.kind == EXECUTORS_LOST and "Lost executor 2" in stall.evidence
    fold(p, REGISTERED.format(n=3), "driver", 330.0)
    assert p.stalled(1000.0, timeout=300) is None

    idle = Progress()
    fold(idle, REGISTERED.format(n=1), "driver", 0.0)
    fold(idle, "24/03/12 10:13:00 INFO YarnScheduler: Executor 1 on worker-1 killed by driver.", "driver", 10.0)
    assert idle.stalled(1000.0, timeout=300) is None  # dynamic allocation let it go


def test_tasks_running_with_none_finishing_is_a_stall_finishing_ones_reset_it() -> None:
    p = Progress()
    fold(p, REGISTERED.format(n=1), "driver", 0.0)
    for n in range(3):
        fold(p, STARTED.format(n=n), "driver", 10.0)
    fold(p, FINISHED.format(n=0), "driver", 200.0)
    assert p.stalled(450.0, timeout=300) is None  # 250 s since the last one finished
    assert p.stalled(501.0, timeout=300) is None  # and nothing logged since: gone quiet, not hung
    fold(p, "24/03/12 10:19:00 INFO BlockManagerInfo: Removed broadcast_3_piece0 on worker-1", "driver", 480.0)
    stall = p.stalled(501.0, timeout=300)
    assert stall is not None and stall.kind == NO_PROGRESS and stall.evidence.startswith("2 task(s) running")
    for n in (1, 2):
        fold(p, FINISHED.format(n=n), "driver", 502.0)
    assert p.running == 0 and p.stalled(5000.0, timeout=300) is None  # nothing runs: idle, not stalled


def test_executor_lines_do_not_count() -> None:
    p = Progress()
    fold(p, STARVED, "executor", 0.0)
    assert p.stalled(1000.0, timeout=300) is None


def test_event_log_records_count_the_same() -> None:
    p = Progress()
    p.fold_record(translate({"Event": "SparkListenerExecutorAdded", "Executor ID": "1", "Timestamp": 1}), 0.0)
    p.fold_record(translate({"Event": "SparkListenerExecutorRemoved", "Executor ID": "1", "Timestamp": 2,
                             "Removed Reason": "Executor heartbeat timed out after 120000 ms"}), 5.0)
    stall = p.stalled(305.0, timeout=300)
    assert stall is not None and stall.kind == EXECUTORS_LOST and "heartbeat timed out" in stall.evidence
