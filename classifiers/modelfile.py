"""The model's file format: plain arrays in one ``.npz``, loaded in milliseconds, no pickle.

The trained pipeline (``classifiers.model``: two TF-IDF vectorizers side by
side, a logistic regression, and its calibration: temperature scaling since
textcat@6, sigmoid per class before; textcat@5 is textcat@4's file) is kept as what it is made of: each
vectorizer's terms in column order (one UTF-8 blob) and idf weights, the
regression's coefficients and intercepts, the calibration's inverse
temperature (or its ``a``/``b`` per class), and a JSON header naming the types
and their parameters. skops stored every vocabulary entry as its own object and took
about 10 s to load; this takes a few milliseconds.

The types are pinned when the model is trained: the header may only name the
types in :data:`TYPES`, vectorizer parameters outside :data:`VECTORIZER_PARAMS`
are refused, and NumPy reads the arrays with ``allow_pickle=False``, so a file
can hold numbers and text but never code. The rebuilt predictor repeats the
pipeline's own arithmetic step by step, so its probabilities are the same
floats (``tests/test_model.py`` and ``tests/test_features.py`` compare them on the evaluation sets).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.features import TfidfFeatures, expit, linear_scores, softmax, unsupported

FORMAT = "sparktriage.textcat/v1"
VECTORIZER = "sklearn.feature_extraction.text.TfidfVectorizer"
CLASSIFIER = "sklearn.linear_model.LogisticRegression"
#: The calibrations a model file may name, by CalibratedClassifierCV's ``method``.
CALIBRATIONS = {method: f"sklearn.calibration.CalibratedClassifierCV(method={method}, ensemble=False)"
                for method in ("sigmoid", "temperature")}
#: The only types a model file may name.
TYPES = frozenset({VECTORIZER, CLASSIFIER, *CALIBRATIONS.values()})
#: The vectorizer parameters kept (plain values); any other must be at its default to save.
VECTORIZER_PARAMS = ("analyzer", "binary", "lowercase", "ngram_range", "norm", "smooth_idf", "strip_accents",
                     "sublinear_tf", "token_pattern", "use_idf")


class ModelFileError(ValueError):
    """The file is not a model this code may load (foreign types, bad shape, unreadable)."""


@dataclass(frozen=True)
class LinearTextScorer:
    """TF-IDF features, linear scores, calibration: ``predict_proba`` of the trained pipeline."""

    features: tuple[TfidfFeatures, ...]  # one per feature block, in column order
    coef: np.ndarray  # (estimator classes, features)
    intercept: np.ndarray
    #: sigmoid: (estimator classes, 2), a, b of expit(-(a * score + b)); temperature: (1,), the inverse temperature
    calibration: np.ndarray
    class_index: np.ndarray  # column of each estimator class among classes_
    classes_: np.ndarray
    method: str = "sigmoid"

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        # The same operations, in the same order, as FeatureUnion, LogisticRegression.decision_function
        # and sklearn.calibration._CalibratedClassifier.predict_proba (``classifiers.features``): the same floats.
        scores = linear_scores(self.features, texts, self.coef, self.intercept)
        if self.method == "temperature":
            # _TemperatureScaling.predict: softmax(beta * logits). Its check for probabilities given as
            # logits (every value in [0, 1], rows summing to 1) never holds for a multinomial regression,
            # whose scores sum to 0 in every row (its coefficients and intercepts sum to 0 across classes).
            proba = softmax(self.calibration[0] * scores)
            proba[(1.0 < proba) & (proba <= 1.0 + 1e-5)] = 1.0
            return proba
        proba = np.zeros((len(texts), len(self.classes_)))
        for k, column in enumerate(self.class_index):
            proba[:, column] = expit(-(self.calibration[k, 0] * scores[:, k] + self.calibration[k, 1]))
        denominator = np.sum(proba, axis=1)[:, np.newaxis]
        uniform = np.full_like(proba, 1 / len(self.classes_))
        proba = np.divide(proba, denominator, out=uniform, where=denominator != 0)
        proba[(1.0 < proba) & (proba <= 1.0 + 1e-5)] = 1.0
        return proba


def _vectorizer_params(vectorizer: Any) -> dict[str, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    params, defaults = vectorizer.get_params(), TfidfVectorizer().get_params()
    changed = [k for k in params if k not in VECTORIZER_PARAMS and k not in ("max_df", "min_df", "max_features")
               and params[k] != defaults[k]]
    if changed:
        raise ModelFileError(f"vectorizer parameters this format does not keep: {changed}")
    kept = {k: list(params[k]) if isinstance(params[k], tuple) else params[k] for k in VECTORIZER_PARAMS}
    problems = unsupported(kept)
    if problems:
        raise ModelFileError(f"vectorizer parameters the predictor does not compute: {'; '.join(problems)}")
    return kept


def write(pipeline: Any, path: Path) -> None:
    """Write a fitted ``Pipeline([("tfidf", FeatureUnion([...])), ("clf", CalibratedClassifierCV)])``."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    union, calibrated = pipeline.named_steps["tfidf"], pipeline.named_steps["clf"]
    if (calibrated.method not in CALIBRATIONS or len(calibrated.calibrated_classifiers_) != 1
            or len(calibrated.classes_) < 3):
        raise ModelFileError("only one sigmoid- or temperature-calibrated classifier over 3+ classes is kept "
                             "by this format")
    (inner,) = calibrated.calibrated_classifiers_
    estimator = inner.estimator
    if not isinstance(estimator, LogisticRegression):
        raise ModelFileError(f"classifier {type(estimator).__name__} is not {CLASSIFIER}")
    # temperature scaling fits the regression on the classes' codes (0, 1, ...), sigmoid on their names
    named = calibrated.classes_[estimator.classes_] if calibrated.method == "temperature" else estimator.classes_
    header: dict[str, Any] = {"format": FORMAT, "classifier": CLASSIFIER, "calibration": CALIBRATIONS[calibrated.method],
                              "classes": [str(c) for c in calibrated.classes_],
                              "estimator_classes": [str(c) for c in named], "features": []}
    arrays: dict[str, np.ndarray] = {}
    for n, (name, vectorizer) in enumerate(union.transformer_list):
        if type(vectorizer) is not TfidfVectorizer or union.transformer_weights:
            raise ModelFileError(f"feature block {name} is not a plain {VECTORIZER}")
        terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
        if any("\n" in t for t in terms):
            raise ModelFileError(f"feature block {name} has a term with a newline")
        header["features"].append({"name": name, "type": VECTORIZER, "params": _vectorizer_params(vectorizer)})
        arrays[f"terms{n}"] = np.frombuffer("\n".join(terms).encode("utf-8"), dtype=np.uint8)
        arrays[f"idf{n}"] = np.asarray(vectorizer.idf_, dtype=np.float64)
    arrays["coef"] = np.ascontiguousarray(estimator.coef_, dtype=np.float64)
    arrays["intercept"] = np.asarray(estimator.intercept_, dtype=np.float64)
    arrays["calibration"] = (np.array([inner.calibrators[0].beta_], dtype=np.float64) if calibrated.method == "temperature"
                             else np.array([[c.a_, c.b_] for c in inner.calibrators], dtype=np.float64))
    arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)  # uncompressed: loading is a read, not a decompression


def read(path: Path) -> LinearTextScorer:
    """The scorer in ``path``; :class:`ModelFileError` for anything but the types of :data:`TYPES`."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        header = json.loads(bytes(arrays.pop("header")).decode("utf-8"))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise ModelFileError(f"{path}: not a readable model file ({exc})") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(f"{path}: format {header.get('format') if isinstance(header, dict) else None!r} "
                             f"is not {FORMAT}")
    named = [header.get("classifier"), header.get("calibration")] + [f.get("type") for f in header.get("features", [])]
    foreign = [t for t in named if t not in TYPES]
    if foreign:
        raise ModelFileError(f"{path}: refusing types {foreign}")
    try:
        return _rebuild(header, arrays)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ModelFileError(f"{path}: inconsistent model file ({exc})") from exc


def _rebuild(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> LinearTextScorer:
    features = []
    for n, feature in enumerate(header["features"]):
        params = feature["params"]
        unknown = sorted(set(params) - set(VECTORIZER_PARAMS))
        if unknown:
            raise ValueError(f"vectorizer parameters outside the pinned set: {unknown}")
        terms = bytes(arrays[f"terms{n}"]).decode("utf-8").split("\n")
        features.append(TfidfFeatures.of(terms, arrays[f"idf{n}"], params))
    classes = np.array(header["classes"])
    estimator_classes = header["estimator_classes"]
    coef, intercept, calibration = arrays["coef"], arrays["intercept"], arrays["calibration"]
    width = sum(len(f.terms) for f in features)
    method = next(m for m, name in CALIBRATIONS.items() if name == header["calibration"])
    if coef.shape != (len(estimator_classes), width) or intercept.shape != (len(estimator_classes),) \
            or calibration.shape != ((1,) if method == "temperature" else (len(estimator_classes), 2)):
        raise ValueError(f"shapes coef {coef.shape}, intercept {intercept.shape}, calibration {calibration.shape} "
                         f"do not fit {len(estimator_classes)} classes and {width} features")
    if list(classes) != sorted(classes):
        raise ValueError("the classes are not in LabelEncoder's (sorted) order")
    class_index = np.searchsorted(classes, estimator_classes)
    if list(classes[class_index]) != list(estimator_classes):
        raise ValueError("the classifier's classes are not among the model's")
    if method == "temperature" and list(estimator_classes) != list(classes):
        raise ValueError("temperature scaling needs the classifier to score every class, in order")
    return LinearTextScorer(tuple(features), coef, intercept, calibration, class_index, classes, method)
