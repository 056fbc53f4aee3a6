"""The CLI contract: every command has help with an example, the README covers
every command, configuration errors refuse to start, and the embedded broker
listens on loopback only."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from sparktriage import cli
from sparktriage.tools.broker import Broker, free_port
from sparktriage.settings import Settings

REPO = Path(__file__).resolve().parent.parent


def _commands() -> list[str]:
    return sorted(cli.COMMANDS)


def test_the_readme_command_table_lists_exactly_the_registered_commands() -> None:
    """One row per command, no row for a command that does not exist (``cli.COMMANDS`` is filled by imports)."""
    section = (REPO / "README.md").read_text().split("## Commands", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `sparktriage ([\w-]+)", section, re.MULTILINE)
    assert len(rows) == len(set(rows)), "a command has two rows"
    assert set(rows) == set(_commands())


@pytest.mark.parametrize("name", _commands())
def test_every_command_has_help_with_an_example(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main([name, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "example:" in out
    example = out.split("example:", 1)[1].split("\n\n", 1)[0].strip()
    assert example.startswith("sparktriage ") and f" {name}" in example, example


@pytest.mark.parametrize("name", _commands())
def test_readme_covers_every_command(name: str) -> None:
    readme = (REPO / "README.md").read_text()
    assert f"sparktriage {name}" in readme, f"README.md does not show `sparktriage {name}`"


def test_unknown_environment_variable_refuses_to_start() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sparktriage.cli", "broker", "--help"],
        capture_output=True, text=True, env={"SPARKTRIAGE_NOPE": "1", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0  # --help never reads settings
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from sparktriage.cli import main; sys.exit(main(['broker']))"],
        capture_output=True, text=True, env={"SPARKTRIAGE_NOPE": "1", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2
    assert "unknown variable SPARKTRIAGE_NOPE" in proc.stderr


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a LISTEN socket on ``port``, from /proc/net/tcp{,6}."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            addr, hexport = local.split(":")
            if state == "0A" and int(hexport, 16) == port:
                found.add(addr)
    return found


def test_embedded_broker_listens_on_loopback_only() -> None:
    port = free_port()
    with Broker(Settings(), port=port) as broker:
        assert broker.bootstrap == f"127.0.0.1:{port}"
        assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1, little-endian hex
    assert _listening_addresses(port) == set()
