"""`rules lint` reports every problem at once, each with file and line."""

from __future__ import annotations

from pathlib import Path

from rules.lint import lint_packs
from rules.loader import load_packs
from sparktriage.cli import main
from tests.packs import SMALL_PACK, write_pack

BROKEN = '''\
pack: broken
version: "1"
rules:
  - id: dup
    category: executor_oom
    patterns: ['GC overhead limit exceeded']
    explain: x
    remediation: y
    examples: {match: ["java.lang.OutOfMemoryError: GC overhead limit exceeded"], no_match: ["GC ok"]}
  - id: dup
    category: executor_oom
    patterns: ['Java heap space on executor']
    explain: x
    remediation: y
    examples: {match: ["Java heap space on executor 3"], no_match: ["fine"]}
  - id: not-a-category
    category: gremlins
    patterns: ['gremlins in the machine']
    explain: x
    remediation: y
    examples: {match: ["gremlins in the machine"], no_match: ["fine"]}
  - id: bad-regex
    category: disk_full
    patterns: ['No space left (on device']
    explain: x
    remediation: y
    examples: {match: ["No space left on device"], no_match: ["fine"]}
  - id: lookahead
    category: disk_full
    patterns: ['No space left(?= on device)']
    explain: x
    remediation: y
    examples: {match: ["No space left on device"], no_match: ["fine"]}
  - id: wrong-example
    category: disk_full
    patterns: ['DiskErrorException']
    explain: x
    remediation: y
    examples: {match: ["Disk error happened"], no_match: ["DiskErrorException: nope"]}
  - id: no-examples
    category: disk_full
    patterns: ['DSQuotaExceededException']
    explain: x
    remediation: y
    examples: {}
  - id: short-literal
    category: network_error
    patterns: ['(?:a|b)\\d+ms']
    explain: x
    remediation: y
    examples: {match: ["a12ms"], no_match: ["fine"]}
  - id: claimed
    category: executor_lost
    priority: 10
    patterns: ['exceeding physical memory limits']
    explain: x
    remediation: y
    examples: {match: ["Container killed by YARN for exceeding physical memory limits"], no_match: ["fine"]}
  - id: common-literal
    category: network_error
    patterns: ['Running task']
    explain: x
    remediation: y
    examples: {match: ["Running task 1.0"], no_match: ["fine"]}
'''


def _by_rule(problems) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in problems:
        out.setdefault(p.rule_id or "", []).append(p.message)
    return out


def test_clean_pack_has_no_problems(tmp_path: Path) -> None:
    assert lint_packs(load_packs(write_pack(tmp_path), builtin=False)) == []


def test_every_problem_is_reported_with_file_and_line(tmp_path: Path) -> None:
    directory = write_pack(tmp_path, SMALL_PACK)
    (directory / "broken.yaml").write_text(BROKEN)
    normal = ["INFO Executor: Running task 1.0 in stage 2.0"] * 10
    problems = lint_packs(load_packs(directory, builtin=False), normal)
    found = _by_rule(problems)
    assert any("duplicate id" in m for m in found["dup"])
    assert any("not a taxonomy id" in m for m in found["not-a-category"])
    assert any("does not compile" in m for m in found["bad-regex"])
    assert any("outside the re/RE2/Hyperscan subset" in m for m in found["lookahead"])
    assert any("match example does not match" in m for m in found["wrong-example"])
    assert any("no_match example matches" in m for m in found["wrong-example"])
    assert any("examples.match" in m for m in found["no-examples"])
    assert any("required literal" in m for m in found["short-literal"])
    assert any("claimed by higher-priority yarn-kill" in m for m in found["claimed"])
    assert any("normal lines" in m for m in found["common-literal"])
    for p in problems:
        assert p.file.endswith("broken.yaml") and p.line > 1, p
    lines = {p.rule_id: p.line for p in problems}
    assert lines["not-a-category"] < lines["bad-regex"] < lines["claimed"]


def test_cli_lint_exits_nonzero_and_prints_places(tmp_path: Path, capsys) -> None:
    (tmp_path / "broken.yaml").write_text(BROKEN)
    assert main(["rules", "lint", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "broken.yaml:" in out and "problem(s)" in out


def test_worker_side_loading_refuses_a_broken_pack(tmp_path: Path) -> None:
    import pytest

    from classifiers.core import load_classifier
    from sparktriage.errors import ConfigError
    from sparktriage.settings import Settings

    (tmp_path / "broken.yaml").write_text(BROKEN)
    with pytest.raises(ConfigError) as err:
        load_classifier(Settings(rules_dir=str(tmp_path)))
    assert "duplicate id" in str(err.value)


def test_normal_logs_are_read_whole_and_in_order_whatever_their_bytes(tmp_path: Path) -> None:
    from rules.lint import read_normal_lines

    first, second = tmp_path / "a.log", tmp_path / "b.log"
    first.write_bytes(b"INFO one\nINFO caf\xe9\n")  # Latin-1 in a log is common: kept, not fatal
    second.write_text("INFO two\n")
    assert read_normal_lines([first, second]) == ["INFO one", "INFO caf\ufffd", "INFO two"]
    assert read_normal_lines([]) == []
