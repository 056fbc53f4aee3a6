"""Diagnosis quality on the labelled real sets: ``dev_real`` and the real corpus's dev split.

Rules alone, the model alone and both (as the worker runs them), side by
side; then the full ``evaluate`` report of the combined classifier per set.
"""

from __future__ import annotations

from pathlib import Path

from classifiers.core import load_classifier, only
from sparktriage.history.evaluate import evaluate, report
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
        print(f"{'mode':<9} accuracy  micro-F1  macro-F1  unknown(known)  abstain(unknown)  ECE")
        for mode, r in results.items():
            abstained = r.abstained_on_unknown()
            print(f"{mode:<9} {r.accuracy():8.3f}  {r.micro_f1():8.3f}  {r.macro_f1():8.3f}  "
                  f"{r.unknown_answered_for_known():14.1%}  {'-' if abstained is None else f'{abstained:.1%}':>16}"
                  f"  {r.calibration_error():.3f}")
        print(f"\ncombined, in full:\n{report(results['combined'])}")


if __name__ == "__main__":
    main()
