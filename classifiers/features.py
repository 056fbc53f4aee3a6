"""TF-IDF features and linear scores as the trained pipeline computes them, with NumPy alone.

Why: importing scikit-learn (and SciPy, which it pulls in) costs about a second
of CPU, several times what the rest of a ``classify`` run on one log costs, and
predicting needs none of it: a fitted ``TfidfVectorizer`` is a vocabulary, idf
weights and a few settings, and the classifier is a matrix product. Each step
repeats sklearn's (1.9) and SciPy's own arithmetic in the same order, so the
floats that come out are the same bits (``tests/test_features.py`` compares
them with sklearn on every evaluation set):

- analysers: ``word`` (``token_pattern`` then word n-grams) and ``char_wb``
  (character n-grams inside whitespace-separated words, padded with a space),
  after an optional lower-casing, as ``sklearn.feature_extraction.text`` does;
- counts of in-vocabulary terms, columns ascending (``X.sort_indices()``);
- ``np.log`` and ``+ 1`` for sublinear tf, times idf, then each row divided by
  the square root of its squares summed one after another (the Cython loop of
  ``inplace_csr_row_normalize_l2``: not NumPy's pairwise sum);
- scores: a row's terms added one after another into a zero vector per class
  (SciPy's ``csr_matvecs``), then the intercept;
- the sigmoid of calibration with the C library's ``exp`` (``math.exp``, as
  SciPy's ``expit`` calls it; NumPy's vectorised ``exp`` rounds differently);
- or, for temperature scaling, sklearn's ``softmax`` of the scores times the inverse
  temperature: each row's largest value taken away, NumPy's ``exp``, divided by the row's sum.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: The analysers this module computes; a model file naming another is refused.
ANALYZERS = ("word", "char_wb")
#: ``TfidfVectorizer``'s defaults for the parameters a model file keeps (a file may leave them out).
DEFAULTS = {"analyzer": "word", "binary": False, "lowercase": True, "ngram_range": (1, 1), "norm": "l2",
            "smooth_idf": True, "strip_accents": None, "sublinear_tf": False, "token_pattern": r"(?u)\b\w\w+\b",
            "use_idf": True}
#: Parameters that must keep their default here (what this module does not compute).
FIXED = ("norm", "strip_accents", "use_idf")
_WHITE_SPACES = re.compile(r"\s\s+")  # sklearn's _VectorizerMixin._white_spaces


@dataclass(frozen=True)
class TfidfFeatures:
    """One fitted ``TfidfVectorizer``: its terms in column order, idf weights and settings."""

    terms: Sequence[str]
    idf: np.ndarray
    analyzer: str
    ngram_range: tuple[int, int]
    lowercase: bool
    token_pattern: str
    binary: bool
    sublinear_tf: bool
    vocabulary: dict[str, int] = field(init=False, repr=False)
    _tokens: re.Pattern[str] = field(init=False, repr=False)

    @classmethod
    def of(cls, terms: Sequence[str], idf: np.ndarray, params: dict[str, Any]) -> TfidfFeatures:
        """From a vectorizer's kept parameters; ValueError for what this module does not compute."""
        problems = unsupported(params)
        if problems:
            raise ValueError("; ".join(problems))
        p = {**DEFAULTS, **params}
        return cls(terms, idf, p["analyzer"], tuple(p["ngram_range"]), bool(p["lowercase"]), p["token_pattern"],
                   bool(p["binary"]), bool(p["sublinear_tf"]))

    def __post_init__(self) -> None:
        if self.idf.shape != (len(self.terms),):
            raise ValueError(f"{len(self.terms)} terms but idf of shape {self.idf.shape}")
        object.__setattr__(self, "vocabulary", {t: n for n, t in enumerate(self.terms)})
        if len(self.vocabulary) != len(self.terms):
            raise ValueError("a term appears twice")
        object.__setattr__(self, "_tokens", re.compile(self.token_pattern))

    def _analyse(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        low, high = self.ngram_range
        if self.analyzer == "word":
            tokens = self._tokens.findall(text)
            out = list(tokens) if low == 1 else []
            for n in range(max(low, 2), min(high + 1, len(tokens) + 1)):
                out += [" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
            return out
        grams: list[str] = []
        for word in _WHITE_SPACES.sub(" ", text).split():
            word = " " + word + " "
            size = len(word)
            for n in range(low, high + 1):
                grams += [word[i:i + n] for i in range(max(1, size - n + 1))]
                if size <= n:  # a short word counts once
                    break
        return grams

    def rows(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(indptr, column indices, values) of the texts' normalised TF-IDF rows (CSR parts)."""
        indptr, columns, counts = [0], [], []
        vocabulary = self.vocabulary
        for text in texts:
            counter = {vocabulary[t]: n for t, n in Counter(self._analyse(text)).items() if t in vocabulary}
            ordered = sorted(counter)
            columns += ordered
            counts += [counter[c] for c in ordered]
            indptr.append(len(columns))
        index = np.asarray(columns, dtype=np.intp)
        data = np.ones(len(counts)) if self.binary else np.asarray(counts, dtype=np.float64)
        if self.sublinear_tf:
            np.log(data, data)
            data += 1.0
        data *= self.idf[index]
        for start, end in zip(indptr, indptr[1:]):
            squares = np.cumsum(data[start:end] * data[start:end])  # summed in order
            if end > start and squares[-1] != 0.0:
                data[start:end] /= math.sqrt(squares[-1])
        return np.asarray(indptr), index, data


def unsupported(params: dict[str, Any]) -> list[str]:
    """What in a vectorizer's parameters this module cannot compute (checked when a model is written and read)."""
    p = {**DEFAULTS, **params}
    problems = [f"{k}={p[k]!r} (only {DEFAULTS[k]!r})" for k in FIXED if p[k] != DEFAULTS[k]]
    if p["analyzer"] not in ANALYZERS:
        problems.append(f"analyzer={p['analyzer']!r} (only {' or '.join(ANALYZERS)})")
    if p["analyzer"] == "word" and re.compile(p["token_pattern"]).groups > 1:
        problems.append("a token_pattern with more than one group")
    return problems


def linear_scores(blocks: Sequence[TfidfFeatures], texts: Sequence[str], coef: np.ndarray,
                  intercept: np.ndarray) -> np.ndarray:
    """``hstack(block features) @ coef.T + intercept``: each row's terms, block after block, columns
    ascending, added one after another into zeros (SciPy's ``csr_matvecs``)."""
    weights = np.ascontiguousarray(coef.T)  # (features, classes)
    parts = []
    offset = 0
    for block in blocks:
        indptr, index, data = block.rows(texts)
        parts.append((indptr, index + offset, data))
        offset += len(block.terms)
    scores = np.zeros((len(texts), coef.shape[0]))
    for row in range(len(texts)):
        index = np.concatenate([p[1][p[0][row]:p[0][row + 1]] for p in parts])
        data = np.concatenate([p[2][p[0][row]:p[0][row + 1]] for p in parts])
        if len(index):
            scores[row] = np.cumsum(data[:, np.newaxis] * weights[index], axis=0)[-1]
    return scores + intercept


def expit(values: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` elementwise with the C library's exp (SciPy's ``expit``)."""
    return np.array([_expit(x) for x in values.ravel().tolist()]).reshape(values.shape)


def _expit(x: float) -> float:
    try:
        return 1.0 / (1.0 + math.exp(-x))
    except OverflowError:  # exp(-x) is infinite in C: the sigmoid is 0
        return 0.0


def softmax(values: np.ndarray) -> np.ndarray:
    """Row-wise softmax as ``sklearn.utils.extmath.softmax`` computes it (temperature scaling's last step):
    the row's largest value subtracted, NumPy's ``exp`` in place, each row divided by its own sum."""
    out = np.array(values, dtype=np.float64)
    out -= np.max(out, axis=1).reshape(-1, 1)
    np.exp(out, out=out)
    out /= np.sum(out, axis=1).reshape(-1, 1)
    return out
