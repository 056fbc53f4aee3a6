"""Benchmark of ``logtext.events.extract_events`` on a generated 1M-line log.

``extract_events`` is on the hot path of ``classify``; this prints its lines/s
with Hyperscan and with the ``re`` fallback, the full-assembly reference, and
``grep -c -E 'ERROR|Exception'`` over the same file as the yardstick.
Run: ``.venv/bin/python -m bench.extract_events [N_LINES]``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from logtext import events
from logtext.assembly import assemble
from tests.loggen import generate_log


def best_of(fn: Callable[[], object], runs: int = 3) -> float:
    """Fastest wall time of ``runs`` calls: the least disturbed by the other
    engineers' processes on this shared machine."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(n_lines: int = 1_000_000) -> None:
    text = generate_log(n_lines, error_fraction=0.01)
    lines = text.count("\n")
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as f:
        f.write(text)
    path = Path(f.name)
    try:
        grep = best_of(lambda: subprocess.run(["grep", "-c", "-E", "ERROR|Exception", str(path)],
                                              capture_output=True, check=False))
    finally:
        path.unlink()
    fast = best_of(lambda: events.extract_events(text, app_id="bench"))
    fallback = best_of(lambda: list(events.interesting_records(text, use_hyperscan=False)), runs=1)
    full = best_of(lambda: assemble(text), runs=1)
    n_events = len(events.extract_events(text, app_id="bench"))
    print(f"extract_events on {lines} generated lines ({len(text) / 1e6:.0f} MB, {n_events} events):")
    print(f"  fast path, hyperscan   {lines / fast:12,.0f} lines/s")
    print(f"  candidates, re scan    {lines / fallback:12,.0f} lines/s (records only)")
    print(f"  full assembly (ref.)   {lines / full:12,.0f} lines/s (records only)")
    print(f"  grep -c -E             {lines / grep:12,.0f} lines/s  -> ratio {grep / fast:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
