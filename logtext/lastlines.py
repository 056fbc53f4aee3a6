"""The last lines of a log: the evidence of an application that printed no error.

Some failures leave no exception, no ERROR and none of a rule's words in any
log: a Kubernetes driver whose executors are never scheduled, a submission
that waits and gives up, a container whose end is told in plain INFO. Such an
application used to reach the core with no event at all, so even the model
had nothing to read and ``unknown`` was certain. Its logs' last lines are
the best evidence left, so they become one event per log, but only for an
application that has no other event (``last_words``): they never compete
with a real exception, and a run that printed errors is diagnosed as before.

``classify`` takes the tail from the end of each file (``last_lines_events``);
the worker keeps a :class:`Tail` per stream as lines arrive and checkpoints it
with the stream. Both give the same event for the same log.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from logtext.yarn import sections
from sparktriage.records import ExceptionEvent
from sparktriage.redact import redact

#: Lines kept from the end of each log; enough for a final status report or a scheduler's complaint.
TAIL_LINES = 20
#: Characters kept of each of those lines (a stream keeps them in its checkpoints).
MAX_TAIL_LINE = 1000
#: Logs whose tails are read at most; the driver's first (see ``last_words``).
MAX_TAILS = 5
#: The message of a last-lines event: what the exceptions tab shows for it.
LAST_LINES = "(the last lines of a log that printed no error)"


class Tail:
    """The last ``TAIL_LINES`` lines of a stream, as the worker reads it line by line."""

    def __init__(self, lines: Iterable[str] = ()) -> None:
        self.lines: deque[str] = deque(lines, maxlen=TAIL_LINES)

    def add(self, text: str) -> None:
        """One envelope's text (a line, or several joined by ``\\n`` as the assembler accepts)."""
        lines = text.rsplit("\n", TAIL_LINES)[-TAIL_LINES:] if "\n" in text else [text]  # a batch: its end
        if "\r" in text or max(map(len, lines)) > MAX_TAIL_LINE:  # else its lines are kept as they are
            lines = [line.rstrip("\r")[:MAX_TAIL_LINE] for line in lines]
        self.lines.extend(lines)

    def to_list(self) -> list[str]:
        return list(self.lines)


def tail_of(text: str) -> tuple[int, list[str]]:
    """(1-based number of the first kept line, the last ``TAIL_LINES`` lines) of a whole log.

    Lines as the assembler numbers them (``logtext.assembly.split_lines``), so
    that the worker's :class:`Tail` of the same log holds the same lines."""
    body = text[:-1] if text.endswith("\n") else text
    pieces = body.rsplit("\n", TAIL_LINES)
    if len(pieces) <= TAIL_LINES:  # the whole log is shorter than the tail
        first, kept = 1, pieces
    else:
        first, kept = body.count("\n", 0, len(pieces[0])) + 2, pieces[1:]
    return first, [line.rstrip("\r")[:MAX_TAIL_LINE] for line in kept]


def tail_event(lines: Iterable[str], first_line: int, *, app_id: str, attempt: int = 1,
               container_id: str | None = None, role: str = "unknown",
               host: str | None = None) -> ExceptionEvent | None:
    """The event of a log's last lines (blank ones dropped), or None for a blank log."""
    kept = [(first_line + n, line.rstrip()) for n, line in enumerate(lines) if line.strip()]
    if not kept:
        return None
    text = redact("\n".join(line for _, line in kept))
    return ExceptionEvent(app_id=app_id, text=text, attempt=attempt, container_id=container_id, role=role,
                          host=host, line=kept[0][0], message=LAST_LINES, excerpt=tuple(text.split("\n")))


def last_lines_events(text: str, *, app_id: str, attempt: int = 1, container_id: str | None = None,
                      role: str = "unknown", host: str | None = None) -> list[ExceptionEvent]:
    """The last-lines event of each log in ``text`` (each container of a ``yarn logs`` dump)."""
    out = []
    for body, where in sections(text, attempt=attempt, container_id=container_id, role=role, host=host):
        first, lines = tail_of(body)
        event = tail_event(lines, first, app_id=app_id, **where)
        if event is not None:
            out.append(event)
    return out


def last_words(tails: Iterable[ExceptionEvent | None]) -> list[ExceptionEvent]:
    """The tails worth reading for an application with no other event: the
    driver's, whose end tells how the application ended, else the first few."""
    found = [t for t in tails if t is not None]
    drivers = [t for t in found if t.role == "driver"]
    return (drivers or found)[:MAX_TAILS]
