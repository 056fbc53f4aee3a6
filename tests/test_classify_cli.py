"""`sparktriage classify` per the contract: files, .gz, directories, stdin, --json, --jsonl."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sparktriage.cli import main
from sparktriage.tools.demo import sample_dirs
from tests.diagnosis_schema import assert_valid

KILL_SAMPLE = next(p for p in sample_dirs() if p.name == "yarn-memory-kill")
DRIVER_LOG = next(KILL_SAMPLE.glob("*_000001.log"))


def test_directory_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classify", str(KILL_SAMPLE)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("root cause: container_killed_memory")
    assert "fix:" in out and "evidence 1 (driver, container_e07_1710230000000_1042_01_000001, line" in out


def test_gzip_file_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gz = tmp_path / "container_e07_1710230000000_1042_01_000001.log.gz"
    gz.write_bytes(gzip.compress(DRIVER_LOG.read_bytes()))
    assert main(["classify", "--json", str(gz)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["category"] == "container_killed_memory" and data["app_id"] == "application_1710230000000_1042"
    assert_valid(data)
    assert data["evidence_locations"][0]["role"] == "driver"


def test_stdin() -> None:
    proc = subprocess.run([sys.executable, "-m", "sparktriage.cli", "classify", "--json", "-"],
                          input=DRIVER_LOG.read_text(), capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout)["category"] == "container_killed_memory"


def test_a_pipe_is_read_like_a_file(tmp_path: Path) -> None:
    """``sparktriage classify <(zcat app.log.gz)`` names a pipe, not a regular file."""
    proc = subprocess.run(["bash", "-c", f'"{sys.executable}" -m sparktriage.cli classify --json <(cat "{DRIVER_LOG}")'],
                          capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout)["category"] == "container_killed_memory"


def test_a_short_log_through_a_pipe_is_read_whole() -> None:
    """A pipe is read once: telling an event log by its start must not take that start (a log shorter than
    a read's buffer was all taken: 'holds no log lines')."""
    line = ("24/03/12 10:11:13 ERROR Main: org.apache.hadoop.security.AccessControlException: "
            "Permission denied: user=etl")
    proc = subprocess.run(["bash", "-c", f'"{sys.executable}" -m sparktriage.cli classify --json <(echo "{line}")'],
                          capture_output=True, text=True, check=True)
    document = json.loads(proc.stdout)
    assert document["category"] == "access_denied" and document["evidence_locations"][0]["line"] == 1


def test_jsonl_in_and_out_with_bad_lines(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [
        json.dumps({"id": "k1", "text": DRIVER_LOG.read_text()}),
        json.dumps({"id": "n1", "text": "24/03/12 10:00:00 INFO SparkContext: Running Spark version 3.5.1"}),
        "{not json",
        json.dumps({"id": "t1"}),
    ]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    assert main(["classify", "--jsonl", "-"]) == 1  # some lines were rejected
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [o.get("id") for o in out] == ["k1", "n1", None, "t1"]
    for answer in out[:2]:
        assert_valid(answer)
    assert out[0]["remediation"] and isinstance(out[0]["notes"], list)
    assert out[0]["category"] == "container_killed_memory" and out[0]["source"] == "rule"
    assert out[0]["rule_id"] and isinstance(out[0]["evidence"][0], str) and 0 < out[0]["confidence"] <= 1
    assert (out[1]["category"], out[1]["source"], out[1]["rule_id"]) == ("unknown", "none", None)
    assert "malformed JSON" in out[2]["error"] and "text" in out[3]["error"]


def test_missing_path_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classify", "/no/such/log"]) == 2
    assert "no such file" in capsys.readouterr().err


#: What saying that a file is missing must not wait for: the settings, the store, the rules' and the model's libraries.
HEAVY = ("sparktriage.settings", "sparktriage.store", "sklearn", "hyperscan", "faust", "numpy", "classifiers.core")


@pytest.mark.parametrize("argv", [["/no/such/log"], ["--jsonl", "/no/such/set.jsonl"]])
def test_a_missing_path_is_said_before_anything_heavy_loads(argv: list[str]) -> None:
    probe = ("import sys\nfrom sparktriage.cli import main\nstatus = main(['classify', *sys.argv[1:]])\n"
             f"print(status, sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r} or m in {HEAVY!r}))")
    proc = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "2 []", proc.stdout
    assert "/no/such/" in proc.stderr and "Traceback" not in proc.stderr


def test_the_collector_is_paused_while_logs_are_read_and_on_again_after(tmp_path: Path, monkeypatch) -> None:
    """``classify_paths`` reads a whole log with the cyclic collector off (``collector_paused``), and
    leaves it as it found it, also when the logs hold nothing to diagnose."""
    import gc

    from classifiers.core import load_classifier
    from sparktriage.errors import BadInput
    from sparktriage.settings import Settings
    from sparktriage.tools import classify

    seen = []
    read = classify.runs_of_paths
    monkeypatch.setattr(classify, "runs_of_paths", lambda *a: seen.append(gc.isenabled()) or read(*a))
    classifier = load_classifier(Settings())
    assert classify.classify_paths(classifier, [str(DRIVER_LOG)]).category == "container_killed_memory"
    (tmp_path / "empty.log").write_text("\n")
    with pytest.raises(BadInput):
        classify.classify_paths(classifier, [str(tmp_path / "empty.log")])
    assert seen == [False, False] and gc.isenabled()
    gc.disable()
    try:
        classify.classify_paths(classifier, [str(DRIVER_LOG)])
        assert not gc.isenabled(), "a collector that was off stays off"
    finally:
        gc.enable()


def test_the_command_runs_without_the_collector_and_leaves_it_as_it_found_it(monkeypatch) -> None:
    """``classify`` loads the rules and reads the logs with the cyclic collector off (nothing it makes is garbage
    before it ends), and a caller's process (these tests) gets it back as it was."""
    import gc

    from sparktriage.tools import classify

    seen = []
    read = classify.classify_paths
    monkeypatch.setattr(classify, "classify_paths", lambda *a: seen.append(gc.isenabled()) or read(*a))
    assert gc.isenabled()
    assert main(["classify", str(DRIVER_LOG)]) == 0
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        assert main(["classify", str(DRIVER_LOG)]) == 0
        assert not gc.isenabled(), "a collector that was off stays off"
    finally:
        gc.enable()
