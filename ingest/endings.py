"""How an application ended, read from its own logs (no ``app_end`` record needed).

No log shipper sends an end-of-application record, so the worker recognises
the lines that close an application and what they say of its final status:

- YARN cluster mode: the ApplicationMaster's ``Final app status: FAILED,
  exitCode: 13, (reason: ...)`` and ``Unregistering ApplicationMaster with
  FAILED (diag message: ...)``, with their SUCCEEDED and KILLED forms; the
  ``final status:`` line of a YARN application report (spark-submit's output).
  These *state* the status.
- Client mode and Kubernetes: the driver's shutdown sequence (``SparkContext:
  Invoking stop() from shutdown hook``, ``SparkContext: Successfully stopped
  SparkContext``, the driver's ``ShutdownHookManager: Shutdown hook called``).
  The status is *inferred* from what the driver printed before: a ``Job
  aborted`` or ``Job N failed``, an uncaught exception in the main thread (JVM
  or Python), a non-zero exit code, a received SIGTERM (killed); with none of
  these the application ended and nothing says how (status ``None``).

A stated status beats an inferred one, whichever arrives first. One trap is
handled: in YARN *client* mode the ApplicationMaster (an ExecutorLauncher)
reports SUCCEEDED whenever the driver disconnects, whatever the driver's fate,
so after ``Driver terminated or disconnected`` its SUCCEEDED is only a hint.

:class:`EndWatch` is a small JSON-able fold over one application's lines;
the worker keeps it in the application's state and asks it, line by line,
whether the end is now known (``fold`` returns the new :class:`Ending`).
Spark event-log records give endings too (``ingest.eventlog``); they enter
here through :meth:`EndWatch.offer`. Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Self

from ingest.gates import LineGate
from sparktriage.status import FAILED, KILLED, SUCCEEDED

#: Where an ending was read (``Ending.source``).
YARN_AM, YARN_REPORT, DRIVER_SHUTDOWN, EVENT_LOG = "yarn_am", "yarn_report", "driver_shutdown", "event_log"

# A cheap gate run on every line: only lines containing one of these words are parsed further.
GATE_WORDS = ("Final app status", "Unregistering ApplicationMaster", "final status:", "SparkContext",
               "Shutdown hook called", "Job aborted", "failed: ", 'thread "main"', "Thread[main", "in <module>",
               "User class threw exception", "RECEIVED SIGNAL", "Driver terminated", "exitCode", "phase: ")
_GATE = re.compile("|".join(re.escape(word) for word in GATE_WORDS))
_LINE_GATE = LineGate(GATE_WORDS)
_AM_FINAL = re.compile(
    r"Final app status: (?P<status>SUCCEEDED|FAILED|KILLED), exitCode: (?P<code>-?\d+)(?:, \(reason: (?P<reason>.*?)\)?$)?")
_AM_UNREGISTER = re.compile(
    r"Unregistering ApplicationMaster with (?P<status>SUCCEEDED|FAILED|KILLED)(?: \(diag message: (?P<reason>.*?)\)?$)?")
_REPORT_FINAL = re.compile(r"^\s*final status: (?P<status>SUCCEEDED|FAILED|KILLED)\b")
# spark-submit's Kubernetes client: "Application status for spark-... (phase: Failed)"
_K8S_PHASE = re.compile(r"Application status for \S+ \(phase: (?P<phase>Succeeded|Failed)\)")
_CLIENT_MODE_AM = "Driver terminated or disconnected"

# The driver's shutdown sequence (SparkContext lines exist only in the driver).
_SHUTDOWN_DRIVER_ONLY = ("SparkContext: Invoking stop() from shutdown hook", "SparkContext: Successfully stopped SparkContext")
_SHUTDOWN_HOOK = "ShutdownHookManager: Shutdown hook called"
_STOPPING_CODE = re.compile(r"SparkContext(?: is stopping)? with exitCode (?P<code>-?\d+)")

# What makes an inferred end a failure (or a kill): (pattern, sign).
_SIGNS = (
    (re.compile(r"Job aborted|DAGScheduler: Job \d+ failed: "), "a job was aborted"),
    (re.compile(r"Exception in thread \"main\"|Uncaught exception in thread Thread\[main"),
     "an uncaught exception in the main thread"),
    (re.compile(r"User class threw exception"), "the user class threw an exception"),
    (re.compile(r'^\s*File "[^"]+", line \d+, in <module>'), "an uncaught Python exception in the main script"),
)
_SIGTERM = re.compile(r"RECEIVED SIGNAL (?:TERM|INT|HUP)")
MAX_SIGNS = 5


def gated_lines(text: str) -> list[str]:
    """The lines of ``text`` that the gate finds, once each, in order; none: the text can tell nothing
    of the end. Every line ``EndWatch`` acts on has a gate word, so a batch of a hundred lines is read at
    the cost of its few gated ones (one scan, ``ingest.gates``; the worker scans a record for these and
    the progress words at once)."""
    return _LINE_GATE.lines(text)[0]


@dataclass(frozen=True, slots=True)
class Ending:
    """What is known of how an application ended.

    ``status`` is FAILED, SUCCEEDED, KILLED or None (it ended, nothing says
    how); ``stated`` whether a log line said the status (the AM, a report,
    an event log's exit code) rather than sparktriage inferring it.
    """

    status: str | None
    source: str
    stated: bool = False
    exit_code: int | None = None
    reason: str | None = None
    attempt: int = 1
    line: str = ""  # the line that told, for the exceptions tab

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return cls(**data)

    def rank(self) -> tuple[int, int]:
        """Which of two endings to trust: stated over inferred, then a later attempt."""
        return (1 if self.stated else 0, self.attempt)


@dataclass
class EndWatch:
    """One application's fold over its lines: failure signs seen, and the best ending so far."""

    signs: list[str] = field(default_factory=list)
    exit_code: int | None = None
    killed: bool = False
    client_mode_am: bool = False
    ending: dict[str, Any] | None = None
    #: Whether the last ``fold`` or ``offer`` changed anything worth writing back.
    changed: bool = field(default=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["changed"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Self:
        return cls(**data) if data else cls()

    @property
    def current(self) -> Ending | None:
        return Ending.from_dict(self.ending) if self.ending else None

    def fold(self, text: str, role: str = "unknown", attempt: int = 1) -> Ending | None:
        """Read one envelope's text (one line or several); the new best ending if it changed.

        Callers write the watch back into the application's state when this
        returns an ending or :attr:`changed` says so.
        """
        return self.fold_lines(gated_lines(text), role, attempt)

    def fold_lines(self, lines: list[str], role: str = "unknown", attempt: int = 1) -> Ending | None:
        """The lines of an envelope that the gate found (``gated_lines``); the new best ending if it changed."""
        self.changed = False
        found = None
        for line in lines:
            ending = self._line(line.rstrip("\r"), role, attempt)
            if ending is not None:
                found = self.offer(ending) or found
        return found

    def fold_text(self, text: str, role: str = "unknown", attempt: int = 1) -> Ending | None:
        """A whole log at once (``classify``): only the lines the gate finds are read."""
        seen = -1
        for m in _GATE.finditer(text):
            start = text.rfind("\n", 0, m.start()) + 1
            if start <= seen:
                continue  # a second gate word on a line already read
            end = text.find("\n", m.end())
            seen = start
            self.fold(text[start:end if end >= 0 else len(text)], role, attempt)
        return self.current

    def offer(self, ending: Ending) -> Ending | None:
        """Take ``ending`` if it is better than the one known; returns it then, else None."""
        if ending.source == YARN_AM and ending.status == SUCCEEDED and self.client_mode_am:
            # client mode: the ExecutorLauncher reports SUCCEEDED whatever the driver did
            ending = self._inferred(YARN_AM, ending.attempt, ending.line)
        known = self.current
        if known is not None and (ending.rank() < known.rank() or (
                ending.rank() == known.rank() and ending.status in (known.status, None))):
            return None  # nothing new: the AM says it twice, the shutdown sequence has three lines
        self.ending = ending.to_dict()
        self.changed = True
        return ending

    def shutdown(self, source: str, attempt: int, line: str) -> Ending | None:
        """The application ended with no stated status (an event log's end without ``ExitCode``)."""
        return self.offer(self._inferred(source, attempt, line))

    def note_sign(self, sign: str) -> None:
        """A failure sign from outside the log text (a failed job in an event log)."""
        if sign not in self.signs and len(self.signs) < MAX_SIGNS:
            self.signs.append(sign)
            self.changed = True

    def _inferred(self, source: str, attempt: int, line: str) -> Ending:
        if self.signs or (self.exit_code not in (None, 0)):
            status = FAILED
        elif self.killed:
            status = KILLED
        else:
            status = None
        reason = "; ".join(self.signs) or (f"exit code {self.exit_code}" if self.exit_code else None)
        return Ending(status=status, source=source, exit_code=self.exit_code, reason=reason,
                      attempt=attempt, line=line[:500])

    def _line(self, line: str, role: str, attempt: int) -> Ending | None:
        m = _AM_FINAL.search(line)
        if m is not None:
            return Ending(status=m["status"], source=YARN_AM, stated=True, exit_code=int(m["code"]),
                          reason=m["reason"], attempt=attempt, line=line[:500])
        m = _AM_UNREGISTER.search(line)
        if m is not None:
            return Ending(status=m["status"], source=YARN_AM, stated=True, reason=m["reason"],
                          attempt=attempt, line=line[:500])
        m = _REPORT_FINAL.search(line) or _K8S_PHASE.search(line)
        if m is not None:
            status = m["status"] if "status" in m.re.groupindex else m["phase"].upper()
            return Ending(status=status, source=YARN_REPORT, stated=True, attempt=attempt, line=line[:500])
        if _CLIENT_MODE_AM in line:
            self.client_mode_am = self.changed = True
            return None
        if role not in ("driver", "unknown"):
            return None  # executors print shutdown hooks and exceptions of their own
        m = _STOPPING_CODE.search(line)
        if m is not None and int(m["code"]) != 0:
            self.exit_code = int(m["code"])
            self.changed = True
        if _SIGTERM.search(line):
            self.killed = self.changed = True
        for pattern, sign in _SIGNS:
            if pattern.search(line):
                self.note_sign(sign)
        if any(marker in line for marker in _SHUTDOWN_DRIVER_ONLY) or (role == "driver" and _SHUTDOWN_HOOK in line):
            return self._inferred(DRIVER_SHUTDOWN, attempt, line)
        return None
