"""Required literal text of a regex, derived from its syntax tree.

Why: a line can only match a pattern if it contains the pattern's required
literal, so a cheap substring test gates the regex (the pure-Python backend
never runs a regex on a line without it), and ``rules lint`` can refuse
rules whose literal is common in normal logs (they would be slow and noisy).
"""

from __future__ import annotations

import re
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as P  # type: ignore[attr-defined]

CASELESS_PREFIX = "(?i)"


def split_flags(pattern: str) -> tuple[str, bool]:
    """``(?i)body`` -> (body, True). ``(?i)`` is the only flag packs may use."""
    if pattern.startswith(CASELESS_PREFIX):
        return pattern[len(CASELESS_PREFIX):], True
    return pattern, False


def _runs(items: P.SubPattern) -> list[str]:
    """Literal runs that every match must contain, in order."""
    runs: list[str] = []
    current: list[str] = []

    def cut() -> None:
        if current:
            runs.append("".join(current))
            current.clear()

    for op, arg in items:
        if op is C.LITERAL:
            current.append(chr(arg))
        elif op is C.SUBPATTERN:
            inner = arg[-1]
            if all(o is C.LITERAL for o, _ in inner):  # a group of plain literals continues the run
                current.extend(chr(a) for _, a in inner)
                continue
            cut()
            runs.extend(_runs(inner))
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT) and arg[0] >= 1:
            cut()
            runs.extend(_runs(arg[2]))
            cut()
        elif op is C.AT:
            continue
        else:
            cut()
    cut()
    return runs


def required_literal(pattern: str) -> str:
    """The longest literal every match of ``pattern`` must contain ("" if none).

    Lower-cased when the pattern is case-insensitive, so callers test it
    against lower-cased text.
    """
    body, caseless = split_flags(pattern)
    runs = _runs(P.parse(body))
    best = max(runs, key=len, default="")
    return best.lower() if caseless else best


def required_runs(pattern: str) -> tuple[str, ...]:
    """Every literal every match of ``pattern`` must contain (lower-cased when it is case-insensitive).

    Any one of them gates the pattern. The longest (``required_literal``) is the usual gate, but it may be
    the common one: ``org.apache.hadoop.mapred`` of ``...mapred(?:uce...)?\.InvalidInputException`` is in
    every line a MapReduce logger writes, where ``.InvalidInputException`` is in almost none."""
    body, caseless = split_flags(pattern)
    return tuple(run.lower() if caseless else run for run in _runs(P.parse(body)))


def compile_pattern(pattern: str) -> re.Pattern[str]:
    body, caseless = split_flags(pattern)
    return re.compile(body, re.IGNORECASE if caseless else 0)
