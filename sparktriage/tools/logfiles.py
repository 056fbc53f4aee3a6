"""The log files a command is given: named files, directories walked, stdin; read as text.

``classify`` and ``replay`` take one application's logs the same way. A
name that does not exist, a file that is empty, binary or a broken ``.gz`` is
a :class:`BadInput` naming it, found before any rule or model loads. Inside a
directory a binary file (an archive, a ``.crc``) is not a log: it is skipped
and reported, not read as text. ``x.log`` beside ``x.log.gz`` is one log, not
two: the plain one is read. With ``event_logs`` (``classify``), a Spark event
log (``sparktriage.tools.eventlogs``: a compressed file of Spark's codecs, a rolling
``eventlog_v2_*`` directory) comes as its list of decoded lines.
"""

from __future__ import annotations

import gzip
import sys
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from sparktriage.errors import BadInput
from sparktriage.tools.eventlogs import is_event_log, read_lines

STDIN = "-"
#: Bytes looked at to tell a text log from binary data (as git does: a NUL byte).
SNIFF = 8192
GZIP_MAGIC = b"\x1f\x8b"


def decode(raw: bytes, name: str) -> str:
    """A log's bytes (gzip-compressed or not) as text; BadInput if they are not a text log."""
    return plain(raw, name).decode("utf-8", errors="replace")


def plain(raw: bytes, name: str) -> bytes:
    """A log's bytes, gunzipped; BadInput if they are not a text log."""
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise BadInput("bad_gzip", f"{name} is not a readable gzip file ({exc})") from exc
    if b"\x00" in raw[:SNIFF]:
        raise BadInput("binary", f"{name} is not a text log (binary data); give a log file, plain or .gz")
    return raw


def read_log(path: Path) -> str:
    return decode(path.read_bytes(), str(path))


def _in_directory(root: Path) -> list[Path]:
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    present = set(files)
    return [p for p in files if not (p.suffix == ".gz" and p.with_suffix("") in present)]


def expand(paths: Iterable[str], skip: Iterable[str] = (), *, event_logs: bool = False) -> list[tuple[str, bool]]:
    """(name, named explicitly) of every log the arguments name, directories walked in order (a rolling
    event log is one); BadInput for a name that does not exist. Files named in ``skip`` are left out."""
    out: list[tuple[str, bool]] = []
    for arg in paths:
        path = Path(arg)
        if arg == STDIN:
            out.append((arg, True))
        elif path.is_dir() and not (event_logs and is_event_log(path)):
            out += [(str(p), False) for p in _in_directory(path) if p.name not in skip]
        elif path.exists():  # a file, or a pipe: `classify <(zcat app.log.gz)`
            out.append((arg, True))
        else:
            raise BadInput("missing", f"no such file or directory: {arg}")
    return out


class LogFiles:
    """The logs of the arguments, each read when iterated; binary files inside directories land
    in ``skipped``. ``expand`` runs at construction, so a missing name fails before anything loads."""

    def __init__(self, paths: Iterable[str], skip: Iterable[str] = (), *, event_logs: bool = False) -> None:
        self.names = expand(paths, skip, event_logs=event_logs)
        self.event_logs = event_logs
        self.skipped: list[str] = []
        self.blank = True  # no file held anything but white space
        #: the bytes of the text yielded last when it is ASCII (most logs): ``classify``'s candidate scan
        #: reads bytes, and a 100 MB log is not encoded again for it
        self.ascii: bytes | None = None

    def __iter__(self) -> Iterator[tuple[str, str | list[str]]]:
        for name, explicit in self.names:
            if self.event_logs and name != STDIN and is_event_log(Path(name)):
                lines = list(read_lines(Path(name)))
                self.ascii = None
                self.blank = self.blank and not any(line.strip() for line in lines)
                yield name, lines
                continue
            try:
                if name == STDIN:
                    data = plain(sys.stdin.buffer.read(), "stdin")
                else:
                    data = plain(Path(name).read_bytes(), name)
            except BadInput as exc:
                if explicit or exc.reason != "binary":
                    raise
                self.skipped.append(name)
                continue
            text = data.decode("utf-8", errors="replace")
            self.ascii = data if text.isascii() else None  # (a str knows whether it is ASCII: no scan)
            if text and not text.isspace():  # not ``text.strip()``: that copies a whole log to look at its ends
                self.blank = False
            yield ("<stdin>" if name == STDIN else name), text

    def nothing_to_read(self) -> BadInput:
        """The error for inputs that held no log line at all."""
        if len(self.names) != 1:  # several files, or a directory with none
            return BadInput("empty", "the logs given hold no log lines: nothing to diagnose")
        what = "stdin" if self.names[0][0] == STDIN else self.names[0][0]
        return BadInput("empty", f"{what} holds no log lines: nothing to diagnose")
