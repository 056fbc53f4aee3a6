"""The built-in rule packs: every rule's own examples behave as declared (like
Sigma's regression tests), the packs lint clean, and normal logs trigger nothing."""

from __future__ import annotations

import pytest

from rules.engine import RuleEngine
from rules.lint import lint_packs, read_normal_lines
from rules.loader import load_packs
from sparktriage.taxonomy import CATEGORIES, UNKNOWN, top_level
from tests.conftest import loghub

PACKS = load_packs()
ENGINE = RuleEngine(PACKS.rules, PACKS.version)
#: loghub samples of successful jobs and healthy services. Hadoop_2k is left out:
#: it carries injected machine-down, network and disk-full failures (see its README).
NEGATIVE = ["Spark_2k.log", "HDFS_2k.log", "Zookeeper_2k.log"]


def test_built_in_packs_lint_clean() -> None:
    normal = read_normal_lines(loghub(n) for n in NEGATIVE)
    assert [str(p) for p in lint_packs(PACKS, normal)] == []


def test_every_taxonomy_category_has_a_rule() -> None:
    covered = {top_level(r.category) for r in PACKS.rules}
    assert set(CATEGORIES) - {UNKNOWN} - covered == set()


@pytest.mark.parametrize("rule", PACKS.rules, ids=lambda r: r.id)
def test_rule_examples(rule) -> None:
    role = "unknown" if rule.scope == "any" else rule.scope
    for example in rule.match:
        hits = ENGINE.match(example, role)
        assert rule in hits, f"{rule.id} does not match its example {example!r}"
        assert top_level(hits[0].category) == top_level(rule.category), \
            f"{hits[0].id} ({hits[0].category}) claims {rule.id}'s example {example!r}"
    for example in rule.no_match:
        assert rule not in ENGINE.match(example, role), f"{rule.id} matches its no_match example {example!r}"


@pytest.mark.parametrize("name", NEGATIVE)
def test_negative_corpus_triggers_no_rule(name: str) -> None:
    path = loghub(name)
    fired = {}
    for line in path.read_text(errors="replace").splitlines():
        for role in ("driver", "executor", "unknown"):
            for rule in ENGINE.match(line, role):
                fired.setdefault(rule.id, line)
    assert fired == {}
