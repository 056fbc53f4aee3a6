"""Rule packs as data: load YAML packs into :class:`Rule` objects, keeping file and line.

The built-in packs ship as package data (``rules/packs/*.yaml``) and are read
from the package's own folder, never from the current directory. A user pack
directory extends them; a user rule with the id of a built-in one replaces it
(the override is reported by ``rules lint`` so it is never accidental).
Loading never raises on a bad rule: it returns every problem with its place,
because a linter that stops at the first error makes people run it ten times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml

SCOPES = ("driver", "executor", "resource_manager", "any")
STATUSES = ("stable", "experimental", "deprecated")
REQUIRED = ("id", "category", "patterns", "explain", "remediation", "examples")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a pack, at a place a person can open."""

    file: str
    line: int
    message: str
    rule_id: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}: {self.rule_id + ': ' if self.rule_id else ''}{self.message}"


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    patterns: tuple[str, ...]
    explain: str
    remediation: str
    scope: str = "any"
    priority: int = 50
    status: str = "stable"
    match: tuple[str, ...] = ()
    no_match: tuple[str, ...] = ()
    file: str = "<memory>"
    line: int = 0
    pack: str = "builtin"

    @property
    def decides(self) -> bool:
        """Deprecated rules still load (their hits are visible) but never decide."""
        return self.status != "deprecated"


@dataclass
class PackSet:
    """Every rule loaded, the version string recorded on diagnoses, and the problems found."""

    rules: list[Rule] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def version(self) -> str:
        """``builtin@2026.11.1+site@3``: what made a diagnosis, for relabel and audits."""
        return "+".join(f"{name}@{ver}" for name, ver in sorted(self.versions.items()))


@cache
def _line_loader() -> type[yaml.SafeLoader]:
    """A SafeLoader that records the line of every mapping under ``__line__``. PyYAML is imported here, when a
    pack is parsed: a start whose packs are in the rule cache (``rules.cache``) never parses one, and the
    import cost 10-20 ms of every ``classify``."""
    import yaml

    class LineLoader(yaml.SafeLoader):
        pass

    def construct_mapping(loader: LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
        mapping = loader.construct_mapping(node, deep=True)
        mapping["__line__"] = node.start_mark.line + 1
        return mapping

    LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return LineLoader


def _strings(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def parse_pack(text: str, file: str) -> tuple[str, str, list[Rule], list[Problem]]:
    """Parse one pack's YAML text into (name, version, rules, problems)."""
    import yaml

    problems: list[Problem] = []
    try:
        doc = yaml.load(text, Loader=_line_loader())  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return "", "", [], [Problem(file, (mark.line + 1) if mark else 0, f"YAML error: {exc}")]
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        return "", "", [], [Problem(file, 1, "a pack is a mapping with `pack`, `version` and a `rules` list")]
    name = str(doc.get("pack") or Path(file).stem)
    version = str(doc.get("version") or "")
    if not version:
        problems.append(Problem(file, doc["__line__"], "pack has no `version`"))
    rules = []
    for raw in doc["rules"]:
        if not isinstance(raw, dict):
            problems.append(Problem(file, doc["__line__"], "a rule must be a mapping"))
            continue
        line = raw.get("__line__", 0)
        rid = raw.get("id")
        missing = [k for k in REQUIRED if not raw.get(k)]
        if missing:
            problems.append(Problem(file, line, f"missing {', '.join(missing)}", rid))
            continue
        patterns = _strings(raw["patterns"])
        examples = raw["examples"] if isinstance(raw["examples"], dict) else {}
        match = _strings(examples.get("match") or [])
        no_match = _strings(examples.get("no_match") or [])
        if patterns is None:
            problems.append(Problem(file, line, "patterns must be a string or a list of strings", rid))
            continue
        if not match:
            problems.append(Problem(file, line, "needs at least one examples.match line", rid))
        if not no_match:
            problems.append(Problem(file, line, "needs at least one examples.no_match line", rid))
        scope = raw.get("scope", "any")
        status = raw.get("status", "stable")
        priority = raw.get("priority", 50)
        if scope not in SCOPES:
            problems.append(Problem(file, line, f"scope {scope!r} is not one of {', '.join(SCOPES)}", rid))
        if status not in STATUSES:
            problems.append(Problem(file, line, f"status {status!r} is not one of {', '.join(STATUSES)}", rid))
        if not isinstance(priority, int) or not 0 <= priority <= 100:
            problems.append(Problem(file, line, f"priority {priority!r} must be an integer 0-100", rid))
            priority = 50
        rules.append(Rule(
            id=str(rid), category=str(raw["category"]), patterns=patterns,
            explain=str(raw["explain"]).strip(), remediation=str(raw["remediation"]).strip(),
            scope=scope, priority=priority, status=status, match=match or (), no_match=no_match or (),
            file=file, line=line, pack=name,
        ))
    return name, version, rules, problems


def builtin_pack_files() -> list[tuple[str, str]]:
    """(display name, text) of every built-in pack, from package data."""
    root = Path(__file__).with_name("packs")  # not importlib.resources: importing it cost 10 ms of every start
    return [
        (f"rules/packs/{entry.name}", entry.read_text(encoding="utf-8"))
        for entry in sorted(root.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".yaml") and not entry.name.startswith("negative")
    ]


def directory_pack_files(directory: str | Path) -> list[tuple[str, str]]:
    path = Path(directory)
    files = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else [path]
    return [(str(p), p.read_text(encoding="utf-8")) for p in files]


def load_packs(user_dir: str | Path | None = None, *, builtin: bool = True) -> PackSet:
    """Built-in packs plus a user directory (or file), user rules overriding by id."""
    packs = PackSet()
    sources = builtin_pack_files() if builtin else []
    if user_dir:
        if not Path(user_dir).exists():
            packs.problems.append(Problem(str(user_dir), 0, "rule pack directory does not exist"))
        else:
            sources += directory_pack_files(user_dir)
    by_id: dict[str, Rule] = {}
    for file, text in sources:
        name, version, rules, problems = parse_pack(text, file)
        packs.problems.extend(problems)
        if name:
            packs.versions[name] = version
        for rule in rules:
            earlier = by_id.get(rule.id)
            if earlier is not None and earlier.pack == rule.pack:
                packs.problems.append(Problem(file, rule.line, f"duplicate id (first at {earlier.file}:{earlier.line})", rule.id))
                continue
            by_id[rule.id] = rule  # a later pack overrides an earlier one's rule
    packs.rules = list(by_id.values())
    return packs
