"""Many lines of one stream in one Kafka record, folded at the speed of ``classify``'s fast path.

A shipper that batches (``docs/shippers.md``) sends a hundred or more
consecutive lines of one container per record. Feeding them to the stream's
:class:`~logtext.assembly.Assembler` one by one costs a regular expression per
line, and almost every line is noise. Because a log-prefixed line always
starts a new record (``logtext.assembly``), a batch splits into three parts
whose records can be found independently:

- the lines before its first prefixed line continue the stream's open record
  (fed to the assembler, which the prefixed line then closes);
- the lines from the first prefixed line up to the last one: only their
  candidate neighbourhoods are assembled (``logtext.events.segments``, the same
  search ``classify`` makes), which yields every record ``to_event`` keeps;
  a neighbourhood identical but for its digits to one seen before (the same
  trace with other task ids, a warning repeated) is cut into records and taken
  apart as that one was (``logtext.shapes``), as ``classify`` does;
- the lines from the last prefixed line on are assembled whole: they leave
  the assembler exactly as a full pass would (the open record, its mode,
  the next line number), for the next batch to continue.
"""

from __future__ import annotations

from logtext.assembly import HEADER_LINE_RE, Assembler, Record, match_header
from logtext.events import segments, taken_apart
from logtext.shapes import Shapes, Where
from sparktriage.records import ExceptionEvent


def batch_events(asm: Assembler, text: str, shapes: Shapes, where: Where) -> list[ExceptionEvent]:
    """Feed ``text`` (lines joined by ``\\n``) to ``asm``; the events of the records it closes.

    The events are those of every record ``asm.feed([text])`` would close, in log order, with their line
    numbers; ``asm`` is left as that feed leaves it. ``shapes``: the stretches seen before (of any stream),
    made with the assembler's caps (else the batch's stretches are shared among themselves only);
    ``where``: the stream's app, attempt, container, role and host.
    """
    first = HEADER_LINE_RE.search(text) if "\n" in text else None  # one line: nothing to split
    if first is None:
        return _events(asm.feed([text]), shapes, where)
    start = first.start()
    last = _last_header(text, start)
    closed = asm.feed([text[:start - 1]]) if start else []
    out = _events(closed + asm.flush(), shapes, where)  # the first prefixed line closes the record that was open
    caps = {"max_record_lines": asm.max_record_lines, "max_line_chars": asm.max_line_chars}
    if (shapes.max_record_lines, shapes.max_line_chars) != (asm.max_record_lines, asm.max_line_chars):
        shapes = Shapes(shapes.signals, **caps)
    base = asm.next_line
    if last > start:
        # up to and with the newline before the last prefixed line: a blank line before it stays a line
        middle = text[start:last]
        for lo, hi, line_no, _ in segments(middle, signals=shapes.signals):
            out += [event for event in shapes.events(middle[lo:hi], base - 1 + line_no, where) if event is not None]
        base += text.count("\n", start, last)
    rest = Assembler(first_line=base, **caps)
    out += _events(rest.feed([text[last:]]), shapes, where)
    asm.current, asm.mode, asm.chained, asm.next_line = rest.current, rest.mode, rest.chained, rest.next_line
    return out


def _events(records: list[Record], shapes: Shapes, where: Where) -> list[ExceptionEvent]:
    found = (taken_apart(record, *where, shapes.signals)[0] for record in records)
    return [event for event in found if event is not None]


def _last_header(text: str, floor: int) -> int:
    """Where the last log-prefixed line starts (``floor``: where the first one does)."""
    pos = text.rfind("\n") + 1
    while pos > floor and match_header(text, pos) is None:
        pos = text.rfind("\n", floor, pos - 1) + 1
    return max(pos, floor)
