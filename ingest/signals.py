"""What makes a log record worth an event: the signal words, and a classifier's additions.

A record at WARN or worse is an event; below that, one that names an
exception, a traceback, a kill or a memory limit (``SIGNALS``), or one a
classifier's rule matches (:class:`Signals`). The same words, with a rule's
required literals, are the candidates ``ingest.events`` searches a whole log
for before assembling anything, with Hyperscan where it is installed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ingest.assembly import TRACEBACK

# Words that make a record worth classifying even at INFO level. Plain
# literals only: a match in a kept (possibly truncated) line is then always a
# match in the raw text, which the fast path relies on.
SIGNALS = (
    "Exception",
    "Error",
    "Throwable",
    TRACEBACK,
    "Container killed",
    "Exit status",
    "Killed by external signal",
    "exceeding memory limits",
    "memory limit",
    "non-zero exit code",
    "SIGKILL",
    "SIGTERM",
)
_ALERT_WORDS = ("WARN", "ERROR", "FATAL", "SEVERE", "CRITICAL")


_ALWAYS = SIGNALS + _ALERT_WORDS
INTERESTING_RE = re.compile("|".join(re.escape(w) for w in SIGNALS))


def _trie_pattern(words: Iterable[str]) -> str:
    """An alternation of literals factored by common prefixes: Python's ``re``
    tries alternatives one by one, so hundreds of flat literals are ~10x slower."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        group = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:  # a word ends here; longer ones go on
            return f"(?:{group})?"
        return group

    return build(trie)


@dataclass(frozen=True)
class Signals:
    """What makes a record worth an event beyond its level and the words above.

    A classifier adds its rules (``for_rules``): a record that a rule matches
    is an event even when it carries no error word (a scheduler's
    ``FailedScheduling`` at INFO, a YARN diagnostics line). For the fast path,
    each pattern adds a candidate word: none when one of its required literals
    holds a default word (its records are found anyway), else its longest
    required literal. That keeps the candidate set small: a package prefix
    such as ``org.apache.hadoop.mapred`` beside ``.InvalidInputException`` would
    make every line of a MapReduce log a candidate. Caseless literals come from
    ``(?i)`` patterns.
    """

    words: tuple[str, ...] = ()
    caseless: tuple[str, ...] = ()
    matches: Callable[[str], bool] | None = None  # does some rule match this text?

    @classmethod
    def for_rules(cls, patterns: Iterable[tuple[Sequence[str], bool]], matches: Callable[[str], bool]) -> Signals:
        """``patterns``: each pattern's required literals and whether it is caseless (``RuleEngine.required_runs``)."""
        words: dict[str, None] = {}
        caseless: dict[str, None] = {}
        for runs, is_caseless in patterns:
            seen = [run.lower() if is_caseless else run for run in runs if run]
            if not seen or any((w.lower() if is_caseless else w) in run for run in seen for w in _ALWAYS):
                continue  # no gate to add, or its records are candidates already
            (caseless if is_caseless else words)[max(seen, key=len)] = None
        return cls(tuple(words), tuple(caseless), matches)

    def interesting(self, text: str) -> bool:
        """Whether a record that is not WARN or worse is still an event."""
        if INTERESTING_RE.search(text) is not None:
            return True
        return self.matches is not None and self.matches(text)

    @cached_property
    def candidates(self) -> re.Pattern[str]:
        """The pure-Python candidate scan (where Hyperscan is missing or the text is not ASCII)."""
        out = _trie_pattern(_ALWAYS + self.words)
        if self.caseless:
            out += "|(?i:" + "|".join(re.escape(w) for w in self.caseless) + ")"
        return re.compile(out)

    @cached_property
    def hyperscan_db(self) -> Any:
        """The candidate literals compiled for Hyperscan (about 8x faster than
        ``re`` here), or None where the optional package is not installed."""
        try:
            import hyperscan
        except ImportError:
            return None
        words = _ALWAYS + self.words
        pats = [re.escape(w).encode() for w in words + self.caseless]
        flags = [0] * len(words) + [hyperscan.HS_FLAG_CASELESS] * len(self.caseless)
        db = hyperscan.Database()
        db.compile(expressions=pats, ids=list(range(len(pats))), elements=len(pats), flags=flags)
        return db


DEFAULT_SIGNALS = Signals()
