"""Spark event-log records: the structured account of how an application went.

Spark's event log (``spark.eventLog.enabled``) writes one JSON object per
line, each a ``SparkListener*`` event in the field names of
``org.apache.spark.util.JsonProtocol``. A shipper may send those lines as
envelopes, and ``classify`` reads whole event-log files. What they add:

- ``SparkListenerApplicationEnd``: the end, with ``ExitCode`` from Spark 4.0
  (0 -> SUCCEEDED, else FAILED; without it the status is inferred as for a
  driver shutdown, see ``ingest.endings``);
- ``SparkListenerJobEnd`` with ``"Job Result": {"Result": "JobFailed",
  "Exception": {"Message", "Stack Trace"}}``: a failed job (evidence, and a
  failure sign for the inferred status);
- ``SparkListenerTaskEnd`` reasons: ``FetchFailed``, ``ExceptionFailure``
  (``Full Stack Trace``), ``ExecutorLostFailure`` (``Loss Reason``),
  ``TaskResultLost``;
- ``SparkListenerExecutorRemoved``: ``Removed Reason``.

Each reason is written back as the log record Spark's driver prints for it
(``Lost task ... : FetchFailed(...)``, ``Lost executor N: reason``) and goes
through the same assembly and event extraction as a log line, so the rule
packs match event logs with no rule of their own. Task and executor events
also feed the stall watch (``ingest.stalls``). Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from ingest.endings import EVENT_LOG, FAILED, SUCCEEDED, Ending, EndWatch
from logtext.events import extract_events
from logtext.signals import DEFAULT_SIGNALS, Signals
from sparktriage.records import ExceptionEvent

PREFIX = '{"Event":'
#: Removal reasons that are the application's own doing, not evidence of a failure.
BENIGN_REMOVALS = ("killed by driver", "decommission", "idle", "Stale executor")
#: Progress notes for the stall watch.
TASK_STARTED, TASK_ENDED, EXECUTOR_ADDED, EXECUTOR_REMOVED = "task_started", "task_ended", "executor_added", "executor_removed"


@dataclass(frozen=True, slots=True)
class EventLogRecord:
    """What one event-log event says, in the worker's terms."""

    event: str
    text: str | None = None  # a log record to extract evidence from
    role: str = "driver"
    host: str | None = None
    ending: Ending | None = None
    ended: bool = False  # the application ended (with or without a stated status)
    sign: str | None = None  # a failure sign for an inferred status
    progress: str | None = None
    executor: str | None = None
    ts: float | None = None


def is_event_line(text: str) -> bool:
    """Whether an envelope's text is one event-log event (cheap: a prefix test)."""
    return text.startswith(PREFIX)


def parse_line(text: str) -> dict[str, Any] | None:
    """The event of a line, or None for a line that is not one (not JSON, no ``Event``)."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("Event"), str) else None


def _stamp(ms: Any) -> str:
    """A log4j timestamp of Spark's default layout, so the assembler reads the record's time."""
    if not isinstance(ms, int | float) or ms <= 0:
        return "70/01/01 00:00:00"
    return dt.datetime.fromtimestamp(ms / 1000.0, dt.UTC).strftime("%y/%m/%d %H:%M:%S")


def _frames(trace: Any) -> str:
    """``Stack Trace`` (a list of {Declaring Class, Method Name, File Name, Line Number}) as ``at`` lines."""
    lines = []
    for frame in trace if isinstance(trace, list) else ():
        if isinstance(frame, dict):
            lines.append(f"\tat {frame.get('Declaring Class')}.{frame.get('Method Name')}"
                         f"({frame.get('File Name')}:{frame.get('Line Number')})")
    return "\n".join(lines)


def _task_where(data: dict[str, Any]) -> tuple[str, str | None, float | None]:
    info = data.get("Task Info") if isinstance(data.get("Task Info"), dict) else {}
    where = (f"task {info.get('Index')}.{info.get('Attempt')} in stage {data.get('Stage ID')}."
             f"{data.get('Stage Attempt ID', 0)} (TID {info.get('Task ID')}) ({info.get('Host')} executor "
             f"{info.get('Executor ID')})")
    finish = info.get("Finish Time")
    return where, info.get("Host"), finish / 1000.0 if isinstance(finish, int | float) and finish > 0 else None


def _task_end(data: dict[str, Any]) -> EventLogRecord:
    reason = data.get("Task End Reason") if isinstance(data.get("Task End Reason"), dict) else {}
    kind = reason.get("Reason")
    where, host, ts = _task_where(data)
    info = data.get("Task Info") if isinstance(data.get("Task Info"), dict) else {}
    stamp = _stamp(info.get("Finish Time"))
    base = dict(event="SparkListenerTaskEnd", progress=TASK_ENDED, host=host, ts=ts)
    if kind == "FetchFailed":
        bm = reason.get("Block Manager Address") if isinstance(reason.get("Block Manager Address"), dict) else {}
        detail = (f"FetchFailed(BlockManagerId({bm.get('Executor ID')}, {bm.get('Host')}, {bm.get('Port')}, None), "
                  f"shuffleId={reason.get('Shuffle ID')}, mapIndex={reason.get('Map Index')}, "
                  f"mapId={reason.get('Map ID')}, reduceId={reason.get('Reduce ID')}, message=\n"
                  f"{reason.get('Message') or ''}\n)")
    elif kind == "ExceptionFailure":
        detail = reason.get("Full Stack Trace") or (
            f"{reason.get('Class Name')}: {reason.get('Description') or ''}\n{_frames(reason.get('Stack Trace'))}")
    elif kind == "ExecutorLostFailure":
        caused = "caused by one of the running tasks" if reason.get("Exit Caused By App", True) else \
            "unrelated to the running tasks"
        detail = (f"ExecutorLostFailure (executor {reason.get('Executor ID')} exited {caused}) "
                  f"Reason: {reason.get('Loss Reason') or 'unknown'}")
    elif kind == "TaskResultLost":
        detail = "TaskResultLost (result lost from block manager)"
    else:  # Success, TaskKilled (speculation), Resubmitted, TaskCommitDenied: no evidence
        return EventLogRecord(**base)
    return EventLogRecord(**base, text=f"{stamp} WARN TaskSetManager: Lost {where}: {detail.rstrip()}")


def _job_end(data: dict[str, Any]) -> EventLogRecord:
    result = data.get("Job Result") if isinstance(data.get("Job Result"), dict) else {}
    if result.get("Result") != "JobFailed":
        return EventLogRecord(event="SparkListenerJobEnd")
    exc = result.get("Exception") if isinstance(result.get("Exception"), dict) else {}
    message = (exc.get("Message") or "").rstrip()
    frames = _frames(exc.get("Stack Trace"))
    text = (f"{_stamp(data.get('Completion Time'))} ERROR DAGScheduler: Job {data.get('Job ID')} failed\n"
            f"org.apache.spark.SparkException: {message}" + (f"\n{frames}" if frames else ""))
    return EventLogRecord(event="SparkListenerJobEnd", text=text, sign="a job was aborted")


def _executor_removed(data: dict[str, Any]) -> EventLogRecord:
    reason = str(data.get("Removed Reason") or "")
    base = dict(event="SparkListenerExecutorRemoved", progress=EXECUTOR_REMOVED,
                executor=str(data.get("Executor ID")))
    if not reason or any(word.lower() in reason.lower() for word in BENIGN_REMOVALS):
        return EventLogRecord(**base)
    return EventLogRecord(**base, text=f"{_stamp(data.get('Timestamp'))} ERROR TaskSchedulerImpl: "
                                       f"Lost executor {data.get('Executor ID')}: {reason}")


def translate(data: dict[str, Any]) -> EventLogRecord:
    """One decoded event -> what it means here (most events mean nothing and come back empty)."""
    event = data.get("Event")
    if event == "SparkListenerTaskEnd":
        return _task_end(data)
    if event == "SparkListenerJobEnd":
        return _job_end(data)
    if event == "SparkListenerExecutorRemoved":
        return _executor_removed(data)
    if event == "SparkListenerTaskStart":
        return EventLogRecord(event=event, progress=TASK_STARTED)
    if event == "SparkListenerExecutorAdded":
        return EventLogRecord(event=event, progress=EXECUTOR_ADDED, executor=str(data.get("Executor ID")))
    if event == "SparkListenerApplicationEnd":
        code = data.get("ExitCode")  # Spark 4.0
        line = json.dumps(data)[:500]
        ending = None
        if isinstance(code, int) and not isinstance(code, bool):
            ending = Ending(status=SUCCEEDED if code == 0 else FAILED, source=EVENT_LOG, stated=True,
                            exit_code=code, reason=None if code == 0 else f"exit code {code}", line=line)
        ts = data.get("Timestamp")
        return EventLogRecord(event=event, ending=ending, ended=True,
                              ts=ts / 1000.0 if isinstance(ts, int | float) and ts > 0 else None)
    return EventLogRecord(event=str(event))


def apply_to_watch(record: EventLogRecord, watch: EndWatch, attempt: int = 1) -> Ending | None:
    """Feed an event's failure sign and end to an application's :class:`EndWatch`; the new ending, if any."""
    if record.sign:
        watch.note_sign(record.sign)
    if record.ending is not None:
        return watch.offer(replace(record.ending, attempt=attempt))
    if record.ended:
        return watch.shutdown(EVENT_LOG, attempt, "SparkListenerApplicationEnd")
    return None


def record_events(record: EventLogRecord, *, app_id: str, attempt: int = 1, line: int = 0,
                  signals: Signals = DEFAULT_SIGNALS) -> list[ExceptionEvent]:
    """The evidence events of one translated event (none for most)."""
    if record.text is None:
        return []
    found = extract_events(record.text, app_id=app_id, attempt=attempt, container_id="eventlog",
                           role=record.role, host=record.host, signals=signals)
    return [replace(e, line=line) for e in found] if line else found


def read_event_log(lines: Iterable[str], *, app_id: str, attempt: int = 1,
                   signals: Signals = DEFAULT_SIGNALS) -> tuple[list[ExceptionEvent], EndWatch, int]:
    """A whole event log: its evidence events, the watch holding its end, and the lines that were not events."""
    watch = EndWatch()
    events: list[ExceptionEvent] = []
    skipped = 0
    for number, text in enumerate(lines, 1):
        data = parse_line(text) if text.strip() else None
        if data is None:
            skipped += bool(text.strip())
            continue
        record = translate(data)
        apply_to_watch(record, watch, attempt)
        events += record_events(record, app_id=app_id, attempt=attempt, line=number, signals=signals)
    return events, watch, skipped
