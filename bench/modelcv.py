"""Grouped cross-validation of the model's training recipe on the real train split, read as the worker reads.

Why: the threshold and the calibration are chosen on the real dev split; choosing the recipe there as
well would fit it to those texts. Here each fold holds out whole threads (``source_url``) of
``classifiers/corpus/real/train.jsonl``; the model is trained as ``sparktriage train`` trains it (the
generated corpus, the other threads weighing REAL_WEIGHT each) less the rule packs' examples that share a
line with a held-out excerpt (rules were written from this split), and reads each held-out excerpt's
events as the worker does (``model_candidates``): its answer is its most confident category that is not
no-cause. The rules are left out: they were written from these threads and leave only a handful of them.

Printed, per abstention level: at the lowest threshold at which the model stays silent on that share
of the excerpts labelled ``unknown``, how many of the others it names rightly and wrongly. The real dev
split asks for the strict end (the rules already answer some of its unknown texts).

``python -m bench.modelcv [--calibration temperature|sigmoid|none] [--real-weight N] [--set PARAM=VALUE ...]
[--real-texts excerpt|events|both] [--folds-seed N]``:
``sigmoid`` is textcat@4's (per class, folds not grouped), ``none`` the bare regression; ``--real-weight`` how
many generated texts each real one weighs (default ``REAL_WEIGHT``, the recipe's); ``--set`` one of the
pipeline's parameters as sklearn names it (``clf__estimator__C=4``, ``tfidf__chars__ngram_range=[2,5]``; the
value read as JSON, a list as a tuple, else as a string): a recipe measured before anyone edits
``classifiers.model._pipeline``. Minutes: five trainings.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from classifiers.core import load_classifier, model_candidates
from classifiers.corpus.generate import NONE, corpus
from classifiers.masking import mask
from classifiers.model import MAX_CHARS, _pipeline
from rules.loader import load_packs
from sparktriage.history.train import REAL, REAL_WEIGHT, SEED, PER_ENTRY
from sparktriage.settings import Settings
from sparktriage.taxonomy import UNKNOWN
from sparktriage.tools.classify import events_of_text

LEVELS = (0.8, 0.9, 0.95, 0.97)
FOLDS = 5
LONG = 30  # characters: a shorter line is too common to tie a rule example to a held-out excerpt


def _lines(text: str) -> set[str]:
    return {line.strip() for line in mask(text).split("\n") if len(line.strip()) >= LONG}


def parse_setting(text: str) -> tuple[str, object]:
    """``PARAM=VALUE`` as (name, value): VALUE as JSON (a list as a tuple), or as it is when it is no JSON."""
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not PARAM=VALUE")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return name, tuple(value) if isinstance(value, list) else value


def _fit(items: list[tuple[str, str, str]], weights: list[float], calibration: str,
         overrides: dict[str, object]):
    pipeline = _pipeline(SEED, [g for _, _, g in items])
    # the calibrated estimator's own parameters are named ``clf__estimator__...`` both ways
    pipeline.set_params(**overrides)
    if calibration == "sigmoid":
        pipeline.set_params(clf__method="sigmoid", clf__cv=3)
    elif calibration == "none":
        pipeline.set_params(clf=pipeline.named_steps["clf"].estimator)
    sample_weight = {"clf__sample_weight": np.asarray(weights)}
    return pipeline.fit([mask(t[:MAX_CHARS]) for t, _, _ in items], [label for _, label, _ in items], **sample_weight)


def _answer(pipeline, texts: list[str]) -> tuple[str | None, float]:
    """The most confident category that is not no-cause over the texts (None: none)."""
    best: tuple[str | None, float] = (None, 0.0)
    if texts:
        for row in pipeline.predict_proba([mask(t[:MAX_CHARS]) for t in texts]):
            k = int(row.argmax())
            if pipeline.classes_[k] != NONE and row[k] > best[1]:
                best = (str(pipeline.classes_[k]), float(row[k]))
    return best


def at_level(rows: list[tuple[str, str | None, float]], level: float) -> tuple[float, int, int]:
    """(threshold, right, wrong) on the known-label rows where the model is silent on ``level`` of the unknown ones."""
    unknown = sorted((p for label, c, p in rows if label == NONE and c is not None), reverse=True)
    allowed = int(np.floor(sum(label == NONE for label, _, _ in rows) * (1 - level) + 1e-9))
    cut = unknown[allowed] + 1e-9 if len(unknown) > allowed else 0.0
    known = [(label, c) for label, c, p in rows if label != NONE and p >= cut and c is not None]
    return cut, sum(c == label for label, c in known), sum(c != label for label, c in known)


def main(calibration: str = "temperature", real_weight: float = REAL_WEIGHT,
         overrides: dict[str, object] | None = None, real_texts: str = "excerpt", folds_seed: int | None = None) -> None:
    from sklearn.model_selection import GroupKFold

    settings = Settings()
    rules = load_packs(settings.rules_dir).rules
    generated = list(corpus(rules, per_entry=PER_ENTRY, seed=SEED))
    real = [json.loads(line) for line in (REAL / "train.jsonl").read_text().splitlines() if line.strip()]
    labels = [NONE if r["label"] == UNKNOWN else r["label"].split("/")[0] for r in real]
    signals = load_classifier(Settings(model_mode="off")).signals  # what makes a record an event, as the worker reads
    candidates = [[e.text for e in model_candidates(events_of_text(r["text"], f"cv-{n}", signals))]
                  for n, r in enumerate(real)]
    answers: list[tuple[str | None, float]] = [(None, 0.0)] * len(real)
    split = GroupKFold(n_splits=FOLDS, shuffle=folds_seed is not None, random_state=folds_seed)
    for kept, held in split.split(real, groups=[r["source_url"] for r in real]):
        seen = set().union(*(_lines(real[i]["text"]) for i in held))
        items = [g for g in generated if not (g[2].startswith("rule:") and _lines(g[0]) & seen)]
        reads = {"excerpt": lambda i: [real[i]["text"]], "events": lambda i: candidates[i],
                 "both": lambda i: [real[i]["text"], *candidates[i]]}[real_texts]
        real_items = [(text, labels[i], f"real:{real[i]['source_url']}") for i in kept for text in reads(i)]
        weights = [1.0] * len(items) + [float(real_weight)] * len(real_items)
        items += real_items
        pipeline = _fit(items, weights, calibration, overrides or {})
        for i in held:
            answers[i] = _answer(pipeline, candidates[i])
    rows = [(label, c, p) for label, (c, p) in zip(labels, answers)]
    known, unknown = sum(label != NONE for label in labels), labels.count(NONE)
    changed = "".join(f", {k}={v!r}" for k, v in (overrides or {}).items())
    print(f"calibration {calibration}, real texts ({real_texts}) weighing {real_weight:g}{changed}: {len(real)} train excerpts "
          f"({known} known, {unknown} unknown), {FOLDS} folds grouped by thread"
          + (f", threads shuffled with seed {folds_seed}" if folds_seed is not None else ""))
    print("silent on unknown  threshold  known named right  wrong")
    for level in LEVELS:
        cut, right, wrong = at_level(rows, level)
        print(f"{level:>15.0%}  {cut:>9.3f}  {right:>11}/{known}  {wrong:>5}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calibration", choices=("temperature", "sigmoid", "none"), default="temperature")
    parser.add_argument("--real-weight", type=float, default=REAL_WEIGHT,
                        help=f"how many generated texts each real train text weighs (default {REAL_WEIGHT})")
    parser.add_argument("--set", type=parse_setting, action="append", default=[], metavar="PARAM=VALUE",
                        help="a pipeline parameter as sklearn names it, e.g. clf__estimator__C=4 (repeatable)")
    parser.add_argument("--real-texts", choices=("excerpt", "events", "both"), default="excerpt",
                        help="what of a real train text is learnt: the excerpt as pasted (the recipe's), the events "
                             "the worker reads in it, or both")
    parser.add_argument("--folds-seed", type=int, metavar="N",
                        help="threads shuffled into the folds with this seed (default: GroupKFold's balanced folds): "
                             "another split shows how far a recipe's figures move by chance")
    args = parser.parse_args()
    main(args.calibration, args.real_weight, dict(args.set), args.real_texts, args.folds_seed)
