"""``relabel`` throughput on a seeded store of 100 k applications in SQLite (target >= 2,000 apps/s).

The seeded store is made once and cached (bench/seeded.py); the measurement
works on a fresh copy of it. Two passes: the first re-diagnoses history after
the seed's rule-pack upgrade (some diagnoses change and are written), the
second finds nothing to change (the steady state of a nightly relabel).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.seeded import seeded
from classifiers.core import load_classifier
from sparktriage.history.relabel import relabel
from sparktriage.settings import Settings
from sparktriage.store import open_store


def main(apps: int = 100_000) -> None:
    source = seeded(apps)
    classifier = load_classifier(Settings())
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "r.db"
        shutil.copy(source, copy)
        store = open_store(f"sqlite:///{copy}")
        print(f"relabel on SQLite, {store.counts()['applications']:,} applications:")
        for name in ("after the rule upgrade", "nothing left to change"):
            t0 = time.perf_counter()
            result = relabel(store, classifier)
            took = time.perf_counter() - t0
            print(f"  {name:24s} {result.scanned / took:8,.0f} apps/s  ({result.scanned:,} scanned, "
                  f"{result.changed:,} changed, {took:.1f} s; target >= 2,000 apps/s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
