"""Diagnosis quality on the labelled real sets: ``dev_real`` and the real corpus's dev split.

Rules alone, the model alone and both (as the worker runs them), side by
side per category and overall (``sparktriage evaluate --mode all`` prints the
same); then the full ``evaluate`` report of the combined classifier per set, without the ids of
the items it got wrong: these sets measure, and a list of their misses steers whoever writes
the next rule towards them (``sparktriage evaluate`` on a set of one's own still prints them).
"""

from __future__ import annotations

from pathlib import Path

from classifiers.core import load_classifier, only
from sparktriage.history.evaluate import evaluate, report, side_by_side
from sparktriage.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SETS = {
    "dev_real": ROOT.parent / "shared" / "data" / "dev_real.jsonl",
    "real dev split": ROOT / "classifiers" / "corpus" / "real" / "dev.jsonl",
}


def main() -> None:
    classifier = load_classifier(Settings())
    for name, path in SETS.items():
        if not path.is_file():
            print(f"{name}: {path} not found, skipped")
            continue
        results = {mode: evaluate(only(classifier, mode), path) for mode in ("rules", "model", "combined")}
        print(f"\n--- {name} ({path}) ---")
        print(side_by_side(results))
        print(f"\ncombined, in full:\n{report(results['combined'], misclassified=False)}")


if __name__ == "__main__":
    main()
