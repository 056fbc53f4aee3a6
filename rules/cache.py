"""Rule packs linted and compiled once: an on-disk cache keyed by everything that could change the result.

Linting every pack and compiling the Hyperscan database took seconds at every
start (about 4 s linting and 5 s compiling on this machine, more under load).
Both depend only on the packs' text, the code that parses, lints and
compiles them, and the library versions, so their result is kept under a key
derived from exactly those: the built-in and user packs' names and content,
the source of ``rules/`` and ``sparktriage/taxonomy.py``, the Python,
Hyperscan and RE2 versions, and the backend. A changed or added pack, or a
new library, is another key: linted and compiled again. Only packs that lint
clean are ever stored, so a broken pack is refused at every start.

An entry is two files, written atomically: ``<key>.hsdb`` (the serialized
database) and then ``<key>.json`` (the rules, their required literals, and
the database's SHA-256), which is what makes the entry exist. An entry that
does not read back whole is ignored and rebuilt; a cache directory that
cannot be written costs only the time to lint and compile. Every edited pack
or upgraded library makes a new key, so writing an entry removes all but the
``KEEP`` most recently written (about half a megabyte each): the folder does
not grow with every change ever made. The folder also keeps the compiled
candidate databases of ``logtext.signals`` (``*.signals``, keyed by their own
expressions), as many.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from logtext.signals import SIGNALS_SUFFIX
from rules.engine import BACKENDS, RuleEngine
from rules.loader import Rule, builtin_pack_files, directory_pack_files
from sparktriage.files import write_atomically

log = logging.getLogger(__name__)

#: Bumped when the entry layout changes.
LAYOUT = 2
#: Entries kept when a new one is written (a few: packs switched back and forth, two installs side by side).
KEEP = 8
_CODE = [Path(__file__).with_name(n) for n in ("cache.py", "engine.py", "lint.py", "literals.py", "loader.py")]
_CODE.append(Path(__file__).parent.parent / "sparktriage" / "taxonomy.py")


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "sparktriage"


def _machine() -> str:
    """``platform.machine()``, from ``os.uname`` where there is one: importing ``platform`` cost about 10 ms
    of every start."""
    if hasattr(os, "uname"):
        return os.uname().machine
    import platform

    return platform.machine()


def _library_versions() -> str:
    versions = [f"python {sys.version}", _machine()]
    try:
        import hyperscan

        versions.append(f"hyperscan {getattr(hyperscan, '__version__', '?')}")
    except ImportError:
        versions.append("no hyperscan")
    try:
        import re2  # type: ignore[import-not-found]  # lint checks RE2 syntax when it is installed

        versions.append(f"re2 {getattr(re2, '__version__', 'present')}")
    except ImportError:
        versions.append("no re2")
    return "\n".join(versions)


def cache_key(rules_dir: str | Path | None, backend: str) -> str | None:
    """The key of these packs as linted and compiled here; None when the user directory is missing
    (that is a lint problem, never cached)."""
    if rules_dir and not Path(rules_dir).exists():
        return None
    sources = builtin_pack_files() + (directory_pack_files(rules_dir) if rules_dir else [])
    digest = hashlib.sha256(f"layout {LAYOUT}\nbackend {backend}\n{_library_versions()}\n".encode())
    for path in _CODE:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for name, text in sources:
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    return digest.hexdigest()[:32]


def store(folder: Path, key: str, engine: RuleEngine) -> None:
    """Keep a linted, compiled engine under ``key``; a failure to write is logged, never raised."""
    database = engine.serialized() or b""
    entry: dict[str, Any] = {
        "version": engine.version, "backend": engine.backend, "literals": engine.literals(),
        "runs": [runs for runs, _ in engine.required_runs()],
        "database_sha256": hashlib.sha256(database).hexdigest(),
        "rules": [dataclasses.asdict(rule) for rule in engine.rules],
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomically(folder / f"{key}.hsdb", database)
        write_atomically(folder / f"{key}.json", json.dumps(entry).encode())
    except OSError as exc:
        log.info("rule cache not written (%s): rules will be linted and compiled at every start", exc)
        return
    try:
        prune(folder, keep=KEEP)
    except OSError as exc:  # another process pruning the same folder at once: its next write tries again
        log.info("rule cache not pruned (%s)", exc)


def prune(folder: Path, keep: int) -> None:
    """Remove all but the ``keep`` newest entries (by the time their ``.json`` was written), and
    databases whose entry is gone. A file another process removed first is not an error when unlinked;
    one removed while the entries are sorted raises ``FileNotFoundError``, which ``store`` logs."""
    entries = sorted(folder.glob("*.json"), key=lambda path: path.stat().st_mtime_ns, reverse=True)
    for old in entries[keep:]:
        old.unlink(missing_ok=True)
    kept = {path.stem for path in entries[:keep]}
    for database in folder.glob("*.hsdb"):
        if database.stem not in kept and not database.with_suffix(".json").exists():
            database.unlink(missing_ok=True)
    signals = sorted(folder.glob(f"*{SIGNALS_SUFFIX}"), key=lambda path: path.stat().st_mtime_ns, reverse=True)
    for old in signals[keep:]:  # the candidate databases of ``logtext.signals``, kept here as many
        old.unlink(missing_ok=True)


def fetch(folder: Path, key: str) -> RuleEngine | None:
    """The engine stored under ``key``, or None when there is none or it does not read back whole."""
    try:
        entry = json.loads((folder / f"{key}.json").read_bytes())
        database = (folder / f"{key}.hsdb").read_bytes()
        if hashlib.sha256(database).hexdigest() != entry["database_sha256"] or entry["backend"] not in BACKENDS:
            return None
        rules = [Rule(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}) for raw in entry["rules"]]
        return RuleEngine(rules, entry["version"], entry["backend"],
                          literals=[(literal, bool(caseless)) for literal, caseless in entry["literals"]],
                          runs=[tuple(runs) for runs in entry["runs"]],
                          database=database or None)
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - any damaged entry is a cache miss, not a failure
        log.info("rule cache entry %s ignored (%s)", key, exc)
        return None
