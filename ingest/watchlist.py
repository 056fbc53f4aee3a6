"""Which applications are due to be settled, and which are stalled: the worker's side of their ends.

The worker reads each line of an application through :meth:`Watchlist.read`:
its :class:`~ingest.endings.EndWatch` (kept in the application's state)
learns how it ended, and its :class:`~ingest.stalls.Progress` (in memory)
how it progresses. When an end is known, the application is *due* ``end_grace``
seconds later, so that late lines of other containers (an executor's last
exception, the AM's final status after the driver's shutdown) arrive before it
is diagnosed. The worker's timers ask :meth:`due` and :meth:`stalled`, and send
the agent a record for each (table writes need the agent's context).

Spark event-log lines (``ingest.eventlog``) are read here too: their end,
failure signs and progress go to the same watch, their reasons come back as
evidence events. No I/O here: the worker does the writing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.endings import GATE_WORDS, EndWatch, Ending
from ingest.eventlog import apply_to_watch, is_event_line, parse_line, record_events, translate
from ingest.gates import LineGate
from ingest.stalls import PROGRESS_WORDS, Progress, Stall
from ingest.state import AppState
from logtext.signals import DEFAULT_SIGNALS, Signals
from sparktriage.errors import BadInput
from sparktriage.records import Envelope, ExceptionEvent
from sparktriage.status import APP_END, ENDED

#: A record's lines that can tell its application's end, and those that tell its progress: one scan.
RECORD_GATE = LineGate(GATE_WORDS, PROGRESS_WORDS)


@dataclass
class Read:
    """What one line did: the state changed (write it back), the end became known, evidence of an event log."""

    changed: bool = False
    ending: Ending | None = None
    events: list[ExceptionEvent] = field(default_factory=list)
    event_log: bool = False


class Watchlist:
    """Due ends and running applications' progress, for one worker process."""

    def __init__(self, end_grace: float, stall_timeout: float, signals: Signals = DEFAULT_SIGNALS) -> None:
        self.end_grace, self.stall_timeout, self.signals = end_grace, stall_timeout, signals
        self._due: dict[str, float] = {}
        self._progress: dict[str, Progress] = {}
        self._notified: set[str] = set()  # stalled applications already given their early notice

    def read(self, state: AppState, env: Envelope, now: float) -> Read:
        """One log envelope of ``state``'s application: its end, its progress, an event log's evidence."""
        out = Read()
        progress = None
        if not state.ended:  # (not setdefault: a Progress made per record only to be thrown away)
            progress = self._progress.get(state.app_id) or self._progress.setdefault(state.app_id, Progress())
        if is_event_line(env.text):
            data = parse_line(env.text)
            if data is None:
                raise BadInput("bad_event_log", "a line starting like a Spark event-log event is not one")
            record = translate(data)
            out.event_log = True
            out.events = record_events(record, app_id=state.app_id, attempt=env.attempt, signals=self.signals)
            if progress is not None:
                progress.fold_record(record, now)
            if record.sign or record.ending or record.ended:
                watch = EndWatch.from_dict(state.watch)
                out.ending = apply_to_watch(record, watch, env.attempt)
                out.changed = self._keep(state, watch)
        else:
            lines, progress_lines = RECORD_GATE.lines(env.text)
            if progress is not None:
                progress.fold_lines(progress_lines, env.role, now)
            if lines:
                watch = EndWatch.from_dict(state.watch)
                out.ending = watch.fold_lines(lines, env.role, env.attempt)
                out.changed = self._keep(state, watch)
        if out.ending is not None:
            self.schedule(state, now)
        return out

    def schedule(self, state: AppState, now: float) -> None:
        """Settle ``state``'s application ``end_grace`` from now (or sooner, if it already was due)."""
        due = now + self.end_grace
        state.end_due = due if state.end_due is None else min(state.end_due, due)
        self._due[state.app_id] = state.end_due

    def remember(self, app_id: str, due: float) -> None:
        """An end found due in the table (after a restart, the in-memory list is empty)."""
        self._due.setdefault(app_id, due)

    def due(self, now: float) -> list[str]:
        """Applications whose grace period is over (each returned once; the agent re-schedules if needed)."""
        ready = [app_id for app_id, due in self._due.items() if due <= now]
        for app_id in ready:
            del self._due[app_id]
        return ready

    def stalled(self, now: float) -> list[tuple[str, Stall]]:
        """Running applications stalled for ``stall_timeout`` seconds."""
        found = []
        for app_id, progress in self._progress.items():
            if app_id in self._notified:
                continue
            stall = progress.stalled(now, self.stall_timeout)
            if stall is not None:
                found.append((app_id, stall))
        return found

    def stall_of(self, app_id: str, now: float) -> Stall | None:
        progress = self._progress.get(app_id)
        return progress.stalled(now, self.stall_timeout) if progress is not None else None

    def notified(self, app_id: str) -> None:
        """The agent has dealt with this application's stall (sent its notice, or found none due)."""
        self._notified.add(app_id)

    def forget(self, app_id: str) -> None:
        """The application ended: stop following its progress."""
        self._progress.pop(app_id, None)
        self._notified.discard(app_id)

    def reset(self) -> None:
        """A rebalance: the applications may now be another worker's; due ends come back from the table."""
        self._due.clear()
        self._progress.clear()
        self._notified.clear()

    @staticmethod
    def _keep(state: AppState, watch: EndWatch) -> bool:
        if watch.changed:
            state.watch = watch.to_dict()
        return watch.changed


def end_status(state: AppState, status: str, source: str | None) -> tuple[str, str | None]:
    """The final status to settle ``state``'s application with, and where it was learnt.

    An ``app_end`` record states it; else the best end read from the logs
    (``ENDED`` when it ended and nothing says how); else, where no end was
    read, the status the application was settled with before (an unknown end
    stays one), else ``status``/``source`` (the caller's default).
    """
    ending = EndWatch.from_dict(state.watch).current
    if ending is not None and ending.attempt < max(state.attempts or [1]):
        ending = None  # the end of an earlier attempt: a later one ran after it
    if state.ended and (state.end_source == APP_END or ending is None):
        return state.ended, state.end_source
    if ending is None:
        return status, source
    return ending.status or ENDED, ending.source
