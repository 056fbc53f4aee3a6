"""bench.modelcv's command line: a recipe's parameter given as sklearn names it, its value read as JSON."""

import argparse

import pytest

from bench.modelcv import at_level, parse_setting


@pytest.mark.parametrize(("text", "expected"), [
    ("clf__estimator__C=4", ("clf__estimator__C", 4)),
    ("tfidf__chars__ngram_range=[2,5]", ("tfidf__chars__ngram_range", (2, 5))),  # sklearn validates a tuple
    ("clf__estimator__class_weight=balanced", ("clf__estimator__class_weight", "balanced")),  # no JSON: a string
    ("clf__estimator__class_weight=null", ("clf__estimator__class_weight", None)),
    ("tfidf__words__token_pattern=a=b", ("tfidf__words__token_pattern", "a=b")),  # the first = splits
])
def test_a_setting_is_read_as_json_else_as_a_string(text: str, expected: tuple[str, object]) -> None:
    assert parse_setting(text) == expected


@pytest.mark.parametrize("text", ["C", "=4", ""])
def test_a_setting_without_a_name_and_a_value_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="is not PARAM=VALUE"):
        parse_setting(text)


def test_the_cut_keeps_the_model_silent_on_the_share_of_unknown_texts() -> None:
    rows = [("_none", "a", 0.9), ("_none", "b", 0.5), ("_none", None, 0.0), ("_none", "a", 0.2),
            ("a", "a", 0.95), ("a", "b", 0.6), ("b", "b", 0.4)]
    cut, right, wrong = at_level(rows, 0.75)  # one of the four unknown texts may be answered: the 0.9 one
    assert cut == pytest.approx(0.5) and (right, wrong) == (1, 1)
