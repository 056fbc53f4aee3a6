"""Exception events: the assembled records worth classifying, taken apart.

``to_event`` turns one record into an :class:`ExceptionEvent` (class, message,
Caused-by chain, the frames that matter, a short excerpt) or ``None`` for
noise. ``extract_events`` does it for a whole container log; it sits on the
hot path of ``classify`` over million-line files, so it searches the text for
candidate lines with one compiled pattern and assembles only their
neighbourhoods. Because a log-prefixed line always starts a new record (see
``logtext.assembly``), assembling from the prefixed line at or before a
candidate up to the next prefixed line yields exactly the records a full pass
would, and every record ``to_event`` keeps contains a candidate match. What
makes a record a candidate and an event is ``logtext.signals``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from logtext.assembly import (
    JSON_HEADER_RE,
    JSON_START,
    NEXT_HEADER_RE,
    TRACEBACK,
    Assembler,
    Record,
    match_header,
    split_lines,
)
from logtext.signals import DEFAULT_SIGNALS, Signals
from logtext.yarn import sections
from sparktriage.records import Cause, ExceptionEvent
from sparktriage.redact import redact

# An exception line: "java.lang.X: msg", "Caused by: ...", py4j's ", x.Y: msg",
# "Exception in thread "main" x.Y", Python's "ValueError: msg" or "pkg.mod.Err: msg",
# Hadoop IPC's "org.apache.hadoop.ipc.RemoteException(x.Remote$Class): msg" (the remote class is the cause).
_EXC_NAME = r"(?:[A-Za-z_$][\w$]*\.)+[A-Z][\w$]*|[A-Z]\w*(?:Error|Exception|Exit|Interrupt|Warning)|Exception|Error"
EXC_LINE_RE = re.compile(
    rf'(?P<prefix>Caused by: |: |Exception in thread "[^"]*" )?(?P<cls>{_EXC_NAME})'
    rf'(?:\((?P<remote>{_EXC_NAME})\))?(?::\s?(?P<msg>.*))?$'
)
# An exception named inside a log message ("Lost task 1.0 ... : java.lang.X: msg").
MSG_EXC_RE = re.compile(
    r"(?P<cls>(?:[a-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable))(?::\s?(?P<msg>.*))?"
)
JAVA_FRAME_RE = re.compile(r"\s+at ([\w$.<>/\-]+)\(")
PY_FRAME_RE = re.compile(r'\s+File "([^"]*)", line \d+')
_LIB_FRAMES = (
    "java.", "javax.", "jdk.", "sun.", "com.sun.", "scala.", "org.apache.spark.",
    "org.apache.hadoop.", "io.netty.", "py4j.", "akka.", "com.google.",
)
_LIB_PY = ("/pyspark/", "/py4j/", "site-packages", "/lib/python")

FRAMES_PER_CAUSE = 3
MAX_FRAMES = 20
MAX_EXCERPT = 30


def _is_user_frame(frame: str, python: bool) -> bool:
    if python:
        return not any(p in frame for p in _LIB_PY)
    return not frame.startswith(_LIB_FRAMES)


def _json_record_lines(record: Record) -> list[str]:
    """A Spark 4 JSON log line rendered as the classic layout prints it (header,
    ``class: msg``, ``\tat`` frames), so rules and parsing see one form."""
    head = f"{record.ts_text} {record.level} {record.logger or '-'}: {record.message}"
    try:
        exc = json.loads(record.lines[0]).get("exception")
    except ValueError:
        return [head]
    if not isinstance(exc, dict) or not exc.get("class"):
        return [head]
    msg = exc.get("msg")
    out = [head, f"{exc['class']}: {msg}" if msg else str(exc["class"])]
    trace = exc.get("stacktrace")
    if isinstance(trace, str):  # a layout with a stringified stack trace
        return out + [t for t in trace.split("\n")[1:] if t]
    for el in trace if isinstance(trace, list) else ():
        if isinstance(el, dict):
            out.append(f"\tat {el.get('class')}.{el.get('method')}({el.get('file')}:{el.get('line')})")
    return out


class Shape(NamedTuple):
    """Where ``to_event`` found the parts of one record, by position only: the same for every record whose
    lines differ from it only in their digits (each pattern and test on this path treats every digit alike,
    which ``tests/test_shapes.py`` checks), so such records are taken apart once (``logtext.shapes``).

    ``causes``: (line, class span, message span) of each link of the chain, outermost first (line -1: an
    exception named in the header's message); ``frames``: lines of the frames kept; ``picked``: lines of the
    excerpt.
    """

    causes: tuple[tuple[int, int, int, int, int], ...]
    frames: tuple[int, ...]
    picked: tuple[int, ...]


def shape_of(lines: Sequence[str], message: str, header: bool) -> Shape:
    """The parts of a record (its lines, and its header's message when it has a log prefix)."""
    head: list[tuple[int, int, int, int, int]] = []
    if header:
        m = MSG_EXC_RE.search(message)
        if m is not None:
            head.append((-1, *m.span("cls"), *m.span("msg")))
    blocks: list[list[tuple[int, int, int, int, int]]] = [[]]  # one per Python traceback (Java: one block)
    python = False
    picked: list[int] = [0]  # line indexes for the excerpt
    frames: list[int] = []
    since_cause = FRAMES_PER_CAUSE
    in_suppressed = False
    innermost: int | None = None  # a skipped Python frame: the one that raised, if last
    for i, line in enumerate(lines):
        if i == 0 and header:
            continue
        if line.startswith(TRACEBACK):
            python = True
            if blocks[-1]:
                blocks.append([])
            picked.append(i)
            continue
        if line.startswith(("During handling", "The above exception")):
            picked.append(i)
            continue
        stripped = line.lstrip()
        if stripped.startswith("Suppressed:"):
            in_suppressed = True
            picked.append(i)
            continue
        if line[:1].isspace() or not line:
            frame = JAVA_FRAME_RE.match(line) or PY_FRAME_RE.match(line)
            if frame is None or in_suppressed or len(frames) >= MAX_FRAMES:
                continue
            is_py = frame.re is PY_FRAME_RE
            if since_cause < FRAMES_PER_CAUSE or _is_user_frame(frame.group(1), is_py):
                frames.append(i)
                picked.append(i)
                since_cause += 1
                innermost = None
            elif is_py:
                innermost = i
            continue
        m = EXC_LINE_RE.match(line)
        if m is None:
            continue
        in_suppressed = False
        if innermost is not None and len(frames) < MAX_FRAMES:  # Python: where it was raised
            frames.append(innermost)
            picked.append(innermost)
            innermost = None
        blocks[-1].append((i, *m.span("cls"), *m.span("msg")))
        if m.group("remote"):
            blocks[-1].append((i, *m.span("remote"), *m.span("msg")))
        picked.append(i)
        since_cause = 0
    if python:  # Python prints the original exception first: outermost is last
        blocks.reverse()
    return Shape(tuple(head + [c for block in blocks for c in block]), tuple(frames),
                 tuple(sorted(set(picked))[:MAX_EXCERPT]))


def shaped_event(record: Record, lines: Sequence[str], text: str, message: str, shape: Shape, app_id: str,
                 attempt: int, container_id: str | None, role: str, host: str | None) -> ExceptionEvent:
    """The event of a record taken apart as ``shape`` says (``lines`` and ``text`` redacted, ``message``
    its header's message redacted)."""
    causes = []
    for n, a, b, c, d in shape.causes:
        line = message if n < 0 else lines[n]
        causes.append(Cause(line[a:b], line[c:d].strip()))
    if len(causes) > 1 and causes[0] == causes[1]:  # "User class threw exception: X: m" then "X: m"
        del causes[1]
    outer = causes[0] if causes else None
    return ExceptionEvent(
        app_id=app_id,
        text=text,
        attempt=attempt,
        container_id=container_id,
        role=role,
        host=host,
        ts=record.ts,
        line=record.line,
        level=record.level,
        logger=record.logger,
        exc_class=outer.exc_class if outer else None,
        message=outer.message if outer else message,
        causes=tuple(causes),
        frames=tuple([lines[i].lstrip() for i in shape.frames]),
        excerpt=tuple([lines[i] for i in shape.picked]),
    )


def to_event(
    record: Record,
    *,
    app_id: str,
    attempt: int = 1,
    container_id: str | None = None,
    role: str = "unknown",
    host: str | None = None,
    signals: Signals = DEFAULT_SIGNALS,
) -> ExceptionEvent | None:
    """The event of one record, or None when it is plain INFO/DEBUG noise.

    Rules and the model match the whole ``text``; the parsed parts (chain,
    frames, excerpt) are what root-cause selection and a person reading the
    diagnosis need, so they are kept small: the first frames after each cause
    plus user frames, and at most 30 excerpt lines.
    """
    return taken_apart(record, app_id, attempt, container_id, role, host, signals)[0]


def taken_apart(record: Record, app_id: str, attempt: int, container_id: str | None, role: str, host: str | None,
                signals: Signals) -> tuple[ExceptionEvent | None, Shape | None]:
    """``to_event``'s event and its shape; no shape for noise, and where another record differing only in
    its digits may not be taken apart the same way: a Spark 4 JSON record, or one redaction changed."""
    lines = record.lines
    text = "\n".join(lines)
    rendered = lines[0].startswith(JSON_START)  # a Spark 4 JSON record is read as the classic layout prints it
    if not record.alert and not rendered and not signals.interesting(text):
        return None, None  # noise: told before the header is parsed (most records of a log)
    first = match_header(lines[0])
    if first is not None and first.re is JSON_HEADER_RE:
        lines = _json_record_lines(record) + lines[1:]
        text = "\n".join(lines)
    if rendered and not record.alert and not signals.interesting(text):
        return None, None
    clean = redact(text)  # secrets never reach the state, the store or a receiver
    record_message = redact(record.message)
    same = clean == text and record_message == record.message
    if not same:
        text, lines = clean, clean.split("\n")
    shape = shape_of(lines, record_message, first is not None)
    event = shaped_event(record, lines, text, record_message, shape, app_id, attempt, container_id, role, host)
    return event, (shape if same and not rendered else None)


def candidate_offsets(text: str, *, use_hyperscan: bool = True, signals: Signals = DEFAULT_SIGNALS,
                      ascii: bytes | None = None) -> Iterator[int]:
    """Ascending offsets inside candidate lines (``ascii``: the text's bytes, where it is ASCII and the
    caller has them: the file as read).

    Hyperscan scans the UTF-8 bytes; every literal is ASCII, so a match ends
    on a character boundary and its byte offset maps back to a character
    offset by decoding the stretch since the previous match (linear overall).
    """
    db = signals.hyperscan_db if use_hyperscan else None
    if db is None:
        return (m.start() for m in signals.candidates.finditer(text))
    ascii_only = ascii is not None or text.isascii()
    data = ascii if ascii is not None else text.encode("ascii") if ascii_only else text.encode("utf-8", "surrogatepass")
    ends: list[int] = []
    db.scan(data, match_event_handler=lambda _id, _f, to, _fl, _c: ends.append(to - 1))
    ends.sort()
    if ascii_only:
        return iter(ends)
    return _char_offsets(data, ends)


def _char_offsets(data: bytes, byte_offsets: list[int]) -> Iterator[int]:
    char, last = 0, 0
    for offset in byte_offsets:
        while data[offset] & 0xC0 == 0x80:  # a line's match ends at the text's end inside its last character
            offset -= 1
        char += len(data[last:offset].decode("utf-8", "surrogatepass"))
        last = offset
        yield char


def segment_at(text: str, hit: int, done_upto: int = 0) -> tuple[int, int, re.Match | None]:
    """(start, end, log prefix at ``start`` or None) of the stretch of ``text`` around offset ``hit``: from
    the prefixed line at or before it (or ``done_upto``, a handled boundary) to the next prefixed line.

    Such a stretch assembles into exactly the records a full pass gives for its lines (a prefixed line
    always starts a record), so it can be assembled alone; one that is a single prefixed line is a
    single record."""
    start = max(text.rfind("\n", done_upto, hit) + 1, done_upto)
    header = match_header(text, start)
    while header is None and start > done_upto:
        start = max(text.rfind("\n", done_upto, start - 1) + 1, done_upto)
        header = match_header(text, start)
    nl = text.find("\n", hit)
    nxt = NEXT_HEADER_RE.search(text, nl) if nl >= 0 else None
    return start, nxt.start() + 1 if nxt is not None else len(text), header


def segments(text: str, *, use_hyperscan: bool = True,
             signals: Signals = DEFAULT_SIGNALS) -> Iterator[tuple[int, int, int, re.Match | None]]:
    """(start, end, number of the first line, log prefix) of every stretch (``segment_at``) holding a candidate."""
    done_upto = 0  # text before this offset is handled; it is 0 or a prefixed line start
    line_no, counted_upto = 1, 0
    for hit in candidate_offsets(text, use_hyperscan=use_hyperscan, signals=signals):
        if hit < done_upto:
            continue
        start, end, header = segment_at(text, hit, done_upto)
        line_no += text.count("\n", counted_upto, start)
        counted_upto = start
        yield start, end, line_no, header
        done_upto = end


def interesting_records(text: str, *, use_hyperscan: bool = True, signals: Signals = DEFAULT_SIGNALS,
                        **caps: int) -> list[Record]:
    """The records of ``text`` that contain a candidate match, plus their
    neighbours in the same prefix-to-prefix segment; the same records a full
    pass of :class:`Assembler` yields, for every record ``to_event`` keeps."""
    out: list[Record] = []
    for start, end, line_no, _ in segments(text, use_hyperscan=use_hyperscan, signals=signals):
        asm = Assembler(first_line=line_no, **caps)
        out += asm.feed(split_lines(text[start:end])) + asm.flush()
    return out


def extract_events(
    text: str,
    *,
    app_id: str,
    attempt: int = 1,
    container_id: str | None = None,
    role: str = "unknown",
    host: str | None = None,
    signals: Signals = DEFAULT_SIGNALS,
) -> list[ExceptionEvent]:
    """Every event of one container's whole log, in log order.

    A ``yarn logs`` dump (``Container: ... LogType: ... LogContents:``) is
    split per container and log type first; each section's container id
    gives its role (container 1 = driver) and its own line numbering.
    """
    events: list[ExceptionEvent] = []
    for body, where in sections(text, attempt=attempt, container_id=container_id, role=role, host=host):
        for record in interesting_records(body, signals=signals):
            event = to_event(record, app_id=app_id, **where, signals=signals)
            if event is not None:
                events.append(event)
    return events
