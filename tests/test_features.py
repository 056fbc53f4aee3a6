"""The model's NumPy predictor (``classifiers.features``) against scikit-learn's own transform.

The predictor replaces ``TfidfVectorizer.transform``, SciPy's sparse product
and ``expit``; it must give the very same floats. The reference here is the
sklearn objects rebuilt from the same model file (what ``modelfile`` did
before), run on every text the shipped models are measured on: the real
corpus's splits, the outside set, the generated corpus, and plain log lines.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from classifiers import modelfile
from classifiers.corpus.generate import corpus
from classifiers.features import TfidfFeatures, expit, softmax, unsupported
from classifiers.masking import mask
from classifiers.model import FILENAME, MAX_CHARS
from rules.loader import load_packs
from tests.conftest import REPO, SHARED_DATA

MODELS = sorted(p for p in (REPO / "models" / "textcat").iterdir() if (p / FILENAME).is_file())


def _jsonl_texts(path: Path) -> list[str]:
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return [item["text"] for item in map(json.loads, path.read_text().splitlines()) if item]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """Every evaluation text as the model reads it (masked head), and some raw ones (the vectorizer must
    not care): the real splits, the outside set, the generated corpus, loghub lines, non-ASCII text."""
    raw = _jsonl_texts(REPO / "classifiers" / "corpus" / "real" / "dev.jsonl")
    raw += _jsonl_texts(REPO / "classifiers" / "corpus" / "real" / "train.jsonl")
    raw += _jsonl_texts(SHARED_DATA / "dev_real.jsonl")
    raw += [t for t, _, _ in corpus(load_packs(None).rules, per_entry=2, seed=3)]
    for name in ("Spark_2k.log", "Hadoop_2k.log", "HDFS_2k.log"):
        lines = (SHARED_DATA / "loghub" / name).read_text(errors="replace").splitlines()
        raw += ["\n".join(lines[i:i + 7]) for i in range(0, 700, 7)]
    raw += ["", "   ", "İstanbul ÉCHEC: Straße kaputt\t\tx", "a", "ab b", "日本語のエラー java.lang.IllegalStateException"]
    return [mask(t[:MAX_CHARS]) for t in raw] + raw[:200]


def _sklearn_reference(path: Path):
    """predict_proba as the sklearn vectorizers, SciPy's product and SciPy's expit (sigmoid calibration)
    or sklearn's temperature scaling compute it."""
    from scipy import sparse
    from scipy.special import expit as scipy_expit
    from sklearn.calibration import _TemperatureScaling
    from sklearn.feature_extraction.text import TfidfVectorizer

    scorer = modelfile.read(path)
    vectorizers = []
    header = json.loads(bytes(np.load(path)["header"]).decode())
    for n, feature in enumerate(header["features"]):
        params = {**feature["params"], "ngram_range": tuple(feature["params"]["ngram_range"])}
        vectorizer = TfidfVectorizer(vocabulary=list(scorer.features[n].terms), **params)
        vectorizer.idf_ = scorer.features[n].idf
        vectorizers.append(vectorizer)

    def predict_proba(batch: list[str]) -> np.ndarray:
        features = sparse.hstack([v.transform(batch) for v in vectorizers]).tocsr()
        scores = features @ scorer.coef.T + scorer.intercept
        if scorer.method == "temperature":
            temperature = _TemperatureScaling()
            temperature.beta_ = scorer.calibration[0]
            proba = temperature.predict(scores)
            proba[(1.0 < proba) & (proba <= 1.0 + 1e-5)] = 1.0
            return proba
        proba = np.zeros((len(batch), len(scorer.classes_)))
        for k, column in enumerate(scorer.class_index):
            proba[:, column] = scipy_expit(-(scorer.calibration[k, 0] * scores[:, k] + scorer.calibration[k, 1]))
        denominator = np.sum(proba, axis=1)[:, np.newaxis]
        proba = np.divide(proba, denominator, out=np.full_like(proba, 1 / len(scorer.classes_)),
                          where=denominator != 0)
        proba[(1.0 < proba) & (proba <= 1.0 + 1e-5)] = 1.0
        return proba

    return scorer, predict_proba


@pytest.mark.parametrize("folder", MODELS, ids=[p.name for p in MODELS])
def test_the_numpy_predictor_gives_sklearn_s_floats_on_every_evaluation_text(folder: Path, texts) -> None:
    scorer, reference = _sklearn_reference(folder / FILENAME)
    assert len(texts) > 1000
    for start in (0, 7, 500):  # batches of different sizes and contents
        batch = texts[start:start + 400] if start else texts
        ours, theirs = scorer.predict_proba(batch), reference(batch)
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs), \
            f"{int((ours != theirs).sum())} of {ours.size} probabilities differ"


def test_the_sigmoid_is_scipy_s_to_the_bit() -> None:
    from scipy.special import expit as scipy_expit

    values = np.random.default_rng(0).normal(0, 8, 200_000)
    values[:4] = [0.0, -0.0, 800.0, -800.0]  # exp(800) overflows: the sigmoid is 0 there, not an error
    assert np.array_equal(expit(values), scipy_expit(values))


def test_the_softmax_is_sklearn_s_to_the_bit() -> None:
    from sklearn.utils.extmath import softmax as sklearn_softmax

    rng = np.random.default_rng(0)
    for classes in (3, 27, 40):
        values = rng.normal(0, 12, (5_000, classes))
        values[0] = 0.0  # a row of ties
        values[1, 0] = 900.0  # exp would overflow without the row's largest value taken away
        assert np.array_equal(softmax(values), sklearn_softmax(values))
        assert np.array_equal(softmax(values[:7]), sklearn_softmax(values)[:7]), "a row does not depend on its batch"


@pytest.mark.parametrize(("params", "what"), [
    ({"analyzer": "char"}, "analyzer='char'"),
    ({"norm": "l1"}, "norm='l1'"),
    ({"strip_accents": "ascii"}, "strip_accents='ascii'"),
    ({"use_idf": False}, "use_idf=False"),
    ({"token_pattern": "(a)(b)"}, "more than one group"),
])
def test_what_the_predictor_does_not_compute_is_refused(params: dict, what: str) -> None:
    assert any(what in p for p in unsupported(params))
    with pytest.raises(ValueError, match=what.replace("(", r"\(")):
        TfidfFeatures.of(["a"], np.ones(1), params)
    assert unsupported({"analyzer": "char_wb", "ngram_range": [3, 5], "sublinear_tf": True}) == []
