"""``sparktriage evaluate``: how well the core does on a labelled JSON-lines set.

The set's lines are ``{"id", "text", "label"}`` (optionally
``also_acceptable``: other categories a reviewer would accept). Metrics are
strict (the label only); accuracy is also given counting an acceptable
alternative as right, and the report says which is which.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from classifiers.core import Classifier
from classifiers.model import expected_calibration_error
from sparktriage.tools.classify import classify_text
from sparktriage.errors import BadInput
from sparktriage.tools.logfiles import read_log
from sparktriage.records import AppInfo, ExceptionEvent
from sparktriage.taxonomy import UNKNOWN, is_known


@dataclass
class Evaluation:
    ids: list[str] = field(default_factory=list)
    truth: list[str] = field(default_factory=list)
    predicted: list[str] = field(default_factory=list)
    acceptable: list[set[str]] = field(default_factory=list)
    confidence: list[float] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def add(self, item_id: str, truth: str, diagnosis: Any, acceptable: set[str] | None = None) -> None:
        self.ids.append(item_id)
        self.truth.append(truth.split("/")[0])
        self.predicted.append(diagnosis.category.split("/")[0])
        self.acceptable.append(acceptable or set())
        self.confidence.append(diagnosis.confidence)
        self.sources.append(diagnosis.source)

    @property
    def labels(self) -> list[str]:
        return sorted(set(self.truth) | set(self.predicted))

    def accuracy(self) -> float:
        return float(accuracy_score(self.truth, self.predicted)) if self.truth else 0.0

    def lenient_accuracy(self) -> float:
        right = sum(p == t or p in a for t, p, a in zip(self.truth, self.predicted, self.acceptable))
        return right / len(self.truth) if self.truth else 0.0

    def macro_f1(self) -> float:
        return float(f1_score(self.truth, self.predicted, average="macro", zero_division=0))

    def micro_f1(self) -> float:
        return float(f1_score(self.truth, self.predicted, average="micro", zero_division=0))

    def answered(self) -> list[int]:
        """Indexes of the items given a category (not ``unknown``): the ones that claim a confidence."""
        return [i for i, p in enumerate(self.predicted) if p != UNKNOWN]

    def calibration_error(self) -> float:
        """ECE of the answers: an ``unknown`` answer claims no probability, so it is left out."""
        idx = self.answered()
        return expected_calibration_error([self.confidence[i] for i in idx],
                                          [self.truth[i] == self.predicted[i] for i in idx])

    def unknown_answered_for_known(self) -> float:
        """Share of the items with a known label that were answered ``unknown``."""
        known = [p for t, p in zip(self.truth, self.predicted) if t != UNKNOWN]
        return known.count(UNKNOWN) / len(known) if known else 0.0

    def abstained_on_unknown(self) -> float | None:
        """Share of the items labelled ``unknown`` that were answered ``unknown`` (None: there are none)."""
        unknown = [p for t, p in zip(self.truth, self.predicted) if t == UNKNOWN]
        return unknown.count(UNKNOWN) / len(unknown) if unknown else None

    def coverage_curve(self, cuts: tuple[float, ...] = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9)) -> list[tuple[float, float, float]]:
        """(confidence cut, coverage, accuracy of the answers at or above it) over the items with a known label.

        An answer under the cut counts as ``unknown``: what a consumer that
        trusts only confident diagnoses would see."""
        rows = []
        known = [i for i, t in enumerate(self.truth) if t != UNKNOWN]
        for cut in cuts:
            kept = [i for i in known if self.predicted[i] != UNKNOWN and self.confidence[i] >= cut]
            right = sum(self.truth[i] == self.predicted[i] for i in kept)
            rows.append((cut, len(kept) / len(known) if known else 0.0, right / len(kept) if kept else 0.0))
        return rows

    def correct(self) -> list[bool]:
        return [t == p for t, p in zip(self.truth, self.predicted)]

    def unknown_share(self) -> float:
        return self.predicted.count(UNKNOWN) / len(self.predicted) if self.predicted else 0.0


def read_labelled(lines: Iterable[str], source: str) -> list[dict]:
    """Parse the set, refusing lines without text or with a label outside the taxonomy."""
    items = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise BadInput("malformed_json", f"{source}:{number}: {exc}") from exc
        if not isinstance(item, dict) or not isinstance(item.get("text"), str) or "label" not in item:
            raise BadInput("missing_field", f"{source}:{number}: needs `text` and `label`")
        if not is_known(str(item["label"])):
            raise BadInput("unknown_category", f"{source}:{number}: label {item['label']!r} is not a taxonomy id")
        items.append(item)
    return items


def load_labelled(path: str | Path, text: str | None = None) -> list[dict]:
    """The labelled set of a file (``text``: its text, read already), checked whole before anything loads:
    BadInput when it is binary, malformed or holds no item."""
    items = read_labelled((read_log(Path(path)) if text is None else text).splitlines(), str(path))
    if not items:
        raise BadInput("empty", f"{path} holds no labelled lines: nothing to measure ({{id, text, label}} a line)")
    return items


def evaluate(classifier: Classifier, data: str | Path | list[dict]) -> Evaluation:
    """The classifier on a labelled set (a file, or the items :func:`load_labelled` read)."""
    items = data if isinstance(data, list) else load_labelled(data)
    result = Evaluation()
    for n, item in enumerate(items):
        item_id = str(item.get("id", n))
        diagnosis = classify_text(classifier, item["text"], app_id=item_id)
        result.add(item_id, str(item["label"]), diagnosis, set(item.get("also_acceptable") or ()))
    return result


def report(result: Evaluation, *, misclassified: bool = True) -> str:
    """Per-category precision/recall/F1, accuracy, macro-F1, unknown share, confusion matrix, and the
    ids of the items answered wrongly (left out with ``misclassified=False``: a set that only
    measures should not hand out which of its items to look at)."""
    labels = result.labels
    p, r, f, s = precision_recall_fscore_support(result.truth, result.predicted, labels=labels, zero_division=0)
    width = max(len(x) for x in labels + ["category"])
    out = [f"{'category':<{width}}  precision  recall     f1  support"]
    for i, label in enumerate(labels):
        out.append(f"{label:<{width}}  {p[i]:9.2f}  {r[i]:6.2f}  {f[i]:5.2f}  {int(s[i]):7d}")
    abstained = result.abstained_on_unknown()
    out += [
        "",
        f"items:            {len(result.truth)}",
        f"accuracy:         {result.accuracy():.3f}  (strict: the label only)",
        f"accuracy (lenient): {result.lenient_accuracy():.3f}  (an also_acceptable category counts as right)",
        f"micro-F1:         {result.micro_f1():.3f}",
        f"macro-F1:         {result.macro_f1():.3f}",
        f"answered unknown: {result.unknown_share():.1%}  (coverage {1 - result.unknown_share():.1%}); "
        f"{result.unknown_answered_for_known():.1%} of the items with a known label",
        "abstained on items labelled unknown: " + ("-" if abstained is None else f"{abstained:.1%}"),
        f"decided by:       " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(result.sources).items())),
        f"expected calibration error: {result.calibration_error():.3f}  (of the answers; unknown claims no probability)",
        "",
        "accuracy against coverage (items with a known label; answers under the confidence cut count as unknown):",
        "  confidence >=  coverage  accuracy",
    ]
    out += [f"  {cut:13.2f}  {cov:8.3f}  {acc:8.3f}" for cut, cov, acc in result.coverage_curve()]
    out += [
        "",
        "confusion matrix (rows = label, columns = predicted; ids abbreviated):",
    ]
    matrix = confusion_matrix(result.truth, result.predicted, labels=labels)
    short = [label[:6] for label in labels]
    out.append(" " * (width + 2) + " ".join(f"{x:>6}" for x in short))
    for label, row in zip(labels, matrix):
        out.append(f"{label:<{width}}  " + " ".join(f"{v:>6}" if v else f"{'.':>6}" for v in row))
    wrong = [(i, t, q) for i, t, q in zip(result.ids, result.truth, result.predicted) if t != q]
    if wrong and misclassified:
        out += ["", "misclassified:"] + [f"  {i}: {t} -> {q}" for i, t, q in wrong]
    return "\n".join(out)


def side_by_side(results: dict[str, Evaluation]) -> str:
    """Per-category precision / recall of several runs on one set (rules alone, the model alone,
    combined), then their overall figures, one column per run: what each part contributes."""
    names = list(results)
    labels = sorted(set().union(*(r.labels for r in results.values())))
    support = Counter(next(iter(results.values())).truth) if results else Counter()
    per: dict[str, dict[str, tuple[float, float]]] = {}
    for name, r in results.items():
        p, rec, _, _ = precision_recall_fscore_support(r.truth, r.predicted, labels=labels, zero_division=0)
        per[name] = {label: (p[i], rec[i]) for i, label in enumerate(labels)}
    width = max(len(x) for x in labels + ["unknown on known labels"])
    out = [f"{'precision / recall':<{width}}  " + "  ".join(f"{n:>11}" for n in names) + "  support"]
    for label in labels:
        cells = "  ".join(f"{per[n][label][0]:5.2f}/{per[n][label][1]:.2f}" for n in names)
        out.append(f"{label:<{width}}  {cells}  {support[label]:7d}")
    overall = [
        ("accuracy", lambda r: f"{r.accuracy():.3f}"),
        ("micro-F1", lambda r: f"{r.micro_f1():.3f}"),
        ("macro-F1", lambda r: f"{r.macro_f1():.3f}"),
        ("unknown on known labels", lambda r: f"{r.unknown_answered_for_known():.1%}"),
        ("abstained on unknown", lambda r: "-" if r.abstained_on_unknown() is None else f"{r.abstained_on_unknown():.1%}"),
        ("ECE of the answers", lambda r: f"{r.calibration_error():.3f}"),
    ]
    out.append("")
    out += [f"{what:<{width}}  " + "  ".join(f"{figure(results[n]):>11}" for n in names) for what, figure in overall]
    return "\n".join(out)


def corrections(engine: Any) -> list[tuple[AppInfo, list[ExceptionEvent], str]]:
    """Every human correction (the newest per application attempt) with the events it judged.

    ``evaluate --from-store`` measures against them; training uses them as labelled data.
    """
    import sqlalchemy as sa

    from sparktriage.store import schema as t
    from sparktriage.store.sql import event_from_row

    lab, e = t.labels, t.exception_events
    newest = sa.select(sa.func.max(lab.c.id)).group_by(lab.c.app_id, lab.c.attempt)
    out = []
    with engine.connect() as conn:
        for label in conn.execute(sa.select(lab).where(lab.c.id.in_(newest)).order_by(lab.c.id)).mappings():
            rows = conn.execute(sa.select(e).where(e.c.app_id == label["app_id"], e.c.attempt == label["attempt"])
                                .order_by(e.c.seq)).mappings()
            app = AppInfo(app_id=label["app_id"], attempt=label["attempt"])
            out.append((app, [event_from_row(r) for r in rows], label["category"]))
    return out


def evaluate_corrections(classifier: Classifier, engine: Any) -> Evaluation:
    """The current rules and model against every human correction in the store."""
    result = Evaluation()
    for app, events, label in corrections(engine):
        result.add(f"{app.app_id}#{app.attempt}", label, classifier.diagnose(events, app))
    if not result.truth:
        raise BadInput("empty", "the store holds no human correction yet: record some with `sparktriage label`")
    return result
