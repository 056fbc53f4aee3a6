"""Every command, given the usual mistakes, ends in one or two lines on stderr and a non-zero exit.

Wrong flag or flag place, unreachable broker or database, a bad store URL, a
missing, unreadable, empty or binary file, bad TOML: what is wrong and what to
do, never a traceback, never a silent wait, and no file created outside the
data directory. Each case runs the real ``sparktriage`` in a scratch folder.
"""

from __future__ import annotations

import gzip
import json
import os
import pty
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import sparktriage.cli  # noqa: F401 - registers every command
from sparktriage.commands import COMMANDS
from sparktriage.tools.broker import free_port
from sparktriage.tools.demo import sample_dirs
from tests.closedpipe import to_closed_pipe

SAMPLE = next(p for p in sample_dirs() if p.name == "yarn-memory-kill")
NO_BROKER = "127.0.0.1:9"  # nothing listens on the discard port of loopback here
NO_DB = "postgres://nobody@127.0.0.1:1/triage"


def _files(root: Path) -> set[str]:
    """Everything under ``root`` but the data directory ``var``."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.relative_to(root).parts[0] != "var"}


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A folder with the inputs the mistakes need; the commands run there."""
    (tmp_path / "empty.log").write_bytes(b"")
    (tmp_path / "blank.log").write_text(" \n\t\n  \r\n")
    (tmp_path / "blank.jsonl").write_text("\n\n")
    (tmp_path / "binary.log").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "broken.log.gz").write_bytes(gzip.compress(b"x" * 100_000)[:60])
    (tmp_path / "bad.toml").write_text("bootstrap = \n")
    (tmp_path / "typo.toml").write_text('bootstrp = "kafka:9092"\n')
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "socket.log"))  # exists, and nobody (root included) can read it
    sock.close()
    return tmp_path


def run(scratch: Path, *argv: str, stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKTRIAGE_")}
    return subprocess.run([sys.executable, "-m", "sparktriage.cli", *argv], cwd=scratch, env=env, stdin=stdin,
                          capture_output=True, text=True, timeout=120)


def assert_said_in_two_lines(scratch: Path, proc: subprocess.CompletedProcess[str], *words: str) -> None:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0, proc.stdout
    assert 1 <= len(lines) <= 2, proc.stderr
    assert "Traceback" not in proc.stderr and lines[0].startswith("sparktriage")
    for word in words:
        assert word in proc.stderr, proc.stderr


CASES = {
    # where a global flag goes: after the sub-command too, and it still reaches the command
    "global flags after the sub-command": (["worker", "--bootstrap", NO_BROKER, "--db", "sqlite:///var/w.db"],
                                           [NO_BROKER, "--wait-for-broker"]),
    "global flags before the sub-command": (["--bootstrap", NO_BROKER, "worker"], [NO_BROKER]),
    # unreachable broker
    "replay, no broker": (["--bootstrap", NO_BROKER, "replay", str(SAMPLE)], [NO_BROKER]),
    "relabel --notify, no broker": (["--bootstrap", NO_BROKER, "relabel", "--notify", "--db", "sqlite:///var/r.db"],
                                    [NO_BROKER]),
    # unreachable database, for every command that opens the store
    "label, no database": (["--db", NO_DB, "label", "application_1_0001", "executor_oom"], ["127.0.0.1", "--db"]),
    "seed, no database": (["--db", NO_DB, "seed", "--days", "1"], ["127.0.0.1"]),
    "relabel, no database": (["relabel", "--db", NO_DB, "--dry-run"], ["127.0.0.1"]),
    "retention, no database": (["--db", NO_DB, "retention", "--days", "3"], ["127.0.0.1"]),
    "deliver, no database": (["--db", NO_DB, "deliver", "--once"], ["127.0.0.1"]),
    "unknowns, no database": (["--db", NO_DB, "unknowns"], ["127.0.0.1"]),
    "evaluate, no database": (["--db", NO_DB, "evaluate", "--from-store"], ["127.0.0.1"]),
    "dashboard, no database": (["--db", NO_DB, "dashboard", "--port", "1"], ["127.0.0.1"]),
    # bad store URLs, and SQLite files under folders that do not exist
    "not a URL": (["--db", "triage.db", "label", "application_1_0001", "executor_oom"], ["triage.db", "sqlite:///"]),
    "unsupported database": (["--db", "mysql://root@db/x", "seed"], ["mysql"]),
    "SQLite under a missing folder": (["--db", "sqlite:///nowhere/x.db", "seed", "--days", "1"], ["nowhere"]),
    "SQLite at a missing root folder": (["--db", "sqlite:////sparktriage-nowhere/x.db", "seed"],
                                        ["/sparktriage-nowhere"]),
    # files: missing, unreadable, empty, binary, broken
    "classify, missing path": (["classify", "no-such.log"], ["no-such.log"]),
    "classify, unreadable file": (["classify", "socket.log"], ["socket.log"]),
    "classify, empty file": (["classify", "empty.log"], ["empty.log", "nothing"]),
    "classify, file of blank lines": (["classify", "blank.log"], ["blank.log", "nothing"]),
    "classify, binary file": (["classify", "binary.log"], ["binary.log", "binary"]),
    "classify, broken gzip": (["classify", "broken.log.gz"], ["broken.log.gz", "gzip"]),
    "classify --jsonl, missing file": (["classify", "--jsonl", "no-such.jsonl"], ["no-such.jsonl"]),
    "classify --jsonl, blank file": (["classify", "--jsonl", "blank.jsonl"], ["blank.jsonl"]),
    "classify, empty stdin": (["classify", "-"], ["stdin"]),
    "replay, missing path": (["--bootstrap", NO_BROKER, "replay", "no-such-dir"], ["no-such-dir"]),
    "replay, binary file": (["replay", "binary.log", "--app-id", "application_1_0001"], ["binary.log"]),
    "evaluate, missing set": (["evaluate", "--data", "no-such.jsonl"], ["no-such.jsonl"]),
    "evaluate, empty set": (["evaluate", "--data", "blank.jsonl"], ["blank.jsonl"]),
    "evaluate, binary set": (["evaluate", "--data", "binary.log"], ["binary.log"]),
    "evaluate, neither --data nor --from-store": (["evaluate"], ["--data"]),
    "unknowns, missing set": (["unknowns", "--data", "no-such.jsonl"], ["no-such.jsonl"]),
    "unknowns, empty set": (["unknowns", "--data", "empty.log"], ["empty.log"]),
    "train without --out": (["train"], ["--out"]),  # no default: it would overwrite the shipped model
    "train, missing noise log": (["train", "--noise", "no-such.log", "--out", "var/model"], ["no-such.log"]),
    # settings
    "bad TOML": (["--config", "bad.toml", "classify", "empty.log"], ["bad.toml"]),
    "unknown TOML key": (["classify", "empty.log", "--config", "typo.toml"], ["bootstrp"]),
    "missing TOML": (["--config", "no-such.toml", "worker"], ["no-such.toml"]),
    "bad value": (["--bootstrap", "kafka", "worker"], ["kafka", "host:port"]),
    "bad date": (["relabel", "--since", "last tuesday"], ["--since"]),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_mistake_is_said_in_one_or_two_lines(scratch: Path, case: str) -> None:
    argv, words = CASES[case]
    before = _files(scratch)
    assert_said_in_two_lines(scratch, run(scratch, *argv), *words)
    assert _files(scratch) == before, "a mistake must not leave files behind"
    assert not Path("/sparktriage-nowhere").exists()


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_wrong_flag_is_said_in_two_lines_for_every_command(scratch: Path, name: str) -> None:
    proc = run(scratch, name, "--no-such-flag")
    assert_said_in_two_lines(scratch, proc, f"sparktriage {name} --help" if "required" in proc.stderr else "--help")
    assert proc.returncode == 2


@pytest.mark.parametrize("argv", [["evaluate", "--data", "no-such.jsonl"], ["evaluate", "--data", "binary.log"],
                                  ["evaluate"]])
def test_evaluate_says_a_missing_or_binary_set_before_any_library_loads(scratch: Path, argv: list[str]) -> None:
    code = (f"import sys; from sparktriage.cli import main; status = main({argv!r}); "
            "print(status, sorted({'sklearn', 'classifiers.core'} & set(sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=scratch, capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "2 []", proc.stdout + proc.stderr


@pytest.mark.parametrize("name", ["dashboard", "api"])
def test_a_server_on_a_port_in_use_says_so_before_it_starts(scratch: Path, name: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as held:
        port = str(held.getsockname()[1])
        proc = run(scratch, "--db", "sqlite:///var/s.db", name, "--port", port)
    assert_said_in_two_lines(scratch, proc, f"127.0.0.1:{port}", "--port")
    assert proc.returncode == 2 and proc.stdout == ""  # not announced as served


@pytest.mark.parametrize("argv", [["broker", "--port", "{port}"], ["--config", "port.toml", "demo", "--no-wait"]])
def test_the_embedded_broker_on_a_port_in_use_says_so(scratch: Path, argv: list[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as held:
        port = str(held.getsockname()[1])
        (scratch / "port.toml").write_text(f"broker_port = {port}\n")
        proc = run(scratch, *[a.format(port=port) for a in argv])
    assert_said_in_two_lines(scratch, proc, f"127.0.0.1:{port}", "port")
    assert "panicked" not in proc.stdout and "did not answer" not in proc.stderr


def test_the_embedded_broker_stopped_by_sigterm_stops_tansu(scratch: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "sparktriage.cli", "broker", "--port", str(port)], cwd=scratch,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:  # type: ignore[union-attr]  # Tansu's own lines come first
        if "broker listening" in line:
            break
    proc.terminate()
    proc.wait(timeout=30)
    with pytest.raises(ConnectionRefusedError):  # Tansu was not left behind, holding the port
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_classify_on_a_terminal_says_how_to_use_it_instead_of_waiting(scratch: Path) -> None:
    controller, terminal = pty.openpty()
    try:
        proc = run(scratch, "classify", stdin=terminal)
    finally:
        os.close(controller)
        os.close(terminal)
    assert_said_in_two_lines(scratch, proc, "sparktriage classify", "-")


def test_a_reader_that_stops_early_ends_it_quietly(scratch: Path) -> None:
    """``sparktriage classify --jsonl many.jsonl | head -1``: a closed pipe is normal in a shell.

    The output is far larger than a pipe's buffer, so the writer always meets the closed pipe."""
    items = scratch / "many.jsonl"
    items.write_text("".join(json.dumps({"id": n, "text": f"java.lang.OutOfMemoryError: Java heap space {n}"}) + "\n"
                             for n in range(2000)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKTRIAGE_")}
    proc = subprocess.run(f'"{sys.executable}" -m sparktriage.cli classify --jsonl "{items}" | head -1; '
                          'echo "status ${PIPESTATUS[0]}" >&2', shell=True, executable="/bin/bash", cwd=scratch,
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.stdout.startswith("{") and proc.stdout.count("\n") == 1
    assert proc.stderr.strip() == "status 141", proc.stderr


@pytest.mark.parametrize(("argv", "buffered"), [
    (["classify", "--json", str(SAMPLE)], True), (["classify", "--json", str(SAMPLE)], False),
    (["rules", "--help"], True),  # unbuffered, argparse ignores the failed write itself
], ids=["json-buffered", "json-unbuffered", "help-buffered"])
def test_a_reader_gone_before_a_short_output_ends_it_quietly(argv: list[str], buffered: bool) -> None:
    """The reader gone before the first write: printed unbuffered, the write fails inside the command;
    buffered, only at the flush after it (or after argparse's help), which must still say nothing."""
    proc = to_closed_pipe(["-m", "sparktriage.cli", *argv], buffered=buffered)
    assert (proc.returncode, proc.stderr) == (141, "")


def test_debug_shows_the_traceback(scratch: Path) -> None:
    proc = run(scratch, "--debug", "classify", "empty.log")
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "empty.log" in proc.stderr


def test_wait_for_broker_keeps_trying_and_says_so(scratch: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKTRIAGE_")}
    proc = subprocess.Popen([sys.executable, "-m", "sparktriage.cli", "worker", "--bootstrap", NO_BROKER,
                             "--wait-for-broker"], cwd=scratch, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        first, second = proc.stderr.readline(), proc.stderr.readline()
        assert "waiting for the Kafka broker" in first and NO_BROKER in first and "waiting" in second
        assert proc.poll() is None, "it keeps trying instead of stopping"
    finally:
        proc.kill()
        proc.wait()
