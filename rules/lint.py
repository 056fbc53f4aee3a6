"""``sparktriage rules lint``: every problem of the rule packs at once, with file and line.

Checks, in the spirit of pySigma's validators: the pack structure (via the
loader), taxonomy categories, patterns in every dialect we run (Python
``re``, Hyperscan when installed, RE2 when installed), each rule's own
examples, examples claimed by a higher-priority rule of another category,
and the required literal of each pattern (too short, or too common in
normal log lines, makes a rule slow and noisy).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from rules.engine import BACKENDS, RuleEngine
from rules.literals import compile_pattern, required_literal, split_flags
from rules.loader import PackSet, Problem, Rule, load_packs
from sparktriage.taxonomy import UNKNOWN, is_known, top_level

MIN_LITERAL = 4
#: A literal found in more than this share of normal lines is too common.
MAX_LITERAL_SHARE = 0.001
#: Constructs outside the subset re, RE2 and Hyperscan all accept.
_UNPORTABLE = re.compile(r"\(\?[=!<]|\(\?>|\\[1-9]|[*+?}]\+|\(\?\(|(?<!^)\(\?[a-z]")

try:  # optional dialect checkers
    import re2  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover
    re2 = None


def _pattern_problems(rule: Rule) -> list[str]:
    problems = []
    for pattern in rule.patterns:
        if "\n" in pattern:
            problems.append(f"pattern {pattern!r} spans lines; patterns match one line")
        if _UNPORTABLE.search(pattern):
            problems.append(f"pattern {pattern!r} uses a construct outside the re/RE2/Hyperscan subset")
            continue
        try:
            compile_pattern(pattern)
        except re.error as exc:
            problems.append(f"pattern {pattern!r} does not compile: {exc}")
            continue
        if re2 is not None:
            body, caseless = split_flags(pattern)
            try:
                re2.compile(("(?i)" if caseless else "") + body)
            except Exception as exc:  # noqa: BLE001 - re2 raises its own error type
                problems.append(f"pattern {pattern!r} is not valid RE2: {exc}")
        if "hyperscan" in BACKENDS:
            try:
                RuleEngine([Rule(rule.id, rule.category, (pattern,), "", "")], backend="hyperscan")
            except Exception as exc:  # noqa: BLE001 - hyperscan.error
                problems.append(f"pattern {pattern!r} is not valid for Hyperscan: {exc}")
        literal = required_literal(pattern)
        if len(literal.strip()) < MIN_LITERAL:
            problems.append(f"pattern {pattern!r} has no required literal of {MIN_LITERAL}+ characters ({literal!r})")
    return problems


def _literal_share(literal: str, caseless: bool, normal: Sequence[str]) -> float:
    if not normal:
        return 0.0
    hits = sum(1 for line in normal if literal in (line.lower() if caseless else line))
    return hits / len(normal)


def lint_packs(packs: PackSet, normal_lines: Sequence[str] = ()) -> list[Problem]:
    """Every problem of ``packs``; an empty list means the packs are fit to load."""
    problems = list(packs.problems)
    broken: set[str] = set()
    for rule in packs.rules:
        def add(message: str, rule: Rule = rule) -> None:
            problems.append(Problem(rule.file, rule.line, message, rule.id))

        if not is_known(rule.category) or top_level(rule.category) == UNKNOWN:
            add(f"category {rule.category!r} is not a taxonomy id")
        found = _pattern_problems(rule)
        for message in found:
            add(message)
        if found:
            broken.add(rule.id)
            continue
        for pattern in rule.patterns:
            literal = required_literal(pattern)
            share = _literal_share(literal, split_flags(pattern)[1], normal_lines)
            if share > MAX_LITERAL_SHARE:
                add(f"required literal {literal!r} of {pattern!r} is in {share:.2%} of normal lines")
    usable = [r for r in packs.rules if r.id not in broken]
    if not usable:
        return problems
    engine = RuleEngine(usable, packs.version, backend="re")
    for rule in usable:
        own = RuleEngine([rule], backend="re")
        role = "unknown" if rule.scope == "any" else rule.scope  # examples are lines of that role's log
        for example in rule.match:
            if not own.match(example, role):
                problems.append(Problem(rule.file, rule.line, f"match example does not match: {example[:100]!r}", rule.id))
                continue
            winners = engine.match(example, role)
            top = winners[0]
            if top.priority > rule.priority and top_level(top.category) != top_level(rule.category):
                problems.append(Problem(rule.file, rule.line,
                    f"match example {example[:80]!r} is claimed by higher-priority {top.id} ({top.category})", rule.id))
        for example in rule.no_match:
            if own.match(example, role):
                problems.append(Problem(rule.file, rule.line, f"no_match example matches: {example[:100]!r}", rule.id))
    return problems


def read_normal_lines(paths: Iterable[str | Path]) -> list[str]:
    lines: list[str] = []
    for path in paths:
        lines += Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    return lines


def lint(user_path: str | Path | None = None, normal: Iterable[str | Path] = ()) -> list[Problem]:
    """Lint the built-in packs plus ``user_path`` (a pack file or directory)."""
    return lint_packs(load_packs(user_path), read_normal_lines(normal))
