"""Runs of repeated records: a warning logged 8,000 times is read once and counted 8,000 times.

A busy log repeats the same few messages thousands of times, each with its
own timestamp (Hadoop's ``Address change detected``, HDFS's ``Got exception
while serving``). Taking each apart (``logtext.events.to_event``), redacting
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

from logtext.assembly import HEADER_LINE_RE, HEADER_RE, PREFIXED_LINE_RE, parse_log_ts
from logtext.events import candidate_offsets, segment_at
from logtext.shapes import _DIGITS, Shapes, digit_mask
from logtext.signals import DEFAULT_SIGNALS, Signals
from logtext.yarn import sections
from sparktriage.records import ExceptionEvent


_UNSEEN = object()


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
                 first_order: int = 0, max_line_chars: int = 8192, ascii: bytes | None = None) -> EventRuns:
    """The events of one container's whole log as runs (what ``logtext.events.extract_events`` gives,
    repeated records folded); occurrences are numbered from ``first_order``. ``ascii``: the text's bytes
    where it is ASCII (``candidate_offsets``).

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
        data = ascii if body is text else None
        whole = WholeLines(body, max_line_chars, data).split  # prefixed lines that are a whole record
        rfind, count, lookup = body.rfind, body.count, known.get  # the loop runs once per candidate line
        for hit in candidate_offsets(body, signals=signals, ascii=data):
            if hit < done:
                continue
            start = rfind("\n", done, hit) + 1 or done  # ``done`` is 0 or a line start
            split = whole(start)
            if split is not None:
                ts0, ts1, end, rest, seen = split
                stamp, at = body[ts0:ts1], ts0 - start
                key, run = None, seen[2]  # the run of the lines split as this one, once looked up
                if run is _UNSEEN:
                    key = body[start:ts0] + "\x00" + rest if at else rest
                    run = seen[2] = lookup(key, _UNSEEN)
            else:
                seen = None
                start, end, head = segment_at(body, hit, done)
                key, stamp, at = _foldable(body, start, end, head, max_line_chars)
                run = lookup(key, _UNSEEN) if key is not None else _UNSEEN
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
                    if seen is not None:
                        seen[2] = run
    return out


class WholeLines:
    """The prefixed lines of a text that are a whole record (the next line starts one too, or there is none),
    and where their timestamp is: ``PREFIXED_LINE_RE`` on the line, ``HEADER_LINE_RE`` on the next.

    A busy log's candidate lines are mostly the same few warnings with other timestamps, and the two
    patterns cost thousands of instructions a line. Both read all digits alike (``tests/test_shapes.py``
    holds ``logtext.assembly`` to it), so their answers are remembered: a line splits as one seen before
    that is the same from the end of its timestamp on and the same but for its digits before; a line
    starts a record where one did that was the same but for its digits up to the character after its
    level (the characters the successful match read: any other path the pattern tries first can only
    succeed too).
    """

    def __init__(self, text: str, max_line_chars: int, ascii: bytes | None = None) -> None:
        self.text = text
        self.max_line_chars = max_line_chars
        #: the text's bytes where it is ASCII (the file as read): its digits are masked without encoding it again
        self.ascii = ascii
        #: line from its timestamp's end -> [head masked, ts start, the caller's run of such lines or _UNSEEN]
        self._spans: dict[str, list] = {}
        self._at = 0  # where the timestamp ended on the line split last
        self._starts: set[bytes] = set()  # masked starts of lines HEADER_LINE_RE matched
        self._lengths: list[int] = []  # their lengths
        self._length = 0  # the length that told the last line: tried first

    def split(self, start: int) -> tuple[int, int, int, str, list] | None:
        """(timestamp start, timestamp end, line end with its newline, the line from the timestamp's end,
        what is kept of the lines that split so: its third item the caller's to set) of the line at ``start``
        if it is a whole record at most ``max_line_chars`` long (the newline counted), else None."""
        text, data = self.text, self.ascii
        nl = text.find("\n", start)
        end = nl + 1 if nl >= 0 else len(text)
        if end - start > self.max_line_chars:
            return None
        # ``digit_mask`` written out here and below: this runs once per candidate line of a log
        if end < len(text):
            stop = end + self._length
            after = (data[end:stop] if data is not None else text[end:stop].encode("utf-8", "surrogatepass"))
            if after.translate(_DIGITS) not in self._starts and not self._starts_record(end):
                return None  # the next line continues it (told first: a trace's first line is seen once)
        at = start + self._at
        rest = text[at:end]
        seen = self._spans.get(rest)
        if seen is not None and seen[0] == (data[start:at] if data is not None else
                                            text[start:at].encode("utf-8", "surrogatepass")).translate(_DIGITS):
            ts0 = start + seen[1]
        else:
            head = PREFIXED_LINE_RE.match(text, start)
            if head is None:
                return None
            ts0, at = head.span("ts")
            rest = text[at:end]
            self._at = at - start
            seen = self._spans[rest] = [digit_mask(text[start:at]), ts0 - start, _UNSEEN]
        return ts0, at, end, rest, seen

    def _starts_record(self, pos: int) -> bool:
        """Whether ``HEADER_LINE_RE`` matches at ``pos`` (a line start)."""
        text = self.text
        first = text[pos]
        if first != "[" and first != "{" and not first.isdecimal():
            return False  # what a log prefix starts with (``\d``: any decimal digit)
        for n in self._lengths:
            if digit_mask(text[pos:pos + n]) in self._starts:
                self._length = n
                return True
        head = HEADER_LINE_RE.match(text, pos)
        if head is None:
            return False
        n = head.end() - pos + 1  # with the character after the level, which ``\b`` read
        if pos + n <= len(text):
            self._starts.add(digit_mask(text[pos:pos + n]))
            if n not in self._lengths:
                self._lengths.append(n)
            self._length = n
        return True


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
