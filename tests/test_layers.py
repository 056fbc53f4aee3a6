"""Imports point down: the import-linter contracts of pyproject.toml (``[tool.importlinter]``) hold.

``layers``: from the roof (``sparktriage.cli``, its ``commands``, the benchmarks) down through history and
the dashboard, the local tools and the watchers, the stream app, delivery, the store, the pure core and the
rules, to the ground modules of ``sparktriage/``. ``core-no-io``: nothing the core imports, however
indirectly, reaches a stream, a store, a broker, a database or an HTTP client. Each contract is also broken
on purpose, in a copy of the code, to show that it catches what it is there for.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
#: the root packages of [tool.importlinter], copied (their .py files) when a contract is broken on purpose
PACKAGES = ("sparktriage", "ingest", "logtext", "classifiers", "rules", "models", "dashboard", "bench")
LAYERS = "imports point down, from the roof to the ground"
CORE = "the core (classifiers, the rules it runs) imports no I/O: no stream, store, broker, database, HTTP client"
LINT = "import sys\nfrom importlinter.cli import lint_imports\nsys.exit(lint_imports(no_cache=True, no_logo=True))"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the code under ``root`` (its packages come first on the path: the folder it runs in)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-c", LINT], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120)


def test_the_code_keeps_every_import_contract() -> None:
    done = lint_imports(REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_every_ground_module_is_in_the_ground_layer() -> None:
    """A module added to sparktriage/ beside the others is ground, and the contract must know it to check it."""
    contracts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(contract for contract in contracts if contract["id"] == "layers")["layers"]
    ground = {name.strip() for name in layers[-1].split(":")}
    beside = {f"sparktriage.{path.stem}" for path in (REPO / "sparktriage").glob("*.py")} - {
        "sparktriage.__init__", "sparktriage.cli"}
    assert ground == beside


def _python_only(folder: str, names: list[str]) -> set[str]:
    return {name for name in names if not name.endswith(".py") and not (Path(folder) / name).is_dir()}


@pytest.mark.parametrize(("module", "line", "broken"), [
    # the ground reaching up to the roof
    ("sparktriage/records.py", "from sparktriage.commands import COMMANDS", LAYERS),
    # the store reaching up to the stream app
    ("sparktriage/store/sql.py", "from ingest.worker import run", LAYERS),
    # the core reaching up into the stream app
    ("classifiers/core.py", "from ingest.envelope import parse_envelope", LAYERS),
    # the log text reaching up into the stream app that reads it
    ("logtext/runs.py", "from ingest.batch import feed_batch", LAYERS),
    # the core opening a database itself
    ("classifiers/evidence.py", "import sqlalchemy", CORE),
    # I/O behind the log-text modules the core imports: followed through them
    ("logtext/signals.py", "import requests", CORE),
])
def test_an_import_against_the_layers_breaks_a_contract(tmp_path: Path, module: str, line: str, broken: str) -> None:
    for package in PACKAGES:
        shutil.copytree(REPO / package, tmp_path / package, ignore=_python_only)
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    assert lint_imports(tmp_path).returncode == 0, "the copy keeps the contracts before the change"
    with (tmp_path / module).open("a") as source:
        source.write(f"\n{line}  # noqa\n")
    done = lint_imports(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    report = " ".join(done.stdout.split())  # the report wraps long contract names
    assert f"{broken} BROKEN" in report and "1 broken" in report, report
    importer = module.removesuffix(".py").replace("/", ".")
    assert importer in report, f"the report names {importer}: {report}"
