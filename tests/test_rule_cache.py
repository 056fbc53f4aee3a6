"""Rule packs linted and compiled once (rules/cache.py): same answers, and never a stale or broken pack."""

from __future__ import annotations

import gc

import os
from pathlib import Path

import pytest

import classifiers.core as core
from classifiers.core import load_classifier
from rules import cache as rule_cache
from rules.engine import BACKENDS, RuleEngine
from sparktriage.cli import main
from sparktriage.errors import ConfigError
from sparktriage.settings import Settings
from tests.packs import SMALL_PACK, write_pack
from tests.test_lint import BROKEN


def _engine(cache: Path, rules_dir: Path | None = None) -> RuleEngine:
    return load_classifier(Settings(rules_dir=str(rules_dir) if rules_dir else None, rules_cache=str(cache),
                                    model_mode="off")).engine


def _answers(engine: RuleEngine, lines: list[str]) -> list[list[tuple[str, list[str]]]]:
    return [[(role, [r.id for r in engine.match(line, role)]) for role in ("driver", "executor", "unknown")]
            for line in lines]


def _no_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object) -> RuleEngine:
        raise AssertionError("linted and compiled again although the packs are unchanged")

    monkeypatch.setattr(core, "_lint_and_compile", refuse)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_cached_engine_answers_as_the_freshly_compiled_one(tmp_path: Path, backend: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = load_classifier(Settings(rules_cache=str(tmp_path), model_mode="off"), backend=backend).engine
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".hsdb", ".json"]
    _no_compiling(monkeypatch)
    cached = load_classifier(Settings(rules_cache=str(tmp_path), model_mode="off"), backend=backend).engine
    assert cached is not fresh and cached.backend == backend
    assert (cached.version, cached.rules, cached.literals(), cached.required_runs()) == \
        (fresh.version, fresh.rules, fresh.literals(), fresh.required_runs())
    lines = [line for rule in fresh.rules for line in rule.match + rule.no_match]
    assert _answers(cached, lines) == _answers(fresh, lines)
    rule = fresh.rules[0]
    assert cached.locate(rule, "x\n" + rule.match[0]) == fresh.locate(rule, "x\n" + rule.match[0]) == 1


def test_a_changed_user_pack_is_linted_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    packs = write_pack(tmp_path / "packs")
    assert "yarn-kill" in _engine(tmp_path / "cache", packs).by_id
    (packs / "test.yaml").write_text(SMALL_PACK.replace("Job 3 finished", "Job 3 cancelled because SparkContext was shut down"))
    with pytest.raises(ConfigError, match="no_match example matches"):
        _engine(tmp_path / "cache", packs)
    write_pack(packs)  # as it was: the earlier entry serves again
    _no_compiling(monkeypatch)
    assert "yarn-kill" in _engine(tmp_path / "cache", packs).by_id


def test_an_added_broken_pack_is_refused_even_with_a_warm_cache(tmp_path: Path) -> None:
    packs = write_pack(tmp_path / "packs")
    _engine(tmp_path / "cache", packs)
    (packs / "broken.yaml").write_text(BROKEN)
    with pytest.raises(ConfigError, match="duplicate id"):
        _engine(tmp_path / "cache", packs)


@pytest.mark.broker
def test_the_worker_refuses_a_broken_pack_with_a_warm_cache(broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SPARKTRIAGE_RULES_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SPARKTRIAGE_BOOTSTRAP", broker.bootstrap)  # reachable: the pack is what stops it
    _engine(tmp_path / "cache")  # the built-in packs, linted and cached
    (tmp_path / "packs").mkdir()
    (tmp_path / "packs" / "broken.yaml").write_text(BROKEN)
    assert main(["--rules-dir", str(tmp_path / "packs"), "worker"]) == 2
    err = capsys.readouterr().err
    assert "refusing to start" in err and "broken.yaml" in err
    assert gc.isenabled(), "a refused start leaves the caller's process collecting garbage as before"


def test_a_damaged_entry_is_rebuilt_not_trusted(tmp_path: Path) -> None:
    fresh = _engine(tmp_path)
    (database,) = tmp_path.glob("*.hsdb")
    damaged = bytearray(database.read_bytes())
    damaged[-50] ^= 0xFF  # a byte Hyperscan's own check does not cover
    database.write_bytes(bytes(damaged))
    (entry,) = tmp_path.glob("*.json")
    key = entry.stem
    assert rule_cache.fetch(tmp_path, key) is None, "a database that is not the one stored is not loaded"
    again = _engine(tmp_path)
    lines = [line for rule in fresh.rules for line in rule.match]
    assert _answers(again, lines) == _answers(fresh, lines)
    assert rule_cache.fetch(tmp_path, key) is not None, "the entry was written again"


def test_an_unwritable_cache_only_costs_time(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert _engine(blocker / "cache").rules


def test_old_entries_are_pruned_when_a_new_one_is_written(tmp_path: Path) -> None:
    """Every edited pack is a new key: the folder keeps the newest ``KEEP`` entries, not every one ever made."""
    engine = _engine(tmp_path / "first")
    folder = tmp_path / "cache"
    for n in range(rule_cache.KEEP + 3):
        rule_cache.store(folder, f"{n:032x}", engine)
        entry = folder / f"{n:032x}.json"
        stamp = 1_700_000_000 + n  # written in this order, whatever the file system's clock resolution
        os.utime(entry, (stamp, stamp))
    rule_cache.store(folder, "f" * 32, engine)
    kept = sorted(p.stem for p in folder.glob("*.json"))
    newest = [f"{n:032x}" for n in range(rule_cache.KEEP + 3)][-(rule_cache.KEEP - 1):]
    assert kept == sorted(newest + ["f" * 32])
    assert sorted(p.stem for p in folder.glob("*.hsdb")) == kept, "no database outlives its entry"
    assert rule_cache.fetch(folder, "f" * 32) is not None
