"""The lines of a record that hold one of a few words: one Hyperscan scan, whatever the record's length.

The worker reads every record for the lines that can tell how its application
ends (``ingest.endings``) and how it progresses (``ingest.stalls``); almost no
line does. A record of a hundred lines searched word by word with ``str.find``
(or with an alternation in ``re``, slower still) cost about 40 µs per word
group, more than assembling its lines; one Hyperscan scan of the record's
bytes for all the words of all the groups costs a few µs and hands back only
the lines that matter. Where Hyperscan is not installed, ``str.find`` per
word gives the same lines.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cached_property
from typing import Any


class LineGate:
    """Groups of literal words; :meth:`lines` finds, per group, the lines of a text holding one of its words."""

    def __init__(self, *groups: Sequence[str], use_hyperscan: bool = True) -> None:
        self.groups = tuple(tuple(words) for words in groups)
        self._group_of = [g for g, words in enumerate(self.groups) for _ in words]
        self._use_hyperscan = use_hyperscan

    @cached_property
    def _database(self) -> Any:
        """Every word compiled for Hyperscan (its id: its place in the groups), or None without the package."""
        if not self._use_hyperscan:
            return None
        try:
            import hyperscan
        except ImportError:
            return None
        words = [re.escape(word).encode() for group in self.groups for word in group]
        db = hyperscan.Database()
        db.compile(expressions=words, ids=list(range(len(words))), elements=len(words))
        return db

    def lines(self, text: str) -> list[list[str]]:
        """Per group, the lines of ``text`` (split on ``\\n``, kept as they are) that hold one of its words:
        once each, in order."""
        db = self._database
        if db is None:
            return [_found_lines(text, words) for words in self.groups]
        data = text.encode("ascii") if text.isascii() else text.encode("utf-8", "surrogatepass")
        ends: list[tuple[int, int]] = []
        db.scan(data, match_event_handler=_note_end, context=ends)
        if not ends:  # almost every record
            return [[] for _ in self.groups]
        starts: list[set[int]] = [set() for _ in self.groups]
        for pattern, end in ends:  # a word holds no newline: the line is the one around its end
            starts[self._group_of[pattern]].add(data.rfind(b"\n", 0, end) + 1)
        return [_lines_at(data, sorted(found)) for found in starts]


def _note_end(pattern: int, _from: int, to: int, _flags: int, ends: list[tuple[int, int]]) -> None:
    ends.append((pattern, to))


def _lines_at(data: bytes, starts: list[int]) -> list[str]:
    out = []
    for start in starts:
        end = data.find(b"\n", start)
        out.append(data[start:end if end >= 0 else len(data)].decode("utf-8", "surrogatepass"))
    return out


def _found_lines(text: str, words: Sequence[str]) -> list[str]:
    """The plain path: ``str.find`` per word (far faster than an alternation in ``re`` over a long text)."""
    starts = set()
    for word in words:
        at = text.find(word)
        while at >= 0:
            starts.add(text.rfind("\n", 0, at) + 1)
            at = text.find(word, at + 1)
    ends = (text.find("\n", start) for start in sorted(starts))
    return [text[start:end if end >= 0 else len(text)] for start, end in zip(sorted(starts), ends)]
