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


_DIGITS = frozenset(range(ord("0"), ord("9") + 1))


def digit_blind(pattern: str) -> bool:
    """Whether ``pattern`` treats every ASCII digit alike: no digit written out, no class holding some
    digits but not all, no back-reference (``(\\d)\\1`` tells 11 from 12). Then a text matches exactly when
    it does with any of its digits changed, at the same places: ``exit code 137`` is not blind, ``\\d+ more``
    is. Texts identical but for their digits share what such patterns find (``logtext.shapes``)."""
    body, _ = split_flags(pattern)
    return _blind(P.parse(body))


def _blind(items: P.SubPattern | list) -> bool:
    for op, arg in items:
        if op in (C.LITERAL, C.NOT_LITERAL) and arg in _DIGITS:
            return False
        if op is C.IN and not _class_blind(arg):
            return False
        if op in (C.GROUPREF, C.GROUPREF_EXISTS):
            return False
        if op is C.SUBPATTERN or op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            if not _blind(arg[-1]):
                return False
        elif op is C.BRANCH:
            if not all(_blind(branch) for branch in arg[1]):
                return False
        elif op in (C.ASSERT, C.ASSERT_NOT):
            if not _blind(arg[1]):
                return False
        elif op is C.ATOMIC_GROUP and not _blind(arg):
            return False
    return True


def _class_blind(items: list) -> bool:
    """A character class holds all digits or none (``[0-9a-f]``, ``\\w``, ``[^\\s]``; not ``[1-9]``)."""
    held: set[int] = set()
    for op, arg in items:
        if op is C.LITERAL:
            held.add(arg)
        elif op is C.RANGE:
            held.update(range(arg[0], arg[1] + 1))
        elif op is C.CATEGORY and arg in (C.CATEGORY_DIGIT, C.CATEGORY_WORD, C.CATEGORY_NOT_SPACE):
            held.update(_DIGITS)
    digits = held & _DIGITS
    return not digits or digits == _DIGITS
