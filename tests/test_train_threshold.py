"""The model's threshold is chosen on the real dev split as the worker runs: rules first, the model on the rest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers.core import Classifier
from rules.engine import RuleEngine
from rules.loader import load_packs
from sparktriage.history.train import NONE, real_threshold
from tests.packs import GENERIC_RULE, SMALL_PACK, write_pack

DENIED = "org.apache.hadoop.security.AccessControlException: Permission denied: user=etl, access=READ"


class Model:
    """Answers by the first word it finds in a text: (category, probability)."""

    version, threshold = "fixed", 0.5
    ANSWERS = {"Alpha": ("input_missing", 0.9), "Beta": ("network_error", 0.7), "Gamma": ("input_missing", 0.8)}

    def predict(self, texts):
        return [next((a for w, a in self.ANSWERS.items() if w in t), (NONE, 0.99)) for t in texts]


@pytest.fixture()
def rules(tmp_path: Path) -> Classifier:
    packs = load_packs(write_pack(tmp_path), builtin=False)
    return Classifier(engine=RuleEngine(packs.rules, packs.version, backend="re"))


def dev(unknown_denied: bool) -> list[tuple[str, str, str]]:
    items = [(DENIED, "access_denied"),  # the rule decides
             ("com.acme.AlphaException: a", "input_missing"),  # the model, 0.9, right
             ("com.acme.BetaException: b", "input_missing"),  # 0.7, wrong
             ("com.acme.GammaException: c", NONE)]  # 0.8 on a text with nothing to find: wrong
    items += [(f"com.acme.QuietException: {n}", NONE) for n in range(4)]  # the model says no cause
    if unknown_denied:  # people found no cause here, yet the rule answers: one of 6 unknown ones answered
        items.append((DENIED + " (a probe, nothing failed)", NONE))
    return [(text, label, f"s{n}") for n, (text, label) in enumerate(items)]


def test_the_threshold_reaches_the_precision_on_what_the_rules_leave(rules) -> None:
    # the model's answers by probability: 0.9 right (1/1), 0.8 wrong (1/2), 0.7 wrong (1/3);
    # precision 0.5 is kept down to 0.8; 5 unknown texts may get int(5 * 0.2) = 1 answer: Gamma's
    threshold, figures = real_threshold(Model(), dev(unknown_denied=False), rules, precision=0.5)
    assert threshold == 0.8
    assert figures["decided_by_rules"] == 1
    assert figures["abstains_on_unknown"] == pytest.approx(4 / 5)
    assert figures["unknown_for_known"] == pytest.approx(1 / 3, abs=1e-3)  # Beta's, under the threshold


def test_an_unknown_text_the_rules_answer_leaves_the_model_none(rules) -> None:
    # 6 unknown texts may get int(6 * 0.2) = 1 answer, and the rule already gave it: Gamma's 0.8 must go
    threshold, figures = real_threshold(Model(), dev(unknown_denied=True), rules, precision=0.5)
    assert 0.8 < threshold < 0.9
    assert figures["abstains_on_unknown"] == pytest.approx(5 / 6, abs=1e-3)
    rows = {row["threshold"]: row for row in figures["accuracy_against_coverage"]}
    assert rows[1.01]["coverage"] == pytest.approx(2 / 9, abs=1e-3)  # the rules alone: two answers, one right
    assert rows[1.01]["accuracy"] == pytest.approx(0.5)


class Unround(Model):
    """Gamma's probability has more than the three places a diagnosis keeps of it."""

    ANSWERS = {**Model.ANSWERS, "Gamma": ("input_missing", 0.80041)}


def test_the_threshold_is_chosen_on_the_model_s_probabilities_not_the_rounded_confidences(rules) -> None:
    # 6 unknown texts may get one answer and the rule gave it: Gamma's 0.80041 must not pass, though its
    # diagnosis says 0.8 (a threshold 0.800001 just above that would let it through)
    threshold, figures = real_threshold(Unround(), dev(unknown_denied=True), rules, precision=0.5)
    assert threshold > 0.80041
    assert figures["abstains_on_unknown"] == pytest.approx(5 / 6, abs=1e-3)


class OverGeneric(Model):
    ANSWERS = {**Model.ANSWERS, "Beta": ("network_error", 0.7), "Gamma": ("input_missing", 0.72),
               "Delta": ("network_error", 0.75)}


def test_under_the_threshold_a_generic_rule_answers_where_the_model_would_have(tmp_path: Path) -> None:
    """Over a generic rule the model decides from its threshold (``classifiers.core``); under it the rule
    answers, so an unknown text the rule answers is answered whatever the threshold, like one a specific
    rule answers: the model's other answers on unknown texts must go."""
    packs = load_packs(write_pack(tmp_path, SMALL_PACK + GENERIC_RULE), builtin=False)
    rules = Classifier(engine=RuleEngine(packs.rules, packs.version, backend="re"))
    items = [(DENIED, "access_denied"),
             ("com.acme.AlphaException: a", "input_missing"),  # the model, 0.9, right
             ("com.acme.BoomException: GenericBoom Beta", "network_error"),  # the model 0.7 right, the rule wrong
             ("com.acme.BoomException: GenericBoom Gamma", NONE),  # the model 0.72 or the rule: answered
             ("com.acme.DeltaException: d", NONE)]  # the model 0.75, no rule: must abstain
    items += [(f"com.acme.QuietException: {n}", NONE) for n in range(4)]
    dev = [(text, label, f"s{n}") for n, (text, label) in enumerate(items)]
    # 6 unknown texts may get int(6 * 0.2) = 1 answer, and the generic rule gives Gamma's: Delta's 0.75 must go
    threshold, figures = real_threshold(OverGeneric(), dev, rules, precision=0.5)
    assert 0.75 < threshold < 0.9
    assert figures["abstains_on_unknown"] == pytest.approx(5 / 6, abs=1e-3)
    rows = {row["threshold"]: row for row in figures["accuracy_against_coverage"]}
    assert rows[1.01]["coverage"] == pytest.approx(3 / 9, abs=1e-3), "the rules alone: the generic one too"
    assert rows[0.0]["coverage"] == pytest.approx(5 / 9, abs=1e-3)
    assert figures["accuracy"] == pytest.approx(7 / 9, abs=1e-3), "all but Beta and Gamma, the generic rule's"


def test_a_shipped_model_is_re_thresholded_on_the_dev_split_without_retraining(tmp_path: Path) -> None:
    """``train --rethreshold``: the same model file, its threshold chosen on the dev split it is given,
    written as a new version whose card keeps how that model was trained."""
    import shutil

    from classifiers.core import SHIPPED_MODEL, load_classifier, only
    from classifiers.model import load, save
    from sparktriage.history.train import REAL, real_items, rethreshold
    from sparktriage.settings import Settings

    real = tmp_path / "real"
    real.mkdir()
    (real / "dev.jsonl").write_text("\n".join((REAL / "train.jsonl").read_text().splitlines()[:40]) + "\n")
    source = tmp_path / "7"
    shutil.copytree(SHIPPED_MODEL, source)
    recipe = "**Model.** A recipe of its own day, which `train` no longer follows.\n\n"
    old_card = (source / "model_card.md").read_text()
    (source / "model_card.md").write_text(old_card.replace(
        old_card[old_card.index("**Model.**"):old_card.index("**Data.**")], recipe))
    shipped = load(source)
    model, metrics, text = rethreshold(Settings(), source, "textcat@99", real=real)
    expected, figures = real_threshold(load(source), real_items(real / "dev.jsonl"),
                                       only(load_classifier(Settings()), "rules"))
    assert model.threshold == metrics["threshold"] == expected != shipped.threshold
    assert metrics["real_dev"] == figures and figures["texts"] == 40
    trained = json.loads((SHIPPED_MODEL / "metrics.json").read_text()).get("rethresholded_from", shipped.version)
    assert (model.version, metrics["version"], metrics["rethresholded_from"]) == ("textcat@99", "textcat@99", trained)
    save(model, metrics, tmp_path / "99", text)
    assert (tmp_path / "99" / "model.npz").read_bytes() == (SHIPPED_MODEL / "model.npz").read_bytes()
    again = load(tmp_path / "99")
    assert (again.version, again.threshold) == ("textcat@99", expected)
    written = (tmp_path / "99" / "model_card.md").read_text()
    assert written.startswith("# Model card: textcat@99\n") and recipe in written
    assert f"**Threshold.** {expected:.3f}, chosen" in written and f"**Threshold.** {shipped.threshold:.3f}" not in written
    assert f"--rethreshold models/textcat/{trained.split('@')[1]} --out models/textcat/99" in written


def test_re_thresholding_a_model_into_its_own_folder_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    from classifiers.core import SHIPPED_MODEL
    from sparktriage import cli

    before = (SHIPPED_MODEL / "metrics.json").read_bytes()
    assert cli.main(["train", "--rethreshold", str(SHIPPED_MODEL), "--out", str(SHIPPED_MODEL)]) == 2
    assert "is the model being re-thresholded" in capsys.readouterr().err
    assert (SHIPPED_MODEL / "metrics.json").read_bytes() == before
