"""Stretches of log identical but for their digits: assembled and taken apart once (issue 17).

A busy log repeats the same traces with other numbers in them: task, stage
and thread ids, ports, sizes, line numbers. ``logtext.runs`` folds records
identical but for their timestamp; these differ elsewhere too, so each stays
an event of its own (its own text, evidence and exceptions-tab message), but
assembling it (``logtext.assembly``) and taking it apart
(``logtext.events.shape_of``) find the same records and the same parts at the
same places: every pattern and test on that path treats all ASCII digits
alike but in the words of ``KEPT_DIGITS`` (``tests/test_shapes.py`` checks each
one). So a stretch
(``logtext.events.segment_at``) is looked up by its text with every digit
written ``0``; seen before, its lines are cut into records where the first
one's were and its events are built from the first one's shapes
(``logtext.events.shaped_event``), from its own text. Where only the rules tell
whether a record is an event, they are asked again (rules may read digits:
``exit code 137``); answering otherwise, the stretch is taken apart anew.

Not shared, and so taken apart each time as before: a stretch holding a Spark 4
JSON record, a record redaction changed, a line cut for its length, a record
past its line cap, or a carriage return.
"""

from __future__ import annotations

from dataclasses import dataclass

from logtext.assembly import HEADER_RE, JSON_START, Assembler, Record, split_lines
from logtext.events import Shape, shaped_event, taken_apart
from logtext.signals import INTERESTING_RE, Signals
from sparktriage.records import ExceptionEvent

#: the app, attempt, container, role and host of a container log's records
Where = tuple[str, int, "str | None", str, "str | None"]

#: every ASCII digit as 0, over a stretch's UTF-8 bytes (a digit is one byte there, so the key of two texts
#: is the same exactly when they differ only in their digits)
_DIGITS = bytes.maketrans(b"123456789", b"000000000")


#: words whose digits the take-apart path reads: py4j's package, a library's frames (``logtext.events._LIB_FRAMES``)
KEPT_DIGITS = ("py4j",)
_KEPT = tuple((word, word.encode().translate(_DIGITS)) for word in KEPT_DIGITS)  # ASCII: counted alike in str and UTF-8


def digit_mask(text: str) -> bytes:
    """``text`` with every ASCII digit written 0 (as UTF-8): the same exactly for texts that differ only in
    their digits, which a pattern that reads all digits alike cannot tell apart."""
    return text.encode("utf-8", "surrogatepass").translate(_DIGITS)


def digit_key(text: str) -> bytes | None:
    """``digit_mask(text)``, or None for a text holding a word of ``KEPT_DIGITS`` with other digits (``py5j``):
    the take-apart path reads those, so such texts are not shared."""
    key = digit_mask(text)
    for word, masked in _KEPT:  # (a masked word absent from the key is absent from the text: counted where present)
        if masked in key and key.count(masked) != text.count(word):
            return None
    return key


@dataclass(frozen=True, slots=True)
class _Layout:
    """One record of a stretch: where its lines are among the stretch's, the spans of its log prefix's
    timestamp, level, logger and message (None: a record without one), its shape (None: noise), and whether
    only the rules told whether it is an event (it is not WARN or worse and holds no signal word), which is
    then asked again of each record: rules may read digits (``exit code 137``)."""

    first: int
    count: int
    header: tuple[int, int, int, int, int, int, int, int] | None
    shape: Shape | None
    ruled: bool


class Shapes:
    """The records and shapes of the stretches seen (one container's log: ``logtext.runs.extract_runs``; the
    batches of every stream a worker reads: ``ingest.batch``). ``max_keys``: forget them all once this many
    are kept (a worker runs for weeks; None: keep all, for one log)."""

    def __init__(self, signals: Signals, *, max_line_chars: int = 8192, max_record_lines: int = 200,
                 max_keys: int | None = None) -> None:
        self.signals = signals
        self.max_line_chars = max_line_chars
        self.max_record_lines = max_record_lines
        self.max_keys = max_keys
        self._seen: dict[bytes, tuple[_Layout, ...] | None] = {}  # None: a stretch taken apart every time

    def events(self, stretch: str, first_line: int, where: Where) -> list[ExceptionEvent | None]:
        """The event (None: noise) of each record of ``stretch``, whose first line is line ``first_line``;
        ``where``: the app, attempt, container, role and host they belong to."""
        key = digit_key(stretch)
        layouts = self._seen.get(key) if key is not None else None
        lines = split_lines(stretch)
        if layouts is not None:
            out = [self._rebuilt(lines, first_line, layout, where) for layout in layouts]
            if _ANOTHER_ANSWER not in out:
                return out  # type: ignore[return-value]
        asm = Assembler(first_line=first_line, max_line_chars=self.max_line_chars,
                        max_record_lines=self.max_record_lines)
        records = asm.feed(lines) + asm.flush()
        events: list[ExceptionEvent | None] = []
        found: list[_Layout] | None = [] if key is not None and key not in self._seen else None
        for record in records:
            event, shape = taken_apart(record, *where, self.signals)
            events.append(event)
            if found is not None:
                layout = self._layout(record, event, shape, lines, first_line)
                found = None if layout is None else found + [layout]
        if found is not None:
            if self.max_keys is not None and len(self._seen) >= self.max_keys:
                self._seen.clear()
            self._seen[key] = tuple(found) if found else None  # type: ignore[index]
        return events

    def _layout(self, record: Record, event: ExceptionEvent | None, shape: Shape | None, lines: list[str],
                first_line: int) -> _Layout | None:
        """How to rebuild ``record`` from another stretch with the same key, or None if it may not be."""
        first = record.line - first_line
        if (event is not None and shape is None) or record.omitted \
                or record.lines != lines[first:first + len(record.lines)]:
            return None  # not shareable, or the assembler changed its lines (a cut, a frame's tab, a CR)
        if record.lines[0].startswith(JSON_START):
            return None  # a Spark 4 JSON record
        ruled = not record.alert and INTERESTING_RE.search(record.text) is None
        if record.level is None:
            return _Layout(first, len(record.lines), None, shape, ruled)
        m = HEADER_RE.match(record.lines[0])
        if m is None or m.group("msg") != record.message:
            return None
        spans = (*m.span("ts"), *m.span("level"), *m.span("logger"), *m.span("msg"))
        return _Layout(first, len(record.lines), spans, shape, ruled)  # type: ignore[arg-type]

    def _rebuilt(self, lines: list[str], first_line: int, layout: _Layout,
                 where: Where) -> ExceptionEvent | None | object:
        """The event of one record as ``layout`` says; ``_ANOTHER_ANSWER`` if the rules answer otherwise."""
        own = lines[layout.first:layout.first + layout.count]
        text = "\n".join(own)
        if layout.ruled and self.signals.interesting(text) != (layout.shape is not None):
            return _ANOTHER_ANSWER
        if layout.shape is None:
            return None
        head = own[0]
        record = Record(line=first_line + layout.first, lines=own, message=head)
        if layout.header is not None:
            t0, t1, l0, l1, g0, g1, m0, m1 = layout.header
            record.ts_text, record.level, record.message = head[t0:t1], head[l0:l1], head[m0:m1]
            record.logger = head[g0:g1] if g0 >= 0 else None
        return shaped_event(record, own, text, record.message, layout.shape, *where)


#: what ``Shapes._rebuilt`` answers when a rule reads a record otherwise than the first of its key
_ANOTHER_ANSWER = object()
