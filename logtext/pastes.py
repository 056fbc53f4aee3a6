"""Pasted excerpts back into the shape of the log they were copied from.

``classify`` and ``evaluate`` are handed texts that people pasted into issue
threads, tickets and chat, and the paste leaves marks the assembler was never
meant to read: every line behind a quote marker (``> ``), a build tool's or a
container runner's tag (``[info] ``, ``app_1  | ``, a CI runner's timestamp), a list marker
(``- `` on every line: one trace read as as many records as it has lines), a paste bin's line number
(``  1. ``) or R's output marker (``#> ``), the whole trace indented as a markdown code block, code fences and inline
backticks around an exception, a trace kept as one JSON or ``repr`` string
(``\\n`` and ``\\t`` as two characters each), a JIRA page's trace flattened onto
one line (``... at a.B.c(B.java:1) at ...``), frames copied without their ``at``
(``a.B.c(B.java:1)`` alone on a line), an exception message that the
paste wrapped after a space, a markdown line break or a terminal's padding (two or more spaces at the end of most
lines: after an exception class, the line is no longer an exception line), typographic quotes around the thread
of an uncaught exception, a trace double-spaced (a blank line, or several, before every frame: a page that
copies each line as a paragraph), a terminal's or a notebook's colours (ANSI SGR codes, their escape kept, shown as
``^[`` or dropped: ``[0;31mAnalysisException[0m: ...``). Each hides the exception line from
``logtext.assembly``/``logtext.events`` (no class, no cause chain, frames read as
messages). :func:`unpaste` undoes them before assembly.

It is applied to whole texts only (``extract_events``, ``extract_runs``, the
last lines of a log): the worker's lines come from shippers, not pastes. A log
file has none of these marks, so for it ``unpaste`` returns the text itself,
unchanged: each step has a gate that a log file fails on its first line or in
its first 64 KiB, before any per-line work.
"""

from __future__ import annotations

import re
from itertools import islice

from logtext.assembly import BARE_FRAME_RE, JSON_START, match_header

#: How much of a text is looked at for the marks of a paste: a paste shows them from its first lines, and
#: a log file of a million lines costs no more than its head (the whole text is read only when they are there).
PASTE_SCAN_CHARS = 1 << 16

#: Markdown quote markers (``> ``, nested ``> > ``); not Python's ``>>> `` prompt.
_QUOTE_RE = re.compile(r"(?!>>> )(?:> ?)+")
#: A tag a tool puts before every line it prints: sbt's level, a compose service, a CI runner's
#: timestamp, a log viewer's time and tab, journald's date, host and unit. Each alternative is one
#: kind; a paste has one kind. A line whose tag is the time of its own log prefix keeps it.
_TAG_RES = (
    re.compile(r"\[(?:info|error|warn|debug|success)\] ?"),  # sbt
    re.compile(r"[\w.-]+[ \t]+\| "),  # docker compose: "app_1  | "
    re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z "),  # kubectl --timestamps, CI runners
    re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:[.,]\d+)?\t"),  # a log viewer's export: time, tab, line
    re.compile(r"[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \S+ [\w.\-/@]+(?:\[\d+\])?: "),  # journald
    re.compile(r"[-*+•](?:[ \t]|$)"),  # a markdown list's marker on every line (a paste bin, a chat's bullets)
    re.compile(r"[ \t]*\d+\.(?:[ \t]|$)"),  # a paste bin's or a page's line numbers: "  1. ", "2.\t"
    re.compile(r"#>(?:[ \t]|$)"),  # R's reprex and knitr before each line of output
)
#: A code fence line (```, ```text): a blank line takes its place, so later lines keep their numbers.
_FENCE_RE = re.compile(r"[ \t]*```[\w+-]*[ \t]*")
#: Markup around a line that names an exception or starts with a log prefix: backticks, bold.
_MARKUP_RE = re.compile(r"(?P<open>`{1,3}|\*\*)(?P<body>\S.*?)(?:`{1,3}|\*\*)?[ \t]*")
_EXC_START_RE = re.compile(
    r"(?:Caused by: |Exception in thread |(?:[a-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error)\b|[A-Z]\w*(?:Exception|Error)\b)")
#: A frame, ``Caused by:`` or ``... N more`` in the middle of a line: where a flattened trace had its newlines.
_FLAT_RE = re.compile(r"(?<=\S) (?=at [\w$][\w$.<>/\-]*\([^()\n]*\)(?: |$)|Caused by: |\.\.\. \d+ more\b)")
_FLAT_FRAME = ") at "
_FLAT_GATE_RE = re.compile(r"\) at [\w$][\w$.<>/\-]*\(")
#: A frame copied without its ``at`` (a page or a tool that prints ``StackTraceElement.toString`` alone): a
#: qualified method and its source position, nothing else on the line.
_AT_LESS_RE = re.compile(
    r"[ \t]*(?P<frame>(?:[a-z_$][\w$]*\.)+[\w$]+\.[\w$<>]+\((?:[\w$.\-]+\.(?:java|scala|kt|groovy):\d+|Native Method|Unknown Source)\))[ \t]*")
_AT_LESS_GATE_RE = re.compile(r"(?m)^" + _AT_LESS_RE.pattern + "$")
#: A newline kept as two characters before what only follows a newline in a trace (a Python frame's file name
#: in quotes, escaped in JSON: ``File \"job.py\"``).
_ESCAPED_RE = re.compile(r'\\n(?:\\t|[ \t])*(?:at [\w$]|Caused by: |Traceback \(most recent|File \\?"|: [\w$.]+(?:Exception|Error))')
#: The thread of an uncaught exception in a page's typographic quotes (``Exception in thread “main”``): the JVM
#: prints ASCII ones, and the thread names the process (``task-result-getter`` is the driver's).
_CURLY_THREAD = "thread \u201c"
_CURLY_THREAD_RE = re.compile("(Exception in thread )\u201c([^\u201d\n]*)\u201d")
_ESCAPE_RE = re.compile(r"""\\([ntr"'\\])""")
#: A line that only continues a JVM trace: a frame, a cause, the frames left out.
_TRACE_GOES_ON_RE = re.compile(r"[ \t]*(?:at [\w$]|Caused by: |\.\.\. \d+ more)")
#: Blank lines before such a line: two of them in a paste's head mark it as double-spaced.
_DOUBLED_RE = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)*" + _TRACE_GOES_ON_RE.pattern)
_UNESCAPE = {"n": "\n", "t": "\t", "r": "", '"': '"', "'": "'", "\\": "\\"}
#: A colour code with its escape (ESC, or ``^[`` as a terminal shows it), and one whose escape the paste dropped.
_SGR_RE = re.compile(r"(?:\x1b|\^\[)\[[0-9;]*m")
_BARE_SGR_RE = re.compile(r"\[\d{1,3}(?:;\d{1,3})*m")
#: How many bare resets (``[0m``) make a paste's colours: one alone could be text.
_BARE_RESETS = 2


def unpaste(text: str) -> str:
    """``text`` with the marks of a paste undone (see the module docstring); ``text`` itself when it has none."""
    scan = text[:PASTE_SCAN_CHARS]
    lines: list[str] | None = None
    if "\x1b[" in scan or "^[[" in scan or scan.count("[0m") >= _BARE_RESETS:  # colours between class and colon
        text = _colourless(text)
        scan, lines = text[:PASTE_SCAN_CHARS], _lines(text)
    first = _first_line(scan)
    if first[:1] == ">" or "\n>" in scan:
        lines = _unquote(_lines(text))
    if "```" in scan or first[:1] in ("`", "*"):
        lines = _unmark(lines or _lines(text))
    if lines is not None:  # what the quote or the markup hid
        first = _first_filled(lines)
    if any(tag.match(first) for tag in _TAG_RES) and match_header(first) is None:  # not a log prefix's time
        lines = _untag(lines or _lines(text))
        first = _first_filled(lines)
    if first[:1].isspace():
        lines = _dedent(lines or _lines(text))
    if 2 * (scan.count("  \n") + scan.count("  \r\n")) >= scan.count("\n") > 0:
        lines = _unpad(lines or _lines(text))
    if _CURLY_THREAD in scan:
        lines = [_CURLY_THREAD_RE.sub(r'\1"\2"', line) for line in lines or _lines(text)]
    if "\\n" in scan and _ESCAPED_RE.search(scan) is not None:
        lines = [part for line in lines or _lines(text) for part in _unescape(line)]
    if _FLAT_GATE_RE.search(scan) is not None:
        lines = [part for line in lines or _lines(text) for part in _unflatten(line)]
    if _AT_LESS_GATE_RE.search(scan) is not None:
        lines = [_with_at(line) for line in lines or _lines(text)]
    if "\n\n" in scan and len(list(islice(_DOUBLED_RE.finditer(scan), 2))) == 2:
        lines = _undouble(lines or _lines(text))
    if lines is None and _EXC_START_RE.match(first) is not None and " \n" in scan:
        lines = _lines(text)
    if lines is None:
        return text
    return "\n".join(_join_wrapped(lines))


def _lines(text: str) -> list[str]:
    """The lines of a paste, a Windows line end's carriage return dropped (the assembler drops it too)."""
    return [line.rstrip("\r") for line in text.split("\n")]


def _first_line(text: str) -> str:
    """The first line that is not empty (without copying a long text)."""
    start = 0
    while True:
        end = text.find("\n", start)
        line = text[start:end if end >= 0 else len(text)].rstrip("\r")
        if line.strip() or end < 0:
            return line
        start = end + 1


def _first_filled(lines: list[str]) -> str:
    return next((line for line in lines if line.strip()), "")


def _unquote(lines: list[str]) -> list[str]:
    """Quote markers off every quoted line, when the paste starts with a quote or is mostly quoted."""
    quoted = [bool(_QUOTE_RE.match(line)) and line.startswith(">") for line in lines]
    first = next((q for q, line in zip(quoted, lines) if line.strip()), False)
    if not first and 2 * sum(quoted) < sum(1 for line in lines if line.strip()):
        return lines
    return [_QUOTE_RE.sub("", line, count=1) if q else line for q, line in zip(quoted, lines)]


def _unmark(lines: list[str]) -> list[str]:
    """Code fences blanked; backticks, bold or an underscore around an exception line taken off."""
    out = []
    for line in lines:
        if _FENCE_RE.fullmatch(line):
            out.append("")
            continue
        if line.startswith("```"):  # a fence with the text on its own line: ```org.x.Y: m```
            line = line[3:].rstrip()
            line = line[:-3] if line.endswith("```") else line
        m = _MARKUP_RE.fullmatch(line)
        if m is not None and (_EXC_START_RE.match(m["body"]) or match_header(m["body"]) is not None):
            line = m["body"].rstrip("`*")
        out.append(line)
    return out


def _untag(lines: list[str]) -> list[str]:
    """A tool's tag off every line, when every non-blank line carries the same kind of tag."""
    filled = [line for line in lines if line.strip()]
    if not filled:
        return lines
    for tag in _TAG_RES:
        if tag.match(filled[0]) and all(tag.match(line) for line in filled):
            return [tag.sub("", line, count=1) for line in lines]
    return lines


def _dedent(lines: list[str]) -> list[str]:
    """The indentation every line shares taken off, when an exception line or a log line sits at that depth
    (frames alone keep theirs: without it they would read as messages; other text is left as it was). Else
    the first line's own, when without it that line is an exception line or a log line: nothing before it
    in the paste for it to continue (a copy from a page often starts with a blank), and indented it reads
    as a continuation line, its class unread."""
    filled = [line for line in lines if line.strip()]
    indent = min((len(line) - len(line.lstrip()) for line in filled), default=0)
    prefix = filled[0][:indent] if filled else ""
    if indent and all(line.startswith(prefix) for line in filled):  # not tabs and spaces mixed: one indentation
        shallow = (line[indent:] for line in filled if not line[indent:indent + 1].isspace())
        if any(_EXC_START_RE.match(line) or match_header(line) is not None for line in shallow):
            return [line[indent:] for line in lines]
    first = next((n for n, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return lines
    head = lines[first].lstrip()
    if _EXC_START_RE.match(head) is None and match_header(head) is None:
        return lines
    return lines[:first] + [head] + lines[first + 1:]


def _unpad(lines: list[str]) -> list[str]:
    """The spaces at the end of every line taken off, when at least half the lines with text end in two or more:
    a markdown line break or a terminal's padding, not the space of a message the paste wrapped."""
    filled = [line for line in lines if line.strip()]
    if not filled or 2 * sum(line.endswith("  ") for line in filled) < len(filled):
        return lines
    return [line.rstrip() for line in lines]


def _unescape(line: str) -> list[str]:
    """A line holding a trace as a JSON or ``repr`` string, as the lines the string holds (a Spark 4
    JSON log line is left to ``logtext.events``, which reads it as JSON)."""
    if "\\n" not in line or line.startswith(JSON_START) or _ESCAPED_RE.search(line) is None:
        return [line]
    return _ESCAPE_RE.sub(lambda m: _UNESCAPE[m.group(1)], line).split("\n")


def _unflatten(line: str) -> list[str]:
    """A trace flattened onto one line (two or more frames in it) as its lines, frames tab-indented."""
    if line.count(_FLAT_FRAME) < 1 or len(_FLAT_RE.findall(line)) < 2:
        return [line]
    parts = _FLAT_RE.split(line)
    return [parts[0]] + ["\t" + p if p.startswith(("at ", "...")) else p for p in parts[1:]]


def _with_at(line: str) -> str:
    """A frame copied without its ``at``, given it back tab-indented (as the JVM prints it); any other line as it was."""
    m = _AT_LESS_RE.fullmatch(line)
    return "\tat " + m["frame"] if m is not None else line


def _colourless(text: str) -> str:
    """``text`` without its colour codes; those whose escape was dropped only where resets are many (see
    ``_BARE_RESETS``)."""
    text = _SGR_RE.sub("", text)
    return _BARE_SGR_RE.sub("", text) if text.count("[0m") >= _BARE_RESETS else text


def _undouble(lines: list[str]) -> list[str]:
    """The blank lines of a double-spaced trace dropped where a frame, a cause or ``... N more`` follows them
    inside the trace: the JVM prints none there, and rules that read a line with the frames under it (who threw
    it, what wrapped it) would read past a blank line as past the end of the trace."""
    out: list[str] = []
    n = 0
    while n < len(lines):
        if not lines[n].strip() and out and out[-1].strip():
            after = n
            while after < len(lines) and not lines[after].strip():
                after += 1
            if after < len(lines) and _TRACE_GOES_ON_RE.match(lines[after]):
                n = after
                continue
        out.append(lines[n])
        n += 1
    return out


def _join_wrapped(lines: list[str]) -> list[str]:
    """An exception line that ends in a space, joined with the plain line after it: the paste wrapped the
    message there (no log line, frame or exception line begins that way)."""
    out: list[str] = []
    for line in lines:
        prev = out[-1] if out else ""
        if (prev.endswith(" ") and line.strip() and not line[:1].isspace() and _EXC_START_RE.match(prev)
                and not _EXC_START_RE.match(line) and match_header(line) is None
                and BARE_FRAME_RE.match(line) is None and not line.startswith(("Traceback", ": "))):
            out[-1] = prev + line
        else:
            out.append(line)
    return out
