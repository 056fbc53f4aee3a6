"""The pure classification core: exception events in, one Diagnosis out.

``diagnose`` is the single decision function. The stream worker, ``classify``
on files and ``relabel`` on the store all call it, so the same logs get the
same diagnosis whichever way they arrive. It does no I/O; loading rule packs
and the model happens once, in :func:`load_classifier`.

Confidence is derived, not invented: a stable rule starts at 0.95 (on the real
corpus's train split stable specific rules named the root cause 93 times in 93), an
experimental one at 0.7, a low-priority rule (< 30) or a generic one (``rootcause.is_generic``, < 40)
loses 40 % (on that split such rules named the root cause about half the time; a generic rule of
priority 30-39, at 0.95, could never be outweighed by the model finding no cause, and on the real dev
split three texts labelled unknown were so answered user_code_error);
other events agreeing on the same category add a little (up to +0.05),
events pointing at a different category of the same cascade rank take away
up to 30 % in proportion (an out-of-memory error that cannot tell the process
agrees with one that names it). ``unknown`` carries confidence 0.

Where a rule decides, the model is not asked, but for two kinds of rule. A generic rule (``rootcause.
is_generic``: a user exception rethrown by the driver, a bare Python traceback, a generic JVM exception)
only says the job threw: the model's answer for another category in the rule's exception, over its
threshold, is a specific signal and decides, as a specific rule does, with the model's calibrated probability as the confidence;
and the model finding no root cause in the rule's exception (its ``_none`` class) more probably than the
rule is right (the confidence above) leaves the diagnosis ``unknown``, the rule's category its hint.
Both name the rule that matched (``_over_generic``). An out-of-memory rule that cannot tell the driver from
an executor (``*/driver_or_executor``) is certain of the error, not of the process: the model's confident
pick of the two places it (``_placed_by_model``). Beside a low-priority rule that is not generic (a YARN
shutdown hook, too many executor failures) the model's confident other answer is only a note.
"""

from __future__ import annotations

import heapq

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

import models
from classifiers.evidence import evidence, rule_evidence
from classifiers.fragments import held_back, only_frames
from classifiers.masking import DigitFreeMasks
from classifiers.platform import fits, platform_of
from classifiers.pastwarnings import root_past_warnings
from classifiers.rootcause import OOM_CATEGORIES, Finding, FirstFindings
from logtext.assembly import CUT_SEEN
from logtext.lastlines import LAST_LINES
from logtext.runs import EventRuns
from logtext.signals import Signals
from rules import cache as rule_cache
from rules.engine import BACKENDS, RuleEngine
from rules.lint import lint_packs
from rules.loader import load_packs
from sparktriage.errors import ConfigError
from sparktriage.records import AppInfo, Diagnosis, Evidence, ExceptionEvent, ExceptionGroup
from sparktriage.settings import Settings
from sparktriage.taxonomy import CATEGORIES, UNKNOWN, domain_of, top_level

MAX_EVIDENCE = 3
SHIPPED_MODEL = Path(models.__file__).parent / "textcat" / "6"


class TextModel(Protocol):
    """The seam for the trained model: best category and probability per text.

    ``threshold`` is the probability from which its answers are trusted
    (chosen on held-out data: where no rule matched, and over a generic rule);
    ``_none`` means "no root cause in this text".
    """

    version: str
    threshold: float

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]: ...


NO_CAUSE = "_none"
#: Rules below this priority are fallbacks, trusted less; the model's confident other answer is noted
#: beside those that are not generic (a generic one it overrules: ``_over_generic``).
LOW_PRIORITY = 30
#: a stable specific rule's confidence before agreement and rivals (see the module docstring).
STABLE_CONFIDENCE = 0.95
#: how much a generic rule's answer is trusted relative to a specific one (see the module docstring).
GENERIC_FACTOR = 0.6


def _confidence(root: Finding, best: Sequence[tuple[Finding, int]]) -> float:
    """``best``: each distinct event's finding and how many times that event occurred; only a finding's
    rule is read, so the findings of one rule may come summed (``diagnose`` sums them: thousands of
    traces that differ in their numbers are one rule's)."""
    base = STABLE_CONFIDENCE if root.rule.status == "stable" else 0.7
    if root.rule.priority < LOW_PRIORITY or root.generic:
        base *= GENERIC_FACTOR

    def agrees(f: Finding) -> bool:  # an OOM that cannot tell the process backs the one that can
        return top_level(f.category) == top_level(root.category) or (root.names_process and f.undecided_process)

    same = sum(n for f, n in best if agrees(f))
    rivals = sum(n for f, n in best if f.rank == root.rank and not agrees(f))
    agreement = min(0.05, 0.01 * (same - 1))
    penalty = 0.3 * rivals / (same + rivals) if rivals else 0.0
    return round(min(0.99, base * (1 - penalty) + agreement), 3)


def group_exceptions(events: Sequence[ExceptionEvent] | EventRuns,
                     categories: Sequence[str | None]) -> tuple[ExceptionGroup, ...]:
    """Every distinct exception of the application with counts: the exceptions tab (``categories``: one per run)."""
    groups: dict[tuple[str, str], dict] = {}
    masked = DigitFreeMasks()
    for run, category in zip(EventRuns.of(events), categories):
        event = run.event
        cls = event.root_class or event.exc_class
        message = event.causes[-1].message if event.causes else event.message
        key = (cls or f"{event.level} {event.logger}", masked(message)[:300])
        group = groups.get(key)
        if group is None:
            groups[key] = {
                "exc_class": cls, "level": event.level, "logger": event.logger,
                "message": message[:500], "count": len(run), "first_ts": event.ts,
                "first_line": event.line, "first_container": event.container_id,
                "roles": {event.role}, "category": category,
            }
        else:
            group["count"] += len(run)
            group["roles"].add(event.role)
            group["category"] = group["category"] or category
    ordered = sorted(groups.values(), key=lambda g: (-g["count"], g["first_ts"] or 0.0))
    return tuple(ExceptionGroup(**{**g, "roles": tuple(sorted(g["roles"]))}) for g in ordered)


def diagnose(
    events: Sequence[ExceptionEvent] | EventRuns,
    *,
    app: AppInfo,
    engine: RuleEngine,
    model: TextModel | None = None,
) -> Diagnosis:
    """The root cause of one application attempt from its exception events, one by one or as runs
    of repeated records (``logtext.runs``): a run is read once and counted as often as it occurred."""
    runs = EventRuns.of(events)
    best: dict[str, tuple[Finding, int]] = {}  # per rule: a run's earliest finding, and how many events they hold
    earliest: list[Finding] = []  # the first few findings of each run in the cascade's order: root and support
    categories: list[str | None] = []
    answered: dict[tuple[str, str], Finding | None] = {}  # a repeated exception is matched once
    first_finding = FirstFindings(engine)  # and the same with other numbers, where the rules read none
    for run in runs:
        event = run.event
        key = (event.text, event.role)
        if key not in answered:
            answered[key] = first_finding(event, run.orders[0])
        first = answered[key]
        categories.append(first.category if first else None)
        if first is None:
            continue
        picks = []
        for k in run.earliest(MAX_EVIDENCE):
            occurrence = run.occurrence(k)
            picks.append(first if first.event is occurrence
                         else Finding(first.rule, occurrence, run.orders[k], first.line_index, first.depth))
        held = best.get(first.rule.id)
        best[first.rule.id] = (held[0] if held else picks[0], len(run) + (held[1] if held else 0))
        earliest += picks
    events = [run.event for run in runs]  # what is read once per run
    exceptions = group_exceptions(runs, categories)
    common = dict(
        app_id=app.app_id, attempt=app.attempt, exceptions=exceptions,
        rule_pack_version=engine.version, final_status=app.final_status,
        model_version=getattr(model, "version", None),
    )
    if any(CUT_SEEN in e.text for e in events):
        common["notes"] = ("a very long log line was cut; its head, its tail and the words around its "
                           "failure words were kept and read",)
    root, passed = root_past_warnings(earliest, runs, categories)
    if passed:
        common["notes"] = (*common.get("notes", ()), *(f"the application went on past the warning {f.rule.id} matched "
                                                       f"({f.category}): it did not decide" for f in passed))
    if root is not None and model is not None and root.generic:
        decided = _over_generic(root, list(best.values()), events, engine, model, common)
        if decided is not None:
            return decided
    elif root is not None and model is not None and root.rule.priority < LOW_PRIORITY:
        (guess, p), = model.predict([root.event.text])
        if root.undecided_process and guess in OOM_CATEGORIES and p >= model.threshold:
            return _placed_by_model(root, guess, p, events, engine, model, common)
        if guess not in (NO_CAUSE, top_level(root.category)) and p >= model.threshold:
            common["notes"] = (*common.get("notes", ()), f"the model disagrees with this low-priority rule: {guess} ({p:.2f})")
    if root is not None:
        supporting = [f for f in sorted(earliest, key=Finding.cascade_key) if f is not root
                      and top_level(f.category) == top_level(root.category)]
        shown = [rule_evidence(f, engine) for f in [root, *supporting[: MAX_EVIDENCE - 1]]]
        return Diagnosis(
            category=root.category, domain=domain_of(root.category), confidence=_confidence(root, list(best.values())),
            source="rule", rule_id=root.rule.id, explain=root.rule.explain,
            remediation=_remediation(engine, root.category, platform_of(events), own=root.rule.remediation),
            evidence=tuple(shown), **common,
        )
    gone = {f.order for f in passed}  # nor does the model read a warning gone past
    read = [run.event for run in runs if gone.isdisjoint(run.orders)] if gone else events
    guess = _model_guess(read, model) if model is not None else None
    if guess is not None and model is not None and guess[2] >= model.threshold and guess[3] is None:
        event, category, p, _ = guess
        return Diagnosis(
            category=category, domain=domain_of(category), confidence=round(p, 3), source="model",
            explain=f"No rule matched; the model recognises {category}: {CATEGORIES[category][1]}.",
            remediation=_remediation(engine, category, platform_of(events)), evidence=(evidence(event, None),),
            **common,
        )
    return Diagnosis(
        category=UNKNOWN, domain=domain_of(UNKNOWN), confidence=0.0, source="none",
        explain=_unknown_why(events) + ("." if guess is None else "; the model's best guess is below its threshold."
                                         if guess[3] is None else f"; the model's guess, {guess[1]}, reads {guess[3]}."),
        hint=guess[1] if guess is not None else (passed[0].category if passed else None),
        evidence=tuple(evidence(e, None) for e in _first_events(runs, MAX_EVIDENCE)),
        **common,
    )


def _over_generic(root: Finding, best: Sequence[tuple[Finding, int]], events: Sequence[ExceptionEvent],
                  engine: RuleEngine, model: TextModel, common: dict) -> Diagnosis | None:
    """Where a generic rule would decide, the model's reading of the rule's exception when it is the
    stronger signal (else None).

    A generic rule only says the job threw. The model, over its threshold, naming another category in
    that exception is a specific signal, and a specific signal wins, as a specific rule does over a
    generic one in ``rootcause``; its calibrated probability is the confidence. It reads that exception
    alone: the application's other exceptions were placed in the cascade by their own rules (a refused
    connection a user exception caused stays its consequence), and the model reads them all only where
    no rule matched. The model finding no root cause there (its ``_none`` class, which real texts people
    label ``unknown`` teach) more probably than the rule is right (its confidence, ``_confidence``) is
    the better bet: the diagnosis abstains, with the rule's category as its hint. Both probabilities
    are calibrated, so the likelier answer is taken: no threshold of its own to tune."""
    (category, p), = model.predict([root.event.text])
    if category in CATEGORIES and top_level(category) != top_level(root.category) and p >= model.threshold:
        return Diagnosis(
            category=category, domain=domain_of(category), confidence=round(p, 3), source="model",
            explain=(f"The generic rule {root.rule.id} matched ({root.category}: the job threw); the model "
                     f"recognises a specific cause, {category}: {CATEGORIES[category][1]}."),
            remediation=_remediation(engine, category, platform_of(events)),
            evidence=(evidence(root.event, None),),
            **{**common, "notes": (*common.get("notes", ()), f"the model decided ({p:.2f}, over its threshold "
                                   f"{model.threshold:.2f}) over the generic rule {root.rule.id} ({root.category})")},
        )
    confidence = _confidence(root, best)
    if category == NO_CAUSE and p > confidence:
        return Diagnosis(
            category=UNKNOWN, domain=domain_of(UNKNOWN), confidence=0.0, source="none", hint=root.category,
            explain=(f"The generic rule {root.rule.id} matched ({root.category}, confidence {confidence:.2f}), but "
                     f"the model finds no root cause in that exception ({p:.2f}), which is likelier."),
            evidence=(rule_evidence(root, engine),), **common,
        )
    return None


def _placed_by_model(root: Finding, category: str, p: float, events: Sequence[ExceptionEvent], engine: RuleEngine,
                     model: TextModel, common: dict) -> Diagnosis:
    """An out-of-memory error the rule could not place (``*/driver_or_executor``), placed by the model.

    The error is certain, the process is not: the model reads what the rule does not (``collect()`` or a
    broadcast around it, the driver's or an executor's loggers, ``spark.driver.memory`` in the advice pasted
    with it), so its pick of the two over its threshold decides, with its calibrated probability (on the real
    dev split it placed more driver OOMs than the rules, without taking executor ones). Any other answer of
    the model is only a note: the OOM itself is in the text."""
    return Diagnosis(
        category=category, domain=domain_of(category), confidence=round(p, 3), source="model",
        explain=(f"The rule {root.rule.id} found an out-of-memory error but not which process ran out; the model "
                 f"reads it as {category}: {CATEGORIES[category][1]}."),
        remediation=_remediation(engine, category, platform_of(events)),
        evidence=(rule_evidence(root, engine),),
        **{**common, "notes": (*common.get("notes", ()), f"the model placed the out-of-memory error ({p:.2f}, over "
                               f"its threshold {model.threshold:.2f}) that the rule {root.rule.id} could not")},
    )


def _first_events(runs: EventRuns, n: int) -> list[ExceptionEvent]:
    """The first ``n`` events in log order that carry an exception class (any events when none does)."""
    shown = [run for run in runs if run.event.exc_class] or runs
    placed = heapq.nsmallest(n, ((order, i, k) for i, run in enumerate(shown) for k, order in enumerate(run.orders[:n])))
    return [shown[i].occurrence(k) for _, i, k in placed]


def model_candidates(events: Sequence[ExceptionEvent]) -> list[ExceptionEvent]:
    """The events the model reads: exceptions and ERROR records first; when there are none
    (a diagnostic printed without level or class, a WARN), every event, so an application
    is never left unknown without the model having read it, but for a stack without its exception
    (``fragments.only_frames``: it names no cause). Training on human corrections reads the same ones."""
    return ([e for e in events if e.exc_class or e.level in ("ERROR", "FATAL")]
            or [e for e in events if not only_frames(e.text)])


def _model_guess(events: Sequence[ExceptionEvent],
                 model: TextModel) -> tuple[ExceptionEvent, str, float, str | None] | None:
    """The model's most confident root cause among the events (one batch), or None; the last field says
    why it may not decide (``fragments.held_back``: a ``user_code_error`` where the event shows no exception
    the job's code threw, a ``network_error`` read from an echo), None where it may; one that may not is the
    guess only where no answer that may is left."""
    candidates = model_candidates(events)
    best = None
    for event, (category, p) in zip(candidates, model.predict([e.text for e in candidates]) if candidates else []):
        if category == NO_CAUSE or category not in CATEGORIES:
            continue
        why = held_back(event, category)
        if best is None or (why is None, p) > (best[3] is None, best[2]):
            best = (event, category, p, why)
    return best


def _unknown_why(events: Sequence[ExceptionEvent]) -> str:
    """Why nothing was decided, in the words that fit what the logs held."""
    if not events:
        return "The logs hold nothing to read"
    if all(e.message == LAST_LINES and e.exc_class is None for e in events):
        return "The application printed no error; no rule and no model names a cause in its logs' last lines"
    return "No rule matched the exceptions of this application"


def _remediation(engine: RuleEngine, category: str, platform: str | None = None, own: str | None = None) -> str:
    """What to change: ``own`` (the deciding rule's advice) when it fits the platform the logs show,
    else what the highest-priority rule of that category whose advice fits tells people to change."""
    if own and fits(own, platform):
        return own
    rules = sorted((r for r in engine.rules if top_level(r.category) == top_level(category)), key=lambda r: -r.priority)
    return next((r.remediation for r in rules if r.remediation and fits(r.remediation, platform)), own or "")


@dataclass(frozen=True)
class Classifier:
    """Compiled rules (and, when loaded, the model): what the worker, classify and relabel hold."""

    engine: RuleEngine
    model: TextModel | None = None
    #: the rule cache's folder, where the signals' compiled database is kept too (None: compiled each time)
    rules_cache: Path | None = None

    @cached_property
    def signals(self) -> Signals:
        """What makes a log record an event for these rules (see ``logtext.signals.Signals``)."""
        return Signals.for_rules(self.engine.required_runs(), self.engine.fires, self.rules_cache)

    def diagnose(self, events: Sequence[ExceptionEvent] | EventRuns, app: AppInfo) -> Diagnosis:
        return diagnose(events, app=app, engine=self.engine, model=self.model)


def only(classifier: Classifier, mode: str) -> Classifier:
    """The classifier restricted to ``rules``, ``model`` or ``combined`` (evaluation)."""
    if mode == "rules":
        return Classifier(engine=classifier.engine, rules_cache=classifier.rules_cache)
    if mode == "model":
        if classifier.model is None:
            raise ConfigError("no model is loaded (model_mode off, or none shipped)")
        return Classifier(engine=RuleEngine([], "none", backend="re"), model=classifier.model)
    return classifier


def load_classifier(settings: Settings, *, backend: str | None = None) -> Classifier:
    """Load, lint and compile the rule packs; refuse (ConfigError) on any problem in them.

    The full lint runs here (not only at ``rules lint`` time) so that a worker
    never starts with a rule whose own examples fail. Packs that linted clean
    are kept compiled in ``rules_cache`` (``rules.cache``), so that only a
    changed or added pack costs the lint and the compilation again. The model
    file is read when a diagnosis first needs it (the worker reads it in a
    thread while it joins its group: ``ingest.modelread.read_model_beside``).
    """
    backend = backend or BACKENDS[0]
    folder = Path(settings.rules_cache) if settings.rules_cache else rule_cache.default_cache_dir()
    key = rule_cache.cache_key(settings.rules_dir, backend)
    engine = rule_cache.fetch(folder, key) if key else None
    if engine is None:
        engine = _lint_and_compile(settings.rules_dir, backend)
        if key:
            rule_cache.store(folder, key, engine)
    return Classifier(engine=engine, model=load_model(settings), rules_cache=folder if key else None)


def _lint_and_compile(rules_dir: str | None, backend: str) -> RuleEngine:
    packs = load_packs(rules_dir)
    problems = lint_packs(packs)
    if problems:
        raise ConfigError([f"rule pack: {p}" for p in problems])
    try:
        return RuleEngine(packs.rules, packs.version, backend=backend)
    except Exception as exc:  # a pattern Hyperscan or re refuses
        raise ConfigError(f"rule pack: cannot compile rules: {exc}") from exc


def load_model(settings: Settings) -> TextModel | None:
    """The configured model (``model``), else the shipped one; none with ``model_mode = "off"``.

    Only its metrics are read here; the model file is read when a diagnosis first needs it."""
    from classifiers import model as text_model

    if settings.model_mode == "off":
        return None
    if settings.model is not None:
        return text_model.load(Path(settings.model))
    return text_model.load(SHIPPED_MODEL) if SHIPPED_MODEL.is_dir() else None
