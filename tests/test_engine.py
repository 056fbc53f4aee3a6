"""The rule engine: both backends agree, scope and status are honoured, literals gate."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.engine import BACKENDS, RuleEngine
from rules.literals import compile_pattern, required_literal, required_runs, split_flags
from rules.loader import load_packs
from tests.loggen import generate_log
from tests.packs import write_pack
from tests.conftest import SHARED_DATA


@pytest.fixture()
def pack(tmp_path: Path):
    return load_packs(write_pack(tmp_path / "p"), builtin=False)


def test_pack_loads_with_version_and_lines(pack) -> None:
    assert not pack.problems
    assert pack.version == "testpack@7"
    lines = {r.id: r.line for r in pack.rules}
    assert lines["yarn-kill"] == 4 and lines["executor-lost"] > lines["yarn-kill"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_rules_fire_on_their_examples_only(pack, backend: str) -> None:
    engine = RuleEngine(pack.rules, pack.version, backend=backend)
    for rule in pack.rules:
        role = "unknown" if rule.scope == "any" else rule.scope
        for example in rule.match:
            assert rule in engine.match(example, role), (rule.id, example)
        for example in rule.no_match:
            assert rule not in engine.match(example, role), (rule.id, example)


def test_priority_orders_hits_on_the_same_text(pack) -> None:
    engine = RuleEngine(pack.rules)
    line = ("Lost task 3.0 in stage 2.0 (TID 14): ExecutorLostFailure (executor 2 exited caused by one of the "
            "running tasks) Reason: Container killed by YARN for exceeding physical memory limits.")
    assert [r.id for r in engine.match(line)] == ["yarn-kill", "executor-lost"]


def test_scope_limits_rules_to_a_role(pack) -> None:
    engine = RuleEngine(pack.rules)
    text = "java.lang.OutOfMemoryError: Java heap space"
    assert [r.id for r in engine.match(text, "driver")] == ["driver-oom"]
    assert engine.match(text, "executor") == []
    assert engine.match(text, "unknown") == []  # a scoped rule needs its role


def test_caseless_patterns(pack) -> None:
    engine = RuleEngine(pack.rules)
    assert [r.id for r in engine.match("ACCESSCONTROLEXCEPTION: PERMISSION DENIED")] == ["access-denied-hdfs"]


def test_required_literals() -> None:
    assert required_literal("Container killed by YARN for exceeding (?:physical )?memory limits") == \
        "Container killed by YARN for exceeding "
    assert required_literal("(?i)No Space left") == "no space left"
    assert required_literal(r"Failed to connect to [\w.-]+:7337") == "Failed to connect to "
    assert required_literal("(?:abc|xyz)def") == "def"
    assert required_runs(r"Failed to connect to [\w.-]+:7337") == ("Failed to connect to ", ":7337")
    assert required_runs(r"(?i)No Space(?: left)? on \S+ device") == ("no space", " on ", " device")


def _corpus() -> list[str]:
    texts = generate_log(5000, error_fraction=0.05, seed=3).split("\n")
    for name in ("Spark_2k.log", "Hadoop_2k.log", "HDFS_2k.log"):
        path = SHARED_DATA / "loghub" / name
        if path.exists():
            texts += path.read_text(errors="replace").splitlines()
    return texts


@pytest.mark.skipif(len(BACKENDS) < 2, reason="hyperscan is not installed: only the re backend exists")
def test_backends_agree_on_the_whole_corpus() -> None:
    from rules.loader import load_packs as load

    packs = load()
    rules = packs.rules
    hs, py = RuleEngine(rules, backend="hyperscan"), RuleEngine(rules, backend="re")
    texts = _corpus() + [ex for r in rules for ex in (*r.match, *r.no_match)]
    for text in texts:
        assert [r.id for r in hs.match(text)] == [r.id for r in py.match(text)], text


@pytest.mark.parametrize(("pattern", "literal"), [
    ("abc(?:def)ghi", "abcdefghi"),  # a group of literals continues the run
    ("(abc)def", "abcdef"),
    ("(ab\\d)cd", "ab"),  # a group with anything else cuts it
    ("a(b|c)longer", "longer"),
    ("(?:abcdef)+xy", "abcdef"),  # what is repeated at least once is required
    ("(?:abcdefg){2}x", "abcdefg"),
    ("(?:abcdef)*xy", "xy"),  # what may be absent is not
    ("(?:abcdef)?xy", "xy"),
    ("^ERROR: disk$", "ERROR: disk"),  # anchors do not cut a run
    ("\\bERROR\\b: disk", "ERROR: disk"),
    ("abc\\d+zz", "abc"),  # the longest run, not the greatest string
    ("abc\\d+xyz", "abc"),  # the first of equally long runs
    ("\\d+", ""),
    ("(?i)AbC\\d+x", "abc"),
    ("Failed to connect to [\\w.-]+:7337", "Failed to connect to "),
])
def test_required_literal_of_each_construct(pattern: str, literal: str) -> None:
    assert required_literal(pattern) == literal


def test_only_a_leading_caseless_flag_is_read() -> None:
    assert split_flags("(?i)Permission denied") == ("Permission denied", True)
    assert split_flags("Permission denied") == ("Permission denied", False)
    assert compile_pattern("(?i)permission denied").search("PERMISSION DENIED: x")
    assert not compile_pattern("permission denied").search("PERMISSION DENIED: x")
    assert compile_pattern("No space left \\d+").search("No space left 12").group() == "No space left 12"


RULES = '''\
pack: engine
version: "1"
rules:
  - id: two-patterns
    category: executor_oom
    priority: 10
    patterns: ['first thing', 'second thing']
    explain: e
    remediation: r
    examples: {match: ["first thing"], no_match: ["third thing"]}
  - id: caseless-first
    category: access_denied
    priority: 20
    patterns: ['(?i)Permission Denied']
    explain: e
    remediation: r
    examples: {match: ["permission denied"], no_match: ["permission granted"]}
  - id: accented
    category: disk_full
    priority: 20
    patterns: ['caf. au lait', 'Heap Space']
    explain: e
    remediation: r
    examples: {match: ["café au lait"], no_match: ["cafe"]}
  - id: beta
    category: network_error
    priority: 20
    patterns: ['shared words']
    explain: e
    remediation: r
    examples: {match: ["shared words"], no_match: ["words"]}
  - id: alpha
    category: shuffle_fetch_failed
    priority: 20
    patterns: ['shared words']
    explain: e
    remediation: r
    examples: {match: ["shared words"], no_match: ["words"]}
  - id: multiline
    category: driver_oom
    scope: driver
    priority: 90
    patterns: ['java heap space\\n\\t', 'GC overhead\\n']
    explain: e
    remediation: r
    examples: {match: ["java heap space\\n\\tat x"], no_match: ["java heap space"]}
'''


@pytest.fixture()
def engine_rules(tmp_path: Path):
    return load_packs(write_pack(tmp_path / "e", RULES), builtin=False)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_rule_a_text_meets_is_found_whatever_comes_first(engine_rules, backend: str) -> None:
    engine = RuleEngine(engine_rules.rules, engine_rules.version, backend=backend)
    ids = lambda text, role="unknown": [r.id for r in engine.match(text, role)]  # noqa: E731
    # a rule already found by its first pattern, a caseless rule that misses, then later rules
    assert ids("first thing, second thing and shared words") == ["alpha", "beta", "two-patterns"]
    assert ids("PERMISSION DENIED and shared words") == ["alpha", "beta", "caseless-first"]
    assert ids("heap space; shared words") == ["alpha", "beta"]  # `Heap Space` is case-sensitive
    assert ids("Heap Space") == ["accented"]
    assert ids("café au lait") == ["accented"]  # `.` is one character, not one byte
    assert ids("java heap space\n\tat x", "driver") == ["multiline"]
    assert ids("shared words \udcff undecodable") == ["alpha", "beta"]  # a lone surrogate is no crash
    assert engine.fires("second thing") and not engine.fires("nothing here")
    assert engine.fires("java heap space\n\t")  # fires whatever the scope
    assert engine.by_id["beta"] is engine_rules.rules[3]
    assert engine.version == "engine@1" and RuleEngine(engine_rules.rules).version == ""


def test_the_fastest_backend_is_the_default_and_an_unknown_one_is_refused(engine_rules) -> None:
    assert RuleEngine(engine_rules.rules).backend == BACKENDS[0]
    with pytest.raises(ValueError) as err:
        RuleEngine(engine_rules.rules, backend="pcre")
    assert str(err.value) == f"backend 'pcre' is not available here ({', '.join(BACKENDS)})"
    with pytest.raises(ValueError) as err:
        RuleEngine(engine_rules.rules, literals=[("x", False)])
    assert str(err.value) == "1 literals for 9 patterns"


def test_literals_come_from_the_patterns_or_from_the_cache(engine_rules) -> None:
    engine = RuleEngine(engine_rules.rules, backend="re")
    assert engine.literals()[:3] == [("first thing", False), ("second thing", False), ("permission denied", True)]
    # given literals are used as they are: a literal no text has gates its pattern off in the re backend
    given = [("never present", c) for _, c in engine.literals()]
    gated = RuleEngine(engine_rules.rules, backend="re", literals=given)
    assert gated.literals() == given and gated.match("shared words") == []


@pytest.mark.skipif("hyperscan" not in BACKENDS, reason="hyperscan is not installed")
def test_a_serialized_database_loads_back_to_the_same_answers(engine_rules) -> None:
    built = RuleEngine(engine_rules.rules, engine_rules.version, backend="hyperscan")
    database = built.serialized()
    assert isinstance(database, bytes) and database
    loaded = RuleEngine(engine_rules.rules, engine_rules.version, backend="hyperscan",
                        literals=built.literals(), database=database)
    for text in ("first thing and shared words", "PERMISSION DENIED", "café au lait", "nothing"):
        assert loaded.match(text) == built.match(text), text
    assert RuleEngine(engine_rules.rules, backend="re").serialized() is None
    empty = RuleEngine([], backend="hyperscan", database=b"")
    assert empty.serialized() is None and empty.match("anything") == []


def test_locate_and_matched_lines_count_lines_from_the_start(engine_rules) -> None:
    engine = RuleEngine(engine_rules.rules, backend="re")
    rules = engine.by_id
    text = "\nfirst line\njava heap space\n\tat x\nsecond thing here\nGC overhead\nend"
    assert engine.locate(rules["multiline"], text) == 2
    assert engine.locate(rules["two-patterns"], text) == 4
    assert engine.locate(rules["beta"], text) == -1
    assert engine.locate(rules["caseless-first"], "first line\nPERMISSION DENIED") == 1
    assert engine.locate(rules["caseless-first"], "first line\npermission granted") == -1
    # a match that ends with its newline ends on its own line; one that goes on spans the next
    assert engine.matched_lines(rules["multiline"], text) == [2, 3, 5]
    assert engine.matched_lines(rules["two-patterns"], text) == [4]
    assert engine.matched_lines(rules["beta"], text) == []
