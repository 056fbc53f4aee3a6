"""The pack loader: what a rule reads back as, and every problem with its exact file, line and rule.

Each test parses its own small pack inside the test (never at import), so a
mutation test of ``rules/loader.py`` runs the changed code, and each run stays fast.
"""

from __future__ import annotations

from pathlib import Path

from rules.loader import PackSet, Problem, Rule, builtin_pack_files, directory_pack_files, load_packs, parse_pack

FULL = '''\
# a comment first, so the pack's mapping starts on line 2
pack: site
version: 3
rules:
  - id: full
    category: executor_oom
    scope: executor
    priority: 0
    status: deprecated
    patterns: ['GC overhead limit exceeded', '(?i)java heap space']
    explain: |
      The executor's heap filled.
    remediation: "  Raise spark.executor.memory.  "
    examples:
      match: ["java.lang.OutOfMemoryError: GC overhead limit exceeded"]
      no_match: ["GC ok", "heap fine"]
  - id: defaults
    category: disk_full
    patterns: No space left on device
    explain: e
    remediation: r
    examples: {match: "No space left on device", no_match: "space left"}
'''


def _line(text: str, needle: str) -> int:
    """1-based line of the first line of ``text`` containing ``needle``."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_rule_reads_back_whole_and_unset_fields_take_their_defaults() -> None:
    name, version, rules, problems = parse_pack(FULL, "site/ours.yaml")
    assert (name, version, problems) == ("site", "3", [])
    assert rules == [
        Rule(id="full", category="executor_oom", patterns=("GC overhead limit exceeded", "(?i)java heap space"),
             explain="The executor's heap filled.", remediation="Raise spark.executor.memory.",
             scope="executor", priority=0, status="deprecated",
             match=("java.lang.OutOfMemoryError: GC overhead limit exceeded",), no_match=("GC ok", "heap fine"),
             file="site/ours.yaml", line=_line(FULL, "id: full"), pack="site"),
        Rule(id="defaults", category="disk_full", patterns=("No space left on device",), explain="e", remediation="r",
             scope="any", priority=50, status="stable", match=("No space left on device",), no_match=("space left",),
             file="site/ours.yaml", line=_line(FULL, "id: defaults"), pack="site"),
    ]
    assert not rules[0].decides and rules[1].decides


def test_a_pack_without_a_name_is_named_after_its_file() -> None:
    text = FULL.replace("pack: site\n", "").replace("version: 3\n", "")
    name, version, rules, problems = parse_pack(text, "packs/team-a.yaml")
    assert (name, version) == ("team-a", "")
    assert problems == [Problem("packs/team-a.yaml", 2, "pack has no `version`")]
    assert {r.pack for r in rules} == {"team-a"}


BROKEN = '''\
pack: broken
version: "1"
rules:
  - just a line of text
  - id: missing-most
    category: disk_full
  - id: patterns-a-mapping
    category: disk_full
    patterns: {a: b}
    explain: e
    remediation: r
    examples: {match: [x], no_match: [y]}
  - id: patterns-not-strings
    category: disk_full
    patterns: ['ok pattern', 7]
    explain: e
    remediation: r
    examples: {match: [x], no_match: [y]}
  - id: no-match-examples
    category: disk_full
    patterns: ['No space left']
    explain: e
    remediation: r
    examples: {no_match: [y]}
  - id: examples-not-a-mapping
    category: disk_full
    patterns: ['No space left']
    explain: e
    remediation: r
    examples: some text
  - id: bad-scope-status
    category: disk_full
    scope: cluster
    status: retired
    patterns: ['No space left']
    explain: e
    remediation: r
    examples: {match: [x], no_match: 5}
  - id: priority-too-high
    category: disk_full
    priority: 101
    patterns: ['No space left']
    explain: e
    remediation: r
    examples: {match: [x], no_match: [y]}
  - id: priority-negative
    category: disk_full
    priority: -1
    patterns: ['No space left']
    explain: e
    remediation: r
    examples: {match: [x], no_match: [y]}
  - id: priority-a-word
    category: disk_full
    priority: high
    patterns: ['No space left']
    explain: e
    remediation: r
    examples: {match: [x], no_match: [y]}
  - id: priority-100
    category: disk_full
    priority: 100
    patterns: ['No space left']
    explain: e
    remediation: r
    examples: {match: [x], no_match: [y]}
'''


def test_every_problem_is_reported_exactly_and_the_rest_still_loads() -> None:
    f = "b.yaml"

    def at(rule_id: str) -> int:
        return _line(BROKEN, f"id: {rule_id}")

    name, version, rules, problems = parse_pack(BROKEN, f)
    assert (name, version) == ("broken", "1")
    assert problems == [
        Problem(f, 1, "a rule must be a mapping"),
        Problem(f, at("missing-most"), "missing patterns, explain, remediation, examples", "missing-most"),
        Problem(f, at("patterns-a-mapping"), "patterns must be a string or a list of strings", "patterns-a-mapping"),
        Problem(f, at("patterns-not-strings"), "patterns must be a string or a list of strings",
                "patterns-not-strings"),
        Problem(f, at("no-match-examples"), "needs at least one examples.match line", "no-match-examples"),
        Problem(f, at("examples-not-a-mapping"), "needs at least one examples.match line", "examples-not-a-mapping"),
        Problem(f, at("examples-not-a-mapping"), "needs at least one examples.no_match line",
                "examples-not-a-mapping"),
        Problem(f, at("bad-scope-status"), "needs at least one examples.no_match line", "bad-scope-status"),
        Problem(f, at("bad-scope-status"), "scope 'cluster' is not one of driver, executor, resource_manager, any",
                "bad-scope-status"),
        Problem(f, at("bad-scope-status"), "status 'retired' is not one of stable, experimental, deprecated",
                "bad-scope-status"),
        Problem(f, at("priority-too-high"), "priority 101 must be an integer 0-100", "priority-too-high"),
        Problem(f, at("priority-negative"), "priority -1 must be an integer 0-100", "priority-negative"),
        Problem(f, at("priority-a-word"), "priority 'high' must be an integer 0-100", "priority-a-word"),
    ]
    # a rule with a problem of its examples, scope, status or priority still loads (lint reports it),
    # one without patterns cannot; a bad priority reads as the default
    loaded = {r.id: r for r in rules}
    assert list(loaded) == ["no-match-examples", "examples-not-a-mapping", "bad-scope-status",
                            "priority-too-high", "priority-negative", "priority-a-word", "priority-100"]
    assert [loaded[r].priority for r in ("priority-too-high", "priority-negative", "priority-a-word")] == [50] * 3
    assert loaded["priority-100"].priority == 100
    assert loaded["no-match-examples"].match == () and loaded["bad-scope-status"].no_match == ()
    assert loaded["bad-scope-status"].match == ("x",)


def test_yaml_errors_and_other_shapes_are_one_problem_at_their_line() -> None:
    text = "pack: x\nversion: 1\nrules: [\n  {id: a,\n"
    assert parse_pack(text, "y.yaml")[:3] == ("", "", [])
    (problem,) = parse_pack(text, "y.yaml")[3]
    assert (problem.file, problem.line, problem.rule_id) == ("y.yaml", 5, None)
    assert problem.message.startswith("YAML error: ") and "flow" in problem.message
    # a character YAML refuses has no line mark: the problem is at line 0
    (problem,) = parse_pack("pack: x\x07\n", "z.yaml")[3]
    assert (problem.file, problem.line) == ("z.yaml", 0) and problem.message.startswith("YAML error: ")
    shape = "a pack is a mapping with `pack`, `version` and a `rules` list"
    for text in ("- id: a\n", "pack: x\nversion: 1\n", "pack: x\nrules: {id: a}\n", ""):
        assert parse_pack(text, "w.yaml") == ("", "", [], [Problem("w.yaml", 1, shape)]), text


def test_problems_print_as_file_line_rule_message() -> None:
    assert str(Problem("a.yaml", 7, "bad", "r1")) == "a.yaml:7: r1: bad"
    assert str(Problem("a.yaml", 0, "bad")) == "a.yaml:0: bad"


def _write(directory: Path, name: str, pack: str, version: str, *rule_ids: str, pattern: str = "No space left") -> None:
    rules = "".join(
        f"  - id: {rid}\n    category: disk_full\n    patterns: ['{pattern}']\n    explain: e\n    remediation: r\n"
        f"    examples: {{match: [x], no_match: [y]}}\n"
        for rid in rule_ids
    )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(f"pack: {pack}\nversion: \"{version}\"\nrules:\n{rules}")


def test_a_later_pack_overrides_an_earlier_ones_rule_and_a_pack_may_not_repeat_an_id(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", "base", "1", "shared", "only-base", pattern="base pattern")
    _write(tmp_path, "b.yml", "site", "2", "shared", pattern="site pattern")
    _write(tmp_path, "c.yaml", "site", "2", "twice", "twice")
    (tmp_path / "notes.txt").write_text("not a pack")
    packs = load_packs(tmp_path, builtin=False)
    assert packs.version == "base@1+site@2"
    by_id = {r.id: r for r in packs.rules}
    assert list(by_id) == ["shared", "only-base", "twice"]
    assert (by_id["shared"].pack, by_id["shared"].patterns) == ("site", ("site pattern",))
    assert by_id["twice"].line == 4  # the first of the two
    assert packs.problems == [
        Problem(str(tmp_path / "c.yaml"), 10, f"duplicate id (first at {tmp_path / 'c.yaml'}:4)", "twice"),
    ]


def test_a_user_path_may_be_a_directory_or_one_file(tmp_path: Path) -> None:
    _write(tmp_path, "z.yaml", "z", "1", "z-rule")
    _write(tmp_path, "a.yml", "a", "1", "a-rule")
    _write(tmp_path, "m.yaml", "m", "1", "m-rule")
    (tmp_path / "UPPER.YAML").write_text("not read")
    # .yaml files first, then .yml, each sorted by name
    assert [Path(n).name for n, _ in directory_pack_files(tmp_path)] == ["m.yaml", "z.yaml", "a.yml"]
    ((name, text),) = directory_pack_files(tmp_path / "a.yml")
    assert name == str(tmp_path / "a.yml") and "a-rule" in text
    assert [r.id for r in load_packs(tmp_path / "a.yml", builtin=False).rules] == ["a-rule"]


def test_a_missing_user_directory_is_a_problem_not_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    packs = load_packs(missing, builtin=False)
    assert packs == PackSet(rules=[], versions={}, problems=[Problem(str(missing), 0, "rule pack directory does not exist")])


def test_built_in_packs_are_every_yaml_file_of_the_package_in_name_order(tmp_path: Path) -> None:
    shipped = sorted(p.name for p in (Path(__file__).parent.parent / "rules" / "packs").glob("*.yaml"))
    files = builtin_pack_files()
    assert [name for name, _ in files] == [f"rules/packs/{n}" for n in shipped] and len(shipped) > 3
    assert all(text.lstrip().startswith(("pack:", "#")) for _, text in files)
    # by default the built-in packs load, and a user pack adds to them
    _write(tmp_path, "site.yaml", "site", "9", "site-only")
    packs = load_packs(tmp_path)
    assert "site@9" in packs.version and packs.version != "site@9"
    ids = [r.id for r in packs.rules]
    assert "site-only" == ids[-1] and len(ids) > 50
