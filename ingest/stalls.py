"""Stalled applications: still running, going nowhere.

The hung and orphaned jobs a platform team chases print no error and never
end, so neither an exception nor an end tells about them. Their driver's
progress lines do; :class:`Progress` folds them (and the same facts from
event-log records) per application and says when one is stalled:

- ``no_resources``: the driver keeps printing ``Initial job has not accepted
  any resources`` for ``stall_timeout`` seconds;
- ``executors_lost``: every executor was lost (``Lost executor N on host:
  reason``, not the driver's own ``killed by driver`` removals of idle
  executors) and none registered again for ``stall_timeout`` seconds;
- ``no_progress``: tasks are running but none finished for ``stall_timeout``
  seconds while the application still logs.

Times are the worker's clock when the lines arrived (a replay of old logs
does not look stalled). The worker keeps one :class:`Progress` per open
application in memory only: it is a heuristic for an early notice, and after
a restart it starts again from the lines that follow. Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ingest.eventlog import EXECUTOR_ADDED, EXECUTOR_REMOVED, TASK_ENDED, TASK_STARTED, EventLogRecord
from sparktriage.records import AppInfo, Diagnosis, ExceptionEvent

NO_RESOURCES, EXECUTORS_LOST, NO_PROGRESS = "no_resources", "executors_lost", "no_progress"
#: Every line ``Progress`` acts on holds one of these words (the others are not read).
PROGRESS_WORDS = ("Initial job has not accepted", "Registered executor", "Lost executor", "killed by driver",
                  "Starting task", "Finished task", "Lost task")
_NO_RESOURCES = "Initial job has not accepted any resources"
_REGISTERED = re.compile(r"Registered executor .*? with ID (?P<id>[\w-]+)")
_LOST = re.compile(r"Lost executor (?P<id>[\w-]+) on ")
_REMOVED = re.compile(r"Executor (?P<id>[\w-]+) on \S+ killed by driver")
_STARTED, _FINISHED, _FAILED = "Starting task ", "Finished task ", "Lost task "


@dataclass(frozen=True, slots=True)
class Stall:
    """Why an application looks stalled, since when, and the line that shows it."""

    kind: str
    since: float
    evidence: str

    def describe(self, now: float) -> str:
        minutes = max(0.0, now - self.since) / 60.0
        what = {NO_RESOURCES: "the driver has had no resources", EXECUTORS_LOST: "every executor is lost and none "
                "registered again", NO_PROGRESS: "no task finished while tasks ran"}[self.kind]
        return f"still running, stalled: {what} for {minutes:.1f} min"


def provisional(diagnose: Callable[[list[ExceptionEvent], AppInfo], Diagnosis], events: list[ExceptionEvent],
                info: AppInfo, stall: Stall, now: float) -> Diagnosis:
    """The early notice of a stalled application: its diagnosis so far, with the stall's evidence line
    as one more event (``Initial job has not accepted any resources`` is ``resource_unavailable``)."""
    event = ExceptionEvent(app_id=info.app_id, text=stall.evidence, attempt=info.attempt, role="driver",
                           level="WARN", message=f"stalled ({stall.kind})", excerpt=(stall.evidence,))
    diagnosis = diagnose([*events, event], info)
    note = f"provisional: {stall.describe(now)}; the final diagnosis follows when it ends"
    return replace(diagnosis, notes=(*diagnosis.notes, note))


@dataclass
class Progress:
    """One running application's progress as its driver tells it (see the module docstring)."""

    no_resources_since: float | None = None
    no_resources_line: str = ""
    live: set[str] = field(default_factory=set)
    lost_since: float | None = None  # every executor lost, none back since
    lost_line: str = ""
    running: int = 0
    waiting_since: float | None = None  # tasks running and none finished since
    last_line: float = 0.0

    def fold_lines(self, lines: list[str], role: str, now: float) -> None:
        """An envelope's lines that hold one of ``PROGRESS_WORDS`` (the worker finds them with the end's
        gate words in one scan, ``ingest.watchlist``); only the driver's count."""
        self.last_line = now
        if role not in ("driver", "unknown"):
            return
        for line in lines:
            self._line(line, now)

    def fold_record(self, record: EventLogRecord, now: float) -> None:
        """The same facts from an event-log record."""
        self.last_line = now
        if record.progress == TASK_STARTED:
            self._task_started(now)
        elif record.progress == TASK_ENDED:
            self._task_ended(now, finished=record.text is None)
        elif record.progress == EXECUTOR_ADDED and record.executor:
            self._registered(record.executor)
        elif record.progress == EXECUTOR_REMOVED and record.executor:
            self._gone(record.executor, now, lost=record.text is not None, line=record.text or "")

    def stalled(self, now: float, timeout: float) -> Stall | None:
        """The stall that has lasted ``timeout`` seconds by ``now``, if any (the longest-standing first)."""
        if self.no_resources_since is not None and now - self.no_resources_since >= timeout:
            return Stall(NO_RESOURCES, self.no_resources_since, self.no_resources_line)
        if self.lost_since is not None and now - self.lost_since >= timeout:
            return Stall(EXECUTORS_LOST, self.lost_since, self.lost_line)
        if self.running > 0 and self.waiting_since is not None and now - self.waiting_since >= timeout \
                and now - self.last_line < timeout:  # the application still logs: hung, not gone
            return Stall(NO_PROGRESS, self.waiting_since,
                         f"{self.running} task(s) running, none finished for {now - self.waiting_since:.0f} s")
        return None

    def _line(self, line: str, now: float) -> None:
        if _NO_RESOURCES in line:
            if self.no_resources_since is None:
                self.no_resources_since = now
            self.no_resources_line = line[:500]
        elif _STARTED in line:
            self._task_started(now)
        elif _FINISHED in line:
            self._task_ended(now, finished=True)
        elif _FAILED in line:
            self._task_ended(now, finished=False)
        elif (m := _REGISTERED.search(line)) is not None:
            self._registered(m["id"])
        elif (m := _LOST.search(line)) is not None:
            self._gone(m["id"], now, lost=True, line=line)
        elif (m := _REMOVED.search(line)) is not None:
            self._gone(m["id"], now, lost=False, line=line)

    def _task_started(self, now: float) -> None:
        self.no_resources_since = None  # tasks run: resources came
        if self.running == 0:
            self.waiting_since = now
        self.running += 1

    def _task_ended(self, now: float, *, finished: bool) -> None:
        self.running = max(0, self.running - 1)
        if finished:
            self.waiting_since = now if self.running else None
        elif not self.running:
            self.waiting_since = None

    def _registered(self, executor: str) -> None:
        self.live.add(executor)
        self.no_resources_since = None
        self.lost_since = None

    def _gone(self, executor: str, now: float, *, lost: bool, line: str) -> None:
        self.live.discard(executor)
        if lost and not self.live and self.lost_since is None:
            self.lost_since = now
            self.lost_line = line[:500]
