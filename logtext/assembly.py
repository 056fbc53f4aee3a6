"""Multi-line assembly: the lines of one container's log into log records.

A log record is a first line plus its continuation lines: a log4j/log4j2
header with the stack trace printed under it, a bare ``Exception in thread``
line with its frames, a Python traceback with its chained tracebacks. One
:class:`Assembler` serves one (application, attempt, container) stream, so
lines of many containers interleaved on one partition still assemble
correctly. Its state is a small JSON-able dict because the stream app keeps
it in a changelog-backed table, and it is bounded: a record keeps at most
``max_record_lines`` lines (the rest are counted) and each line about
``max_line_chars`` characters: a longer one keeps its head, its tail and the
words around its failure words (``cut_line``), and says where it was cut.

The grammar, one rule per mode of the current record:

- a line with a log prefix (timestamp + level, also with Airflow's ``{file.py:N}``
  or Python logging's ``- logger -`` between them, or a Spark 4 structured JSON
  line) always starts a new record;
  this reset is what lets ``extract_events`` assemble only the neighbourhood
  of interesting lines and still get exactly the records of a full pass;
- a record started by a log prefix absorbs every other line (log4j prints a
  message's extra lines and its throwable without prefixes), except a Python
  ``Traceback`` that does not directly follow its header;
- a Python traceback absorbs indented lines up to its final exception line,
  then only continuation lines, blank lines and chained tracebacks;
- any other record (a bare line on stderr) absorbs continuation lines only, and the
  exception line right after its first line when that line is a log message printed with
  its throwable in a layout the prefix grammar does not read (a level word: a paste
  without timestamps, a time-only test layout) or Spark's uncaught-exception message;
- a bare exception line's message that goes on as an HTTP client's error response (Google's API client
  prints ``403 Forbidden``, the request's ``POST https://...`` line and the JSON error body, whose
  ``reason`` says what the status alone does not: ``rateLimitExceeded``) keeps the request line and the
  body, from a ``{`` alone on its line to the ``}`` alone that closes it, and then its frames;
- a JVM frame pasted without its indentation (``at a.B.c(B.java:1)`` at the start of the
  line) gets its tab back and continues the open record like any frame.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Self

LEVELS = r"TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|FATAL|SEVERE|CRITICAL"
# The timestamp forms of log4j 1/2 layouts seen in Spark 1.x–4.x, Hadoop/YARN,
# ZooKeeper and HDFS logs, followed by the level (ZooKeeper puts " - " between).
_TS = (
    r"\d{2}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?"
    r"|\d{4}-\d{2}-\d{2}(?:[ T]|, )\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2}| UTC)?"
    r"|\d{6} \d{6}(?: \d+)?"
)
# Between the timestamp and the level: Airflow's source position ("[ts] {taskinstance.py:1150} ERROR - "),
# Python logging's logger ("ts - py4j.java_gateway - ERROR - "), ZooKeeper's bare " - ".
_BEFORE_LEVEL = r"[ \t]+(?:\{[^}\n]*\}[ \t]+)?(?:-[ \t]+(?:[\w$.\-]+[ \t]+-[ \t]+)?)?"
HEADER_PREFIX = rf"\[?(?P<ts>{_TS})\]?{_BEFORE_LEVEL}(?P<level>{LEVELS})\b"
HEADER_RE = re.compile(
    HEADER_PREFIX
    + r"[ \t]*(?:\[(?P<thread>[^\]\n]*)\][ \t]*)?(?:-[ \t]+)?(?:(?P<logger>[\w$.\-]+):[ \t])?(?P<msg>.*)"
)
# Spark 4 structured logging (log4j2 JsonTemplateLayout): one JSON object per
# record, {"ts": ..., "level": ..., "msg": ..., "context": ..., "exception": ..., "logger": ...}.
#: how such a record's line starts: a cheap test before the pattern
JSON_START = '{"ts"'
JSON_HEADER_RE = re.compile(rf'\{{"ts":[ \t]?"(?P<ts>[^"\n]+)",[ \t]?"level":[ \t]?"(?P<level>{LEVELS})"')
_HEADER_LINE = "(?:" + re.sub(r"\(\?P<\w+>", "(?:", HEADER_PREFIX + "|" + JSON_HEADER_RE.pattern) + ")"
HEADER_LINE_RE = re.compile("^" + _HEADER_LINE, re.MULTILINE)
#: A newline and the log-prefixed line after it: where the next record starts. ``re`` tries a pattern that
#: starts with ``^`` at every character; one that starts with a literal, only where that character is.
NEXT_HEADER_RE = re.compile("\n" + _HEADER_LINE)
#: A plain prefixed line in three groups: what comes before its timestamp, the timestamp, the rest of the line
#: with its newline. Where the next line starts a record too (``HEADER_LINE_RE``), or there is none, the line is
#: a whole record: a repeated warning's line is recognised so, not assembled, and its groups are what it is
#: looked up by (``logtext.runs.WholeLines``).
PREFIXED_LINE_RE = re.compile(
    r"(?P<pre>\[?)(?P<ts>" + _TS + r")(?P<rest>\]?" + _BEFORE_LEVEL + "(?:" + LEVELS + r")\b[^\n]*(?:\n|\Z))")


def match_header(text: str, pos: int = 0) -> re.Match | None:
    """The log prefix (plain or Spark 4 JSON) of the line starting at ``pos``."""
    m = HEADER_RE.match(text, pos)
    if m is None and text.startswith(JSON_START, pos):
        m = JSON_HEADER_RE.match(text, pos)
    return m


# Lines that continue whatever record is open: frames, "... N more", causes,
# suppressed exceptions, py4j's ": org.apache..." message lines, blank lines.
CONTINUATION_RE = re.compile(
    r"(?:$|\s|Caused by:|Suppressed:|\.\.\. \d+ more|: |Driver stacktrace:)"
)
#: A JVM stack frame pasted without its indentation (issue threads, chat, some web pages strip it):
#: it is put back, so the frames stay in their exception's record and read as frames.
BARE_FRAME_RE = re.compile(r"at [\w$][\w$.<>/\-]*\(")
TRACEBACK = "Traceback (most recent call last)"
#: A bare line that log4j printed with a throwable under it: a level word of a layout without a timestamp
#: (``ERROR Utils: ...``, ``[thread] ERROR a.b.C - ...``), or the message Spark's uncaught-exception handlers
#: log with the throwable (``Utils.logUncaughtExceptions``, ``tryOrStopSparkContext``,
#: ``SparkUncaughtExceptionHandler``) or the executor's ``Exception in task ...``. Split from its throwable,
#: the thread that names the process would be lost (an OOM of ``task-result-getter-1`` is the driver's).
ANNOUNCES_THROWABLE_RE = re.compile(
    r"\b(?:ERROR|WARN|WARNING|FATAL|SEVERE)\b|[Uu]ncaught (?:exception|(?:fatal )?error) in thread |Exception in task "
)
#: A JVM exception's first line (``java.lang.OutOfMemoryError: Java heap space``).
THROWABLE_LINE_RE = re.compile(r"(?:[a-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable)\b(?::|$)")
#: The same as a cause, py4j's message line or the uncaught exception of a thread.
_CHAINED_THROWABLE_RE = re.compile(r'(?:Caused by: |: |Exception in thread "[^"\n]*" )?' + THROWABLE_LINE_RE.pattern)
#: The request line an HTTP client's exception message has after its status (``POST https://host/path?q``).
HTTP_REQUEST_RE = re.compile(r"(?:GET|POST|PUT|PATCH|DELETE|HEAD) https?://\S+")
_CHAIN = ("During handling of the above exception", "The above exception was the direct cause")
_ALERT_LEVELS = frozenset({"WARN", "WARNING", "ERROR", "FATAL", "SEVERE", "CRITICAL"})

# Modes of the open record (see the module docstring).
LOG, TB, TB_END, PLAIN, BODY = "log", "tb", "tb_end", "plain", "body"


def _from_fields(yy: str, mo: str, dd: str, hh: str, mi: str, ss: str) -> datetime:
    """A two-digit year as strptime's %y reads it (69-99 -> 19xx, else 20xx)."""
    year = int(yy)
    return datetime(year + (1900 if year >= 69 else 2000), int(mo), int(dd), int(hh), int(mi), int(ss))


@lru_cache(maxsize=4096)
def parse_log_ts(text: str | None) -> float | None:
    """Epoch seconds of a log-prefix timestamp, read as UTC when it has no zone
    (log4j layouts print local time without one; UTC is the honest guess). Remembered: Spark's default
    layout stamps to the second, so the records of a burst (a trace repeated by every task) share one."""
    if not text:
        return None
    try:
        if "/" in text[:3]:  # yy/MM/dd HH:mm:ss[.SSS] (fixed width: sliced, strptime is slow)
            dt = _from_fields(text[0:2], text[3:5], text[6:8], text[9:11], text[12:14], text[15:17])
            extra = float("0." + text[18:]) if len(text) > 18 else 0.0
        elif text[2].isdigit() and text[6] == " ":  # yyMMdd HHmmss (HDFS)
            dt = _from_fields(text[0:2], text[2:4], text[4:6], text[7:9], text[9:11], text[11:13])
            extra = 0.0
        else:
            dt = datetime.fromisoformat(text.replace(", ", " ").replace(",", ".").replace("Z", "+00:00")
                                        .replace(" UTC", "+00:00"))  # Airflow: "2021-11-22, 17:37:57 UTC"
            extra = 0.0
    except (ValueError, IndexError):
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp() + extra


def _logger_and_message(header: re.Match, line: str) -> tuple[str | None, str]:
    if header.re is HEADER_RE:
        return header.group("logger"), header.group("msg")
    try:
        obj = json.loads(line)
    except ValueError:  # a cut JSON line: keep what there is
        return None, line
    logger, msg = obj.get("logger"), obj.get("msg")
    return (logger if isinstance(logger, str) else None), (msg if isinstance(msg, str) else line)


@dataclass(slots=True)
class Record:
    """The lines of one log record and where it starts in its container's log."""

    line: int  # 1-based position of the first line
    lines: list[str] = field(default_factory=list)
    omitted: int = 0  # lines past the cap, counted not kept
    level: str | None = None
    logger: str | None = None
    ts_text: str | None = None
    message: str = ""  # the header's message, or the first line

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def ts(self) -> float | None:
        return parse_log_ts(self.ts_text)

    @property
    def alert(self) -> bool:
        """Whether the record's level alone makes it worth a look."""
        return self.level in _ALERT_LEVELS

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "lines": list(self.lines),
            "omitted": self.omitted,
            "level": self.level,
            "logger": self.logger,
            "ts_text": self.ts_text,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return cls(**{**data, "lines": list(data.get("lines") or ())})


class Assembler:
    """Lines of one container's log in, complete records out.

    ``feed`` returns the records that the new lines closed; the open record
    stays inside until a line starts the next one or ``flush`` is called. Any
    split of the same lines into ``feed`` calls gives the same records.
    """

    def __init__(
        self, *, first_line: int = 1, max_record_lines: int = 200, max_line_chars: int = 8192
    ) -> None:
        self.next_line = first_line
        self.max_record_lines = max(1, max_record_lines)  # a record keeps at least the line that starts it
        self.max_line_chars = max_line_chars
        self.current: Record | None = None
        self.mode = PLAIN
        self.chained = False  # a "During handling..." line awaits its Traceback

    def feed(self, lines: Iterable[str]) -> list[Record]:
        """Add lines (an element holding several lines is split on ``\\n``)."""
        done: list[Record] = []
        for chunk in lines:
            for line in chunk.split("\n") if "\n" in chunk else (chunk,):
                self._line(line.rstrip("\r"), done)
        return done

    def flush(self) -> list[Record]:
        """Close the open record (end of the log, or the application ended)."""
        rec, self.current = self.current, None
        return [rec] if rec is not None else []

    def _line(self, line: str, done: list[Record]) -> None:
        number = self.next_line
        self.next_line += 1
        header = match_header(line)
        rec = self.current
        if header is not None:
            self._start(number, line, done, LOG, header)
            return
        if rec is None:
            self._start(number, line, done, TB if line.startswith(TRACEBACK) else PLAIN)
            return
        mode = self.mode
        if BARE_FRAME_RE.match(line) is not None:
            line = "\t" + line
        if line.startswith(TRACEBACK):
            joins = (mode == LOG and len(rec.lines) == 1 and rec.alert) or (
                mode == TB_END and self.chained
            )
            if joins:
                self.mode, self.chained = TB, False
                self._append(rec, line)
            else:
                self._start(number, line, done, TB)
            return
        if mode == LOG:
            self._append(rec, line)
        elif mode == TB:
            if line and not line[0].isspace():
                self.mode = TB_END
            self._append(rec, line)
        elif line.startswith(_CHAIN) and mode == TB_END:
            self.chained = True
            self._append(rec, line)
        elif mode == BODY and (line[:1].isspace() or line.rstrip() == "}"):  # the body's lines are indented
            if not line[:1].isspace():
                self.mode = PLAIN
            self._append(rec, line)
        elif CONTINUATION_RE.match(line) is not None or self._throwable_of(rec, line):
            if mode == BODY:  # a body cut short (a paste's): its record goes on as any bare one
                self.mode = PLAIN
            self._append(rec, line)
        elif mode in (PLAIN, BODY) and self._response_of(rec, line):
            self.mode = BODY if line.rstrip() == "{" else PLAIN
            self._append(rec, line)
        else:
            self._start(number, line, done, PLAIN)

    def _throwable_of(self, rec: Record, line: str) -> bool:
        """Whether ``line`` is the throwable of the bare one-line message ``rec`` (see the module docstring)."""
        return (self.mode == PLAIN and len(rec.lines) == 1 and THROWABLE_LINE_RE.match(line) is not None
                and ANNOUNCES_THROWABLE_RE.search(rec.lines[0]) is not None)

    def _response_of(self, rec: Record, line: str) -> bool:
        """Whether ``line`` starts the HTTP error response that the bare exception line ending ``rec`` goes on
        with (see the module docstring): a request line or the ``{`` of the body, right after that line or
        after its request line."""
        line = line.rstrip()
        if line != "{" and HTTP_REQUEST_RE.fullmatch(line) is None:
            return False
        last = rec.lines[-1].rstrip()
        if HTTP_REQUEST_RE.fullmatch(last) is not None:
            return line == "{" and len(rec.lines) > 1 and _CHAINED_THROWABLE_RE.match(rec.lines[-2]) is not None
        return _CHAINED_THROWABLE_RE.match(last) is not None

    def _start(
        self, number: int, line: str, done: list[Record], mode: str, header: re.Match | None = None
    ) -> None:
        """A new record from ``line`` (most lines of a log start one: kept to few calls)."""
        if self.current is not None:
            done.append(self.current)
        limit = self.max_line_chars
        kept = line if len(line) <= limit else cut_line(line, limit)
        if header is None:
            rec = Record(number, [kept], 0, None, None, None, kept)
        elif header.re is HEADER_RE:
            level, ts_text, logger, msg = header.group("level", "ts", "logger", "msg")
            rec = Record(number, [kept], 0, level, logger, ts_text, msg if len(msg) <= limit else cut_line(msg, limit))
        else:
            logger, msg = _logger_and_message(header, line)
            rec = Record(number, [kept], 0, header.group("level"), logger, header.group("ts"), cut_line(msg, limit))
        self.current, self.mode, self.chained = rec, mode, False

    def _append(self, rec: Record, line: str) -> None:
        if len(rec.lines) < self.max_record_lines:
            rec.lines.append(cut_line(line, self.max_line_chars))
        else:
            rec.omitted += 1

    def to_dict(self) -> dict[str, Any]:
        """The whole state, JSON-able, for a changelog-backed table."""
        return {
            "next_line": self.next_line,
            "max_record_lines": self.max_record_lines,
            "max_line_chars": self.max_line_chars,
            "current": self.current.to_dict() if self.current is not None else None,
            "mode": self.mode,
            "chained": self.chained,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        asm = cls(
            first_line=data["next_line"],
            max_record_lines=data["max_record_lines"],
            max_line_chars=data["max_line_chars"],
        )
        cur = data.get("current")
        asm.current = Record.from_dict(cur) if cur is not None else None
        asm.mode = data.get("mode", PLAIN)
        asm.chained = bool(data.get("chained"))
        return asm


#: What a cut line says where it was cut: the diagnosis notes it (``classifiers.core``).
CUT_MARK = " [... {n:,} characters cut ...] "
CUT_SEEN = "characters cut ...]"
# Where the cause usually is in a very long line: exception classes and the failure words rules look for.
# Literals first (no leading character class): the scan stays linear over a line of many megabytes.
_KEEP_RE = re.compile(r"(?:Exception|Error|Throwable)\b|Caused by|Container killed|OutOfMemory|[Kk]illed"
                      r"|denied|refused|timed out|not found|No such|does not exist|exceed|[Ff]ailed|FAILED")


def cut_line(line: str, limit: int) -> str:
    """``line`` within about ``limit`` characters: its head, its tail, and a window around each distinct
    failure word in between (a 50 MB line's OutOfMemoryError is kept, wherever it is), the gaps marked."""
    if len(line) <= limit:
        return line
    head, tail, window = limit // 4, limit // 8, 240
    keep, seen, budget = [(0, head), (len(line) - tail, len(line))], set(), limit - head - tail
    for m in _KEEP_RE.finditer(line, head, len(line) - tail):
        if budget <= 0:
            break
        if m.group() in seen:
            continue
        seen.add(m.group())
        span = (max(head, m.start() - window), min(len(line) - tail, m.end() + window))
        keep.append(span)
        budget -= span[1] - span[0]
    pieces, end = [], 0
    for start, stop in sorted(keep):
        if start > end:
            pieces.append(CUT_MARK.format(n=start - end))
        if stop > end:
            pieces.append(line[max(start, end):stop])
            end = stop
    return "".join(pieces)


def assemble(text: str, **caps: int) -> list[Record]:
    """All records of one container's whole log (the reference, slow path)."""
    asm = Assembler(**caps)
    return asm.feed(split_lines(text)) + asm.flush()


def split_lines(text: str) -> list[str]:
    """Lines of a log as the assembler numbers them: split on ``\\n`` only, no
    phantom empty line after a final newline."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines
