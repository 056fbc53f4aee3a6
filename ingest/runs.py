"""Runs of repeated records: a warning logged 8,000 times is read once and counted 8,000 times.

A busy log repeats the same few messages thousands of times, each with its
own timestamp (Hadoop's ``Address change detected``, HDFS's ``Got exception
while serving``). Taking each apart (``ingest.events.to_event``), redacting
it, matching the rules and masking it for the exceptions tab costs the same
every time and gives the same answer but for when it happened. An
:class:`EventRun` is one event with the positions, lines and timestamps of
every record identical to it but for its log-prefix timestamp; ``classify``
extracts whole logs as runs (:func:`extract_runs`), and
``classifiers.core.diagnose`` reads a run once and counts it as often as it
occurred. An occurrence becomes an event of its own (:meth:`EventRun.occurrence`)
only where one is shown: as evidence.

What may differ between the records of one run is the timestamp of the log
prefix only: rules, redaction and the model read messages, not the time on the
line (the test comparing runs with per-record events on the real samples checks it).
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ingest.assembly import HEADER_RE, SINGLE_LINE_RE, parse_log_ts
from ingest.events import candidate_offsets, segment_at
from ingest.shapes import Shapes
from ingest.signals import DEFAULT_SIGNALS, Signals
from ingest.yarn import sections
from sparktriage.records import ExceptionEvent


_UNSEEN = object()
_single_line = SINGLE_LINE_RE.match


@dataclass(slots=True)
class EventRun:
    """One event (its first occurrence) and the later records identical to it but for their timestamp.

    ``orders`` are the occurrences' positions among the application's events (ascending),
    ``lines`` their lines; ``stamps`` their log-prefix timestamps as written, which sit at
    ``at`` in the event's text (an event that is its own run has none).
    """

    event: ExceptionEvent
    orders: list[int]
    lines: list[int]
    stamps: list[str] = field(default_factory=list)
    at: int = -1
    _times: list[float | None] | None = None

    @classmethod
    def single(cls, event: ExceptionEvent, order: int) -> EventRun:
        return cls(event, [order], [event.line])

    def __len__(self) -> int:
        return len(self.orders)

    @property
    def times(self) -> list[float | None]:
        """Each occurrence's time, parsed when first asked (most runs are only counted)."""
        if self._times is None:
            self._times = [self.event.ts] + [parse_log_ts(s) for s in self.stamps[1:]]
        return self._times

    def earliest(self, n: int) -> list[int]:
        """Indexes of the ``n`` occurrences that come first in time (then in the log), as root-cause choice orders them."""
        if len(self.orders) == 1:
            return [0]
        times = self.times
        inf = float("inf")
        return heapq.nsmallest(n, range(len(self.orders)),
                               key=lambda k: (inf if times[k] is None else times[k], self.orders[k]))

    def occurrence(self, k: int) -> ExceptionEvent:
        """Occurrence ``k`` as the event it would have been on its own."""
        if k == 0:
            return self.event
        event, old, new = self.event, self.stamps[0], self.stamps[k]
        text = event.text[:self.at] + new + event.text[self.at + len(old):]
        first = event.text.split("\n", 1)[0]
        excerpt = event.excerpt
        if excerpt and excerpt[0] == first:
            excerpt = (text.split("\n", 1)[0],) + excerpt[1:]
        return replace(event, text=text, excerpt=excerpt, ts=self.times[k], line=self.lines[k])


class EventRuns(list[EventRun]):
    """An application's events as runs, in the order of their first occurrences."""

    @classmethod
    def of(cls, events: Sequence[ExceptionEvent] | EventRuns) -> EventRuns:
        """Runs as they are, or each event its own run."""
        if isinstance(events, EventRuns):
            return events
        return cls(EventRun.single(event, n) for n, event in enumerate(events))

    @property
    def count(self) -> int:
        """How many events the runs hold."""
        return sum(len(run) for run in self)

    def events(self) -> list[ExceptionEvent]:
        """Every occurrence as an event, in log order (the per-record view)."""
        placed = sorted((order, run, k) for run in self for k, order in enumerate(run.orders))
        return [run.occurrence(k) for _, run, k in placed]


def extract_runs(text: str, *, app_id: str, attempt: int = 1, container_id: str | None = None,
                 role: str = "unknown", host: str | None = None, signals: Signals = DEFAULT_SIGNALS,
                 first_order: int = 0, max_line_chars: int = 8192) -> EventRuns:
    """The events of one container's whole log as runs (what ``ingest.events.extract_events`` gives,
    repeated records folded); occurrences are numbered from ``first_order``.

    A candidate record that is one prefixed line (the next line starts a record too), or a stretch from a
    prefixed line to the next (``segment_at``: a trace under its header) that assembles into one record, is
    looked up by its text without the timestamp: seen before, it costs a dictionary lookup. Anything else
    (stretches of several records, JSON records, a first line long enough to be cut) is assembled and
    taken apart each time, as ``extract_events`` does.
    """
    out = EventRuns()
    order = first_order
    for body, where in sections(text, attempt=attempt, container_id=container_id, role=role, host=host):
        # a record without its timestamp (what comes before it kept, joined by a NUL) -> its run; None: not an event
        known: dict[str, EventRun | None] = {}
        shapes = Shapes(signals, max_line_chars=max_line_chars)  # stretches identical but for their digits
        place = (app_id, where["attempt"], where["container_id"], where["role"], where["host"])
        done = counted = 0  # text before ``done`` is handled; ``line_no`` is the number of the line at ``counted``
        line_no = 1
        rfind, count, lookup = body.rfind, body.count, known.get  # the loop runs once per candidate line
        for hit in candidate_offsets(body, signals=signals):
            if hit < done:
                continue
            start = rfind("\n", done, hit) + 1 or done  # ``done`` is 0 or a line start
            head = _single_line(body, start)
            if head is not None and (end := head.end()) - start <= max_line_chars:
                pre, stamp, rest = head.groups()
                key, at = (pre + "\x00" + rest if pre else rest), len(pre)
            else:
                start, end, head = segment_at(body, hit, done)
                key, stamp, at = _foldable(body, start, end, head, max_line_chars)
            if key is not None:
                run = lookup(key, _UNSEEN)
                if run is not _UNSEEN:
                    done = end
                    if run is not None:  # lines are counted only where an occurrence needs its number
                        line_no += count("\n", counted, start)
                        counted = start
                        run.orders.append(order)
                        run.lines.append(line_no)
                        run.stamps.append(stamp)
                        order += 1
                    continue
            line_no += count("\n", counted, start)
            counted, done = start, end
            events = shapes.events(body[start:end], line_no, place)
            for event in events:
                run = None if event is None else EventRun.single(event, order)
                if run is not None:
                    out.append(run)
                    order += 1
                if key is not None and len(events) == 1 and (run is None or _stamped(run, stamp, at)):
                    known[key] = run
    return out


def _foldable(body: str, start: int, end: int, head: re.Match | None,
              max_line_chars: int) -> tuple[str | None, str, int]:
    """(its text without the timestamp, the timestamp, where it starts) of the stretch ``body[start:end]``
    when it may be folded: it starts with a plain log prefix and its first line is short enough to be kept
    whole; else (None, "", -1)."""
    first_end = body.find("\n", start, end)
    if head is None or head.re is not HEADER_RE or (first_end if first_end >= 0 else end) - start >= max_line_chars:
        return None, "", -1
    ts0, ts1 = head.span("ts")
    rest = body[ts1:end]
    return (body[start:ts0] + "\x00" + rest if ts0 > start else rest), body[ts0:ts1], ts0 - start


def _stamped(run: EventRun, stamp: str, at: int) -> bool:
    """Make ``run`` able to take later occurrences: its timestamp is where the line had it (redaction
    changed nothing before it); else False, and each occurrence stays an event of its own."""
    if run.event.text[at:at + len(stamp)] != stamp:
        return False
    run.stamps.append(stamp)
    run.at = at
    return True
