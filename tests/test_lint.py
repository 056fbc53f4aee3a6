"""`rules lint` reports every problem at once, each with file and line."""

from __future__ import annotations

from pathlib import Path

from rules import lint
from rules.engine import BACKENDS
from rules.lint import lint_packs
from rules.loader import Problem
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


EXACT = '''\
pack: exact
version: "1"
rules:
  - id: wrapper
    category: executor_lost
    priority: 60
    patterns: ['task failed: (?:[a-z]+) wrapped']
    explain: x
    remediation: y
    examples: {match: ["task failed: abc wrapped"], no_match: ["fine"]}
  - id: same-priority-other-category
    category: network_error
    priority: 60
    patterns: ['failed: abc wrapped']
    explain: x
    remediation: y
    examples: {match: ["task failed: abc wrapped"], no_match: ["fine"]}
  - id: broken-first
    category: unknown
    patterns: ["spans\\nlines", 'No space left(?=!)', 'bad (regex', 'ends abc\\Z', '(?:abcd)?', '  ab  ', 'abcd']
    explain: x
    remediation: y
    examples: {match: ["x"], no_match: ["fine"]}
  - id: after-broken
    category: gremlins
    patterns: ['(?i)Heartbeat OK']
    explain: x
    remediation: y
    examples:
      match: ["first miss", "second miss", "LONG %s", "heartbeat ok"]
      no_match: ["HEARTBEAT OK 1", "heartbeat ok 2 LONG %s"]
  - id: claimed-same-family
    category: executor_oom
    priority: 10
    patterns: ['heap space wrapped']
    explain: x
    remediation: y
    examples: {match: ["java heap space wrapped"], no_match: ["fine"]}
  - id: claims-same-family
    category: executor_oom/gc_overhead
    priority: 70
    patterns: ['java heap space']
    explain: x
    remediation: y
    examples: {match: ["java heap space"], no_match: ["fine"]}
  - id: driver-only
    category: driver_oom
    scope: driver
    priority: 90
    patterns: ['driver heap gone']
    explain: x
    remediation: y
    examples: {match: ["driver heap gone"], no_match: ["driver heap gone again"]}
  - id: claimed-long
    category: executor_lost
    scope: driver
    priority: 5
    patterns: ['driver heap']
    explain: x
    remediation: y
    examples: {match: ["driver heap gone %s"], no_match: ["fine"]}
''' % ("x" * 120, "y" * 120, "z" * 120)


def _re2_error(pattern: str) -> str:
    try:
        lint.re2.compile(pattern)
    except Exception as exc:  # noqa: BLE001 - re2's own error type
        return str(exc)
    raise AssertionError(f"RE2 accepts {pattern!r}")


def test_lint_reports_each_problem_exactly_and_goes_on_after_one(tmp_path: Path) -> None:
    path = str(write_pack(tmp_path, EXACT, "exact.yaml") / "exact.yaml")
    packs = load_packs(tmp_path, builtin=False)
    rules = {r.id: r for r in packs.rules}
    assert not packs.problems

    def at(rule_id: str, message: str) -> Problem:
        return Problem(path, rules[rule_id].line, message, rule_id)

    long_match, long_no_match = "LONG " + "x" * 120, "heartbeat ok 2 LONG " + "y" * 120
    claimed = "driver heap gone " + "z" * 120
    assert lint_packs(packs, []) == [
        at("broken-first", "category 'unknown' is not a taxonomy id"),
        at("broken-first", "pattern 'spans\\nlines' spans lines; patterns match one line"),
        at("broken-first", "pattern 'No space left(?=!)' uses a construct outside the re/RE2/Hyperscan subset"),
        at("broken-first", "pattern 'bad (regex' does not compile: missing ), unterminated subpattern at position 4"),
        *([at("broken-first", "pattern 'ends abc\\\\Z' is not valid RE2: " + _re2_error(r"ends abc\Z"))]
          if lint.re2 is not None else []),
        *([at("broken-first", "pattern '(?:abcd)?' is not valid for Hyperscan: "
              "Pattern matches empty buffer; use HS_FLAG_ALLOWEMPTY to enable support.")]
          if "hyperscan" in BACKENDS else []),
        at("broken-first", "pattern '(?:abcd)?' has no required literal of 4+ characters ('')"),
        at("broken-first", "pattern '  ab  ' has no required literal of 4+ characters ('  ab  ')"),
        at("after-broken", "category 'gremlins' is not a taxonomy id"),
        at("after-broken", "match example does not match: 'first miss'"),
        at("after-broken", "match example does not match: 'second miss'"),
        at("after-broken", f"match example does not match: {long_match[:100]!r}"),
        at("after-broken", "no_match example matches: 'HEARTBEAT OK 1'"),
        at("after-broken", f"no_match example matches: {long_no_match[:100]!r}"),
        at("driver-only", "no_match example matches: 'driver heap gone again'"),  # in its role's log
        at("claimed-long", f"match example {claimed[:80]!r} is claimed by higher-priority driver-only (driver_oom)"),
    ]


def test_a_literal_is_too_common_above_one_line_in_a_thousand(tmp_path: Path) -> None:
    packs = load_packs(write_pack(tmp_path, EXACT.split("  - id: broken-first")[0]), builtin=False)
    quiet = ["INFO nothing to see"] * 998
    assert lint_packs(packs, quiet + ["TASK FAILED: abc wrapped", "task failed: abc wrapped"]) == []  # 0.1 %: allowed
    assert [p.message for p in lint_packs(packs, quiet + ["task failed: abc wrapped"] * 2)] == [
        "required literal 'task failed: ' of 'task failed: (?:[a-z]+) wrapped' is in 0.20% of normal lines",
        "required literal 'failed: abc wrapped' of 'failed: abc wrapped' is in 0.20% of normal lines",
    ]


def test_a_caseless_literal_is_counted_in_any_case(tmp_path: Path) -> None:
    rule = EXACT.split("  - id: after-broken")[1].split("  - id: claimed")[0].replace("gremlins", "network_error")
    packs = load_packs(write_pack(tmp_path, 'pack: c\nversion: "1"\nrules:\n  - id: after-broken' + rule), builtin=False)
    assert [p.message for p in lint_packs(packs, ["x Heartbeat OK"] * 10) if "normal lines" in p.message] == [
        "required literal 'heartbeat ok' of '(?i)Heartbeat OK' is in 100.00% of normal lines"]


def test_lint_reads_the_built_in_packs_the_user_path_and_the_normal_logs(tmp_path: Path) -> None:
    from rules.lint import lint

    pack = EXACT.split("  - id: wrapper")[0] + "  - id: wrapper" + EXACT.split("  - id: wrapper")[1].split("  - id: same")[0]
    write_pack(tmp_path / "user", pack.replace("pack: exact", "pack: site"))
    normal = tmp_path / "normal.log"
    normal.write_text("INFO task failed: abc wrapped\n")
    assert [(p.rule_id, p.message) for p in lint(tmp_path / "user", [normal])] == [
        ("wrapper", "required literal 'task failed: ' of 'task failed: (?:[a-z]+) wrapped' is in 100.00% of normal lines")]
