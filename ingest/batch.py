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
  candidate neighbourhoods are assembled (``logtext.events.interesting_records``,
  the same search ``classify`` makes), which yields every record ``to_event``
  keeps;
- the lines from the last prefixed line on are assembled whole: they leave
  the assembler exactly as a full pass would (the open record, its mode,
  the next line number), for the next batch to continue.
"""

from __future__ import annotations

from logtext.assembly import HEADER_LINE_RE, Assembler, Record, match_header
from logtext.events import interesting_records
from logtext.signals import Signals


def feed_batch(asm: Assembler, text: str, signals: Signals) -> list[Record]:
    """Feed ``text`` (lines joined by ``\\n``) to ``asm``; the records it closes that may be events.

    Every record that ``asm.feed([text])`` would close and ``to_event`` would
    keep is returned, in log order, with its line numbers; ``asm`` is left as
    that feed leaves it.
    """
    first = HEADER_LINE_RE.search(text) if "\n" in text else None  # one line: nothing to split
    if first is None:
        return asm.feed([text])
    start = first.start()
    last = _last_header(text, start)
    out = asm.feed([text[:start - 1]]) if start else []
    out += asm.flush()  # the first prefixed line closes the record that was open
    caps = {"max_record_lines": asm.max_record_lines, "max_line_chars": asm.max_line_chars}
    base = asm.next_line
    if last > start:
        # up to and with the newline before the last prefixed line: a blank line before it stays a line
        for record in interesting_records(text[start:last], signals=signals, **caps):
            record.line += base - 1
            out.append(record)
        base += text.count("\n", start, last)
    rest = Assembler(first_line=base, **caps)
    out += rest.feed([text[last:]])
    asm.current, asm.mode, asm.chained, asm.next_line = rest.current, rest.mode, rest.chained, rest.next_line
    return out


def _last_header(text: str, floor: int) -> int:
    """Where the last log-prefixed line starts (``floor``: where the first one does)."""
    pos = text.rfind("\n") + 1
    while pos > floor and match_header(text, pos) is None:
        pos = text.rfind("\n", floor, pos - 1) + 1
    return max(pos, floor)
