"""What makes a log record worth an event: the signal words, and a classifier's additions.

A record at WARN or worse is an event; below that, one that names an
exception, a traceback, a kill or a memory limit (``SIGNALS``), or one a
classifier's rule matches (:class:`Signals`). The same words, with a rule's
required literals, are the candidates ``logtext.events`` searches a whole log
for before assembling anything, with Hyperscan where it is installed.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from logtext.assembly import TRACEBACK
from sparktriage.files import write_atomically

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
    #: where the compiled Hyperscan database is kept between starts (the rule cache's folder), or None
    cache_dir: Path | None = field(default=None, compare=False)

    @classmethod
    def for_rules(cls, patterns: Iterable[tuple[Sequence[str], bool]], matches: Callable[[str], bool],
                  cache_dir: Path | None = None) -> Signals:
        """``patterns``: each pattern's required literals and whether it is caseless (``RuleEngine.required_runs``)."""
        words: dict[str, None] = {}
        caseless: dict[str, None] = {}
        for runs, is_caseless in patterns:
            seen = [run.lower() if is_caseless else run for run in runs if run]
            if not seen or any((w.lower() if is_caseless else w) in run for run in seen for w in _ALWAYS):
                continue  # no gate to add, or its records are candidates already
            (caseless if is_caseless else words)[max(seen, key=len)] = None
        return cls(tuple(words), tuple(caseless), matches, cache_dir)

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
        """The candidate literals compiled for Hyperscan (about 8x faster than ``re`` here), or None where the
        optional package is not installed.

        Each literal is followed by the rest of its line, all under one id: Hyperscan reports a pattern's match
        once per end offset, so a candidate line is reported once, at its newline (or its last character at
        the end of the text), however many words it holds: on the noisy bench's log 198 k reports instead of
        304 k, and 50 ms less of ``extract_runs``. Such a database takes about a second to compile, so it is
        kept in ``cache_dir`` under a key of its expressions and Hyperscan's version."""
        try:
            import hyperscan
        except ImportError:
            return None
        words = _ALWAYS + self.words
        pats = [re.escape(w).encode() + _REST_OF_LINE for w in words + self.caseless]
        flags = [0] * len(words) + [hyperscan.HS_FLAG_CASELESS] * len(self.caseless)
        digest = hashlib.sha256(repr((getattr(hyperscan, "__version__", "?"), pats, flags)).encode()).hexdigest()
        path = self.cache_dir / f"{digest[:32]}{SIGNALS_SUFFIX}" if self.cache_dir is not None else None
        if path is not None and path.is_file():
            try:
                db = hyperscan.loadb(path.read_bytes(), hyperscan.HS_MODE_BLOCK)
                db.scratch = hyperscan.Scratch(db)  # a deserialized database has none
                return db
            except (OSError, hyperscan.error):  # damaged or unreadable: compiled again below
                pass
        db = hyperscan.Database()
        db.compile(expressions=pats, ids=[0] * len(pats), elements=len(pats), flags=flags)
        if path is not None:
            # a folder that cannot be written is no failure: the database is compiled again at the next start
            with contextlib.suppress(OSError):
                path.parent.mkdir(parents=True, exist_ok=True)
                write_atomically(path, hyperscan.dumpb(db))
        return db


#: what follows each candidate literal in the Hyperscan database: the rest of its line (``Signals.hyperscan_db``)
_REST_OF_LINE = rb"[^\n]*(?:\n|\z)"
#: the suffix of a kept candidate database in the rule cache's folder (``rules.cache.prune`` keeps a few)
SIGNALS_SUFFIX = ".signals"


DEFAULT_SIGNALS = Signals()
