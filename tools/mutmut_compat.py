"""A pytest plugin for ``make mutate`` (loaded only there, by ``pytest_add_cli_args`` in pyproject.toml).

Two things mutmut 3.7 needs here:

- It reads ``item._nodeid``, which pytest 9 dropped. mutmut 3.8 reads
  ``item.nodeid`` but requires click>=8.4.2, which faust-streaming
  (click<8.4) refuses; drop the property below once a mutmut that fits
  beside faust reads ``nodeid``.
- The compiled rule packs are cached on disk under ``~/.cache/sparktriage``
  (``rules.cache``), keyed by the source of ``rules/``. Under mutmut that
  source holds every mutant at once (the one under test is picked at run
  time), so one key would serve every mutant: a mutant of the linting or
  compiling code would read what another run compiled (and could leave its
  own result for the next). Each test session therefore gets its own home:
  a fresh one for a mutant of the cached code (``rules.*``, and the
  ``load_classifier`` and ``_lint_and_compile`` that fill the cache), and for
  every other mutant one shared by the whole mutation run, whose entries are
  compiled from unmutated code.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from _pytest.nodes import Node

if not hasattr(Node, "_nodeid"):
    Node._nodeid = property(lambda self: self.nodeid)  # type: ignore[attr-defined]

#: Mutants of the code whose result the rule cache keeps (mutmut's names start with the module).
CACHED_CODE = ("rules.", "classifiers.core.x_load_classifier", "classifiers.core.x__lint_and_compile")
_fresh: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    if mutant.startswith(CACHED_CODE):
        home = tempfile.mkdtemp(prefix="mutmut-home-")
        _fresh.append(home)
    else:
        home = str(Path.cwd() / ".mutmut-home")  # mutmut runs the tests inside mutants/
    os.environ["HOME"] = home


def pytest_unconfigure(config: pytest.Config) -> None:
    while _fresh:
        shutil.rmtree(_fresh.pop(), ignore_errors=True)
