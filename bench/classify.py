"""``classify`` throughput on a generated 1M-line log against ``grep -c -E 'ERROR|Exception'``.

The whole command path: read the file, assemble events, run the rule engine
and the root-cause choice, render. Both are timed in the same run on the same
file; best of three, since this machine is shared.

It also prints a floor no Python classifier can beat: reading and decoding
the file and one pass of the rule engine's Hyperscan database over it, with
nothing done about the matches (no events, no root cause).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from bench.extract_events import best_of
from classifiers.core import Classifier, load_classifier
from sparktriage.tools.classify import classify_paths, render
from sparktriage.tools.logfiles import read_log
from sparktriage.settings import Settings
from tests.loggen import generate_log


def main(n_lines: int = 1_000_000) -> None:
    text = generate_log(n_lines, error_fraction=0.01, seed=11)
    lines = text.count("\n")
    classifier = load_classifier(Settings())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "container_e01_1700000000000_0001_01_000002.log"
        path.write_text(text)
        grep = best_of(lambda: subprocess.run(["grep", "-c", "-E", "ERROR|Exception", str(path)],
                                              capture_output=True, check=False))
        run = best_of(lambda: render(classify_paths(classifier, [str(path)])))
        floor = _read_and_scan(classifier, path)
    print(f"classify on {lines:,} generated lines (1% error records), engine {classifier.engine.backend}:")
    print(f"  sparktriage classify   {lines / run:12,.0f} lines/s  ({run:.2f} s)")
    print(f"  grep -c -E             {lines / grep:12,.0f} lines/s  ({grep:.2f} s)")
    print(f"  ratio classify/grep    {grep / run:12.2f}   (no target: the issue's is the noisy log's, bench.noisy)")
    if floor is not None:
        print(f"  floor: read + one pass of the rules {lines / floor:12,.0f} lines/s "
              f"(ratio {grep / floor:.2f}, no event made)")


def _read_and_scan(classifier: Classifier, path: Path) -> float | None:
    """Best time to read and decode ``path`` and scan it once with the engine's rules
    (what ``classify`` must do at the least); None without Hyperscan."""
    if classifier.engine.backend != "hyperscan":
        return None
    return best_of(lambda: classifier.engine.fires(read_log(path)))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
