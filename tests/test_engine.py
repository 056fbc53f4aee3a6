"""The rule engine: both backends agree, scope and status are honoured, literals gate."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.engine import BACKENDS, RuleEngine
from rules.literals import required_literal
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
