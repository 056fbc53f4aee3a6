"""Retraining from human corrections, safely: before and after on the real sets, and the gate.

``sparktriage train --from-store`` adds the store's corrections to the
training data. A correction can be wrong, or teach the model one team's habit
at everyone's expense, so the new model is measured, combined with the rules
as the worker runs it, against the model in use on the labelled real sets
(the real corpus's dev split and ``dev_real``) and is not written when it
does worse on either, unless forced.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from classifiers.core import NO_CAUSE, Classifier, TextModel, model_candidates
from sparktriage.history.evaluate import Evaluation, evaluate
from sparktriage.records import AppInfo, ExceptionEvent
from sparktriage.taxonomy import UNKNOWN, top_level

ROOT = Path(__file__).resolve().parents[2]
REAL_SETS = {
    "real dev split": ROOT / "classifiers" / "corpus" / "real" / "dev.jsonl",
    "dev_real": ROOT.parent / "shared" / "data" / "dev_real.jsonl",
}


def correction_texts(stored: list[tuple[AppInfo, list[ExceptionEvent], str]]) -> list[tuple[str, str]]:
    """(text, class) to train on from the store's corrections: the texts the model reads
    for that application (``model_candidates``), with the label as the model's classes
    are (top-level ids; ``unknown``, "no cause here", is its no-cause class)."""
    out = []
    for _, events, label in stored:
        target = NO_CAUSE if label == UNKNOWN else top_level(label)
        out += [(event.text, target) for event in model_candidates(events)]
    return out


@dataclass(frozen=True)
class Comparison:
    """One labelled set, measured with the model in use and with the new one."""

    name: str
    before: Evaluation
    after: Evaluation

    @property
    def worse(self) -> bool:
        return self.after.accuracy() < self.before.accuracy() or self.after.macro_f1() < self.before.macro_f1()

    def line(self) -> str:
        b, a = self.before, self.after
        return (f"{self.name}: accuracy {b.accuracy():.3f} -> {a.accuracy():.3f}, "
                f"macro-F1 {b.macro_f1():.3f} -> {a.macro_f1():.3f}"
                + ("  (worse)" if self.worse else ""))


def compare(current: Classifier, model: TextModel, sets: dict[str, Path] = REAL_SETS) -> list[Comparison]:
    """Each available set measured with ``current`` and with the same rules and ``model``."""
    candidate = Classifier(engine=current.engine, model=model)
    return [Comparison(name, evaluate(current, path), evaluate(candidate, path))
            for name, path in sets.items() if path.is_file()]


def verdict(comparisons: list[Comparison], force: bool) -> tuple[bool, list[str]]:
    """Whether to write the new model, and the lines that say why."""
    lines = [c.line() for c in comparisons] or ["no labelled real set found: nothing to compare against"]
    worse = [c.name for c in comparisons if c.worse]
    if not worse:
        return True, lines
    if force:
        return True, lines + [f"worse on {', '.join(worse)}; written anyway (--force)"]
    return False, lines + [f"not written: worse on {', '.join(worse)} than the model in use; "
                           "check the corrections (sparktriage evaluate --from-store) or pass --force"]
