"""The rule engine: which rules match a piece of log text.

Two backends give the same answers (a test runs both over the whole corpus):

- ``hyperscan``: one Hyperscan database of every pattern, scanned over raw
  bytes in a single pass. Used when the ``hyperscan`` package imports.
- ``re``: Python regexes gated by each pattern's required literal
  (``rules.literals``), so a regex only runs on text that could match.

Patterns are written in the subset Python ``re``, RE2 and Hyperscan all
accept; ``rules lint`` checks that. Matching is over an event's whole text;
patterns are single-line by convention (``.`` never crosses a newline in
either backend).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rules.literals import compile_pattern, digit_blind, required_literal, required_runs, split_flags
from rules.loader import Rule

try:  # pragma: no cover - exercised by whichever backend is installed
    import hyperscan
except ImportError:  # pragma: no cover
    hyperscan = None

BACKENDS = ("hyperscan", "re") if hyperscan is not None else ("re",)
#: What a scan that a match handler stopped raises (a release without ScanTerminated raises its base error).
_STOPPED = getattr(hyperscan, "ScanTerminated", getattr(hyperscan, "error", Exception))


def _stop(*_: object) -> bool:
    """A Hyperscan match handler that ends the scan at its first match (``scan`` raises ScanTerminated)."""
    return True


@dataclass(frozen=True)
class _Compiled:
    rule_index: int
    pattern: str
    literal: str
    caseless: bool
    runs: tuple[str, ...]  # every literal a match must contain (``literal`` is the longest)


class RuleEngine:
    """Compiled rules; ``match(text, role)`` returns the rules that fire, by priority.

    ``literals`` (one ``(literal, caseless)`` per pattern, as :meth:`literals`
    gives), ``runs`` (:meth:`required_runs`' literals) and ``database`` (:meth:`serialized`)
    come from ``rules.cache`` when these rules were compiled before; given, nothing is
    derived or compiled again. Python regexes are compiled when first needed (``locate``, or every
    one at once for the ``re`` backend).
    """

    def __init__(self, rules: Sequence[Rule], version: str = "", backend: str | None = None, *,
                 literals: Sequence[tuple[str, bool]] | None = None, runs: Sequence[Sequence[str]] | None = None,
                 database: bytes | None = None) -> None:
        self.rules = list(rules)
        self.version = version
        self.backend = backend or BACKENDS[0]
        if self.backend not in BACKENDS:
            raise ValueError(f"backend {self.backend!r} is not available here ({', '.join(BACKENDS)})")
        patterns = [(i, p) for i, rule in enumerate(self.rules) for p in rule.patterns]
        if literals is None:
            literals = [(required_literal(p), split_flags(p)[1]) for _, p in patterns]
        if len(literals) != len(patterns):
            raise ValueError(f"{len(literals)} literals for {len(patterns)} patterns")
        if runs is None:
            runs = [required_runs(p) for _, p in patterns]
        if len(runs) != len(patterns):
            raise ValueError(f"{len(runs)} sets of required literals for {len(patterns)} patterns")
        self._compiled = [_Compiled(i, p, literal, caseless, tuple(own))
                          for (i, p), (literal, caseless), own in zip(patterns, literals, runs)]
        self.by_id = {rule.id: rule for rule in self.rules}
        self._gates = {item.pattern: (item.literal, item.caseless) for item in self._compiled}
        self._regexes: dict[str, object] = {}  # pattern -> re.Pattern[str]
        self._reads_digits: dict[str, bool] = {}  # rule id -> reads_digits
        self._db = None
        if self.backend == "hyperscan":
            self._db = self._load_hyperscan(database) if database is not None else self._build_hyperscan()
        else:
            for item in self._compiled:
                self._regex(item.pattern)

    def _regex(self, pattern: str) -> object:
        regex = self._regexes.get(pattern)
        if regex is None:
            regex = self._regexes[pattern] = compile_pattern(pattern)
        return regex

    def _build_hyperscan(self) -> object:
        db = hyperscan.Database()
        expressions, flags = [], []
        for item in self._compiled:
            body, caseless = split_flags(item.pattern)
            expressions.append(body.encode("utf-8"))
            flags.append(hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_UTF8
                         | (hyperscan.HS_FLAG_CASELESS if caseless else 0))
        if expressions:
            db.compile(expressions=expressions, ids=list(range(len(expressions))),
                       elements=len(expressions), flags=flags)
        return db

    def _load_hyperscan(self, database: bytes) -> object:
        if not self._compiled:
            return hyperscan.Database()
        db = hyperscan.loadb(database, hyperscan.HS_MODE_BLOCK)
        db.scratch = hyperscan.Scratch(db)  # a deserialized database has none
        return db

    def serialized(self) -> bytes | None:
        """The compiled Hyperscan database as bytes (``rules.cache``); None for the ``re`` backend or no rules."""
        return hyperscan.dumpb(self._db) if self._db is not None and self._compiled else None

    def _matching_indexes(self, text: str) -> set[int]:
        if self._db is not None:
            found: set[int] = set()

            def on_match(n: int, _from: int, _to: int, _flags: int, _ctx: object) -> None:
                found.add(self._compiled[n].rule_index)

            if self._compiled:
                self._db.scan(text.encode("utf-8", "replace"), match_event_handler=on_match)
            return found
        lowered: list[str] = []
        found = set()
        for item in self._compiled:
            if item.rule_index in found or not self._may_match(item.pattern, text, lowered):
                continue
            if self._regexes[item.pattern].search(text):  # type: ignore[attr-defined]
                found.add(item.rule_index)
        return found

    def literals(self) -> list[tuple[str, bool]]:
        """(required literal, caseless) of every pattern: text without one of
        them cannot match any rule."""
        return [(item.literal, item.caseless) for item in self._compiled]

    def required_runs(self) -> list[tuple[tuple[str, ...], bool]]:
        """(every required literal, caseless) of every pattern: text without any one of a pattern's
        cannot match it, which is what the candidate scan needs (``logtext.signals.Signals.for_rules``)."""
        return [(item.runs, item.caseless) for item in self._compiled]

    def fires(self, text: str) -> bool:
        """Whether any rule, of any scope, matches ``text`` (asked of most records of a log, which none
        matches: with Hyperscan the scan stops at the first match and builds nothing)."""
        if self._db is None:
            return bool(self._matching_indexes(text))
        if not self._compiled:
            return False
        try:
            self._db.scan(text.encode("utf-8", "replace"), match_event_handler=_stop)
        except _STOPPED:
            return True
        return False

    def match(self, text: str, role: str = "unknown") -> list[Rule]:
        """Rules whose patterns match ``text`` and whose scope admits ``role``,
        highest priority first (ties by id, so the order is stable).

        A scoped rule (driver, executor, resource_manager) needs that role: text
        of an unknown role only meets ``scope: any`` rules, which is what the
        generic fallbacks are for.
        """
        hits = [r for r in (self.rules[i] for i in self._matching_indexes(text)) if r.scope in ("any", role)]
        return sorted(hits, key=lambda r: (-r.priority, r.id))

    def _may_match(self, pattern: str, text: str, lowered: list[str]) -> bool:
        """False when ``text`` lacks the pattern's required literal (then it cannot match: the ``re``
        backend's gate); ``lowered`` holds the lower-cased text once a caseless literal needed it."""
        literal, caseless = self._gates[pattern]
        if not caseless:
            return literal in text
        if not lowered:
            lowered.append(text.lower())
        return literal in lowered[0]

    def reads_digits(self, rule: Rule) -> bool:
        """Whether a pattern of ``rule`` tells digits apart (``exit code 137``; ``rules.literals.digit_blind``):
        then texts that differ only in their digits may differ in whether and where it matches. Asked
        only of rules that matched something, and answered once each."""
        known = self._reads_digits.get(rule.id)
        if known is None:
            known = self._reads_digits[rule.id] = not all(digit_blind(p) for p in rule.patterns)
        return known

    def locate(self, rule: Rule, text: str) -> int:
        """Index of the line where ``rule``'s first match starts (-1 if none): where its
        evidence is, and so at which ``Caused by`` depth it matched. A pattern may span
        lines (an OOM followed by its frames); it counts where it starts. A pattern whose
        literal is absent is not searched (most of a rule's patterns, on most texts)."""
        lowered: list[str] = []
        starts = [m.start() for m in (self._regex(p).search(text) for p in rule.patterns  # type: ignore[attr-defined]
                                      if self._may_match(p, text, lowered)) if m is not None]
        return text.count("\n", 0, min(starts)) if starts else -1

    def matched_lines(self, rule: Rule, text: str) -> list[int]:
        """Indexes of the lines ``rule``'s patterns matched (each pattern's first match,
        every line it spans): what an excerpt must show for the rule to be checked."""
        found: set[int] = set()
        for pattern in rule.patterns:
            m = self._regex(pattern).search(text)  # type: ignore[attr-defined]
            if m is not None:
                first = text.count("\n", 0, m.start())
                found.update(range(first, first + text.count("\n", m.start(), max(m.end() - 1, m.start())) + 1))
        return sorted(found)
