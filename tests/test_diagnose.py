"""``classifiers.core`` figure by figure: confidence, the excerpt shown, the exceptions tab,
the advice picked for the platform, the model's notes, and what an unknown says.

Each expected value is worked out by hand from the rules of the small pack below (the module
docstring of ``classifiers.core`` gives the confidence formula), so a changed constant, a
dropped term or a swapped branch fails here. Everything is built inside the tests: nothing
is cached at import, so a mutant under test is the code that runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from classifiers.core import (Classifier, _confidence, _first_events,
                              _lint_and_compile, _remediation, _unknown_why, diagnose, group_exceptions,
                              load_classifier, model_candidates, only)
from classifiers.rootcause import findings_for
from classifiers.evidence import MAX_EXCERPT_LINES, excerpt
from logtext.assembly import CUT_SEEN
from logtext.lastlines import LAST_LINES
from logtext.runs import EventRun, EventRuns
from rules.engine import BACKENDS, RuleEngine
from rules.loader import load_packs
from sparktriage.errors import ConfigError
from sparktriage.records import AppInfo, Cause, ExceptionEvent
from sparktriage.settings import Settings
from tests.packs import GENERIC_RULE, SMALL_PACK, write_pack

APP = AppInfo(app_id="application_1700000000000_0042", attempt=2, final_status="FAILED")

# The small pack plus a generic rule (priority under 30) and a category whose two rules give
# advice for one platform each.
PACK = SMALL_PACK + GENERIC_RULE + '''\
  - id: exec-oom-yarn
    category: executor_oom
    priority: 70
    patterns: ['ExecutorOOM of the first kind']
    explain: An executor ran out of memory.
    remediation: Raise spark.executor.memoryOverhead; YARN kills containers over it.
    examples:
      match: ["ExecutorOOM of the first kind"]
      no_match: ["ExecutorOK"]
  - id: exec-oom-k8s
    category: executor_oom
    priority: 50
    patterns: ['ExecutorOOM of the second kind']
    explain: An executor pod ran out of memory.
    remediation: Raise the executor pod's memory limit on Kubernetes.
    examples:
      match: ["ExecutorOOM of the second kind"]
      no_match: ["ExecutorOK"]
'''

KILL = "Reason: Container killed by YARN for exceeding physical memory limits."
DENIED = "org.apache.hadoop.security.AccessControlException: Permission denied: user=etl"
LOST = "ExecutorLostFailure (executor 5 exited caused by one of the running tasks)"
FETCH = "org.apache.spark.shuffle.FetchFailedException: Failed to connect to host-7:7337"


@pytest.fixture()
def engine(tmp_path: Path) -> RuleEngine:
    packs = load_packs(write_pack(tmp_path, PACK), builtin=False)
    return RuleEngine(packs.rules, packs.version)


def ev(text: str, ts: float | None = 1.0, *, role: str = "executor", container: str = "c2", line: int = 7,
       exc: str | None = None, excerpt: tuple[str, ...] | None = None, **more) -> ExceptionEvent:
    return ExceptionEvent(app_id=APP.app_id, text=text, ts=ts, role=role, container_id=container, line=line,
                          exc_class=exc, excerpt=tuple(text.split("\n")) if excerpt is None else excerpt,
                          host="node-3", **more)


def run_of(event: ExceptionEvent, orders: list[int], lines: list[int], times: list[float | None]) -> EventRun:
    """A run of records identical to ``event`` (their stamps left out of the text), at these times."""
    run = EventRun(event, orders, lines, stamps=[""] * len(orders), at=0)
    run._times = times
    return run


@dataclass
class ScriptedModel:
    """A model whose answers the test decides (first key found in a text), for the policy around it."""

    answers: dict[str, tuple[str, float]]
    version: str = "scripted@1"
    threshold: float = 0.6
    seen: list[list[str]] = field(default_factory=list)

    def predict(self, texts):
        self.seen.append(list(texts))
        return [next((v for k, v in self.answers.items() if k in t), ("_none", 0.99)) for t in texts]


# --- confidence -------------------------------------------------------------------------------------------

def test_a_stable_rule_alone_has_its_base_confidence(engine: RuleEngine) -> None:
    assert diagnose([ev(KILL)], app=APP, engine=engine).confidence == 0.95


def test_each_agreeing_event_adds_a_hundredth_up_to_five(engine: RuleEngine) -> None:
    two = diagnose([ev(KILL, 1), ev(KILL, 2)], app=APP, engine=engine)
    assert two.confidence == 0.96
    assert diagnose([ev(KILL, t) for t in range(4)], app=APP, engine=engine).confidence == 0.98
    assert diagnose([ev(KILL, t) for t in range(9)], app=APP, engine=engine).confidence == 0.99, "capped"
    killed = [ev("Job 1 cancelled because SparkContext was shut down", t) for t in range(9)]
    assert diagnose(killed, app=APP, engine=engine).confidence == 0.75, "0.7 + at most 0.05"


def test_a_run_counts_as_often_as_it_occurred(engine: RuleEngine) -> None:
    run = run_of(ev(KILL), [0, 1, 2], [7, 8, 9], [1.0, 2.0, 3.0])
    assert diagnose(EventRuns([run]), app=APP, engine=engine).confidence == 0.97


def test_rivals_of_the_same_rank_take_away_in_proportion(engine: RuleEngine) -> None:
    # yarn-kill and access-denied are both of rank 0: one rival for one agreeing event: 0.95 * (1 - 0.15)
    assert diagnose([ev(KILL, 1), ev(DENIED, 2)], app=APP, engine=engine).confidence == 0.807
    # two rivals, one agreeing: 0.95 * (1 - 0.3 * 2 / 3)
    assert diagnose([ev(KILL, 1), ev(DENIED, 2), ev(DENIED + "x", 3)], app=APP, engine=engine).confidence == 0.76
    # consequences further down the cascade (other ranks) are no rivals
    assert diagnose([ev(KILL, 1), ev(LOST, 2), ev(FETCH, 3)], app=APP, engine=engine).confidence == 0.95


def test_experimental_and_generic_rules_start_lower(engine: RuleEngine) -> None:
    killed = diagnose([ev("Job 1 cancelled because SparkContext was shut down")], app=APP, engine=engine)
    assert (killed.rule_id, killed.confidence) == ("job-killed", 0.7), "experimental, priority 30: not generic"
    generic = diagnose([ev("GenericBoom at line 3")], app=APP, engine=engine)
    assert (generic.rule_id, generic.confidence) == ("generic-boom", 0.57), "0.95 * 0.6"


def test_a_generic_rule_starts_lower_whatever_its_priority_under_forty(tmp_path: Path) -> None:
    """A generic rule of priority 30-39 (a Python builtin exception anywhere in the text) is as generic as one
    under 30: its answer is trusted as little, so the model's finding no cause can outweigh it."""
    pack = PACK.replace("  - id: generic-boom\n    category: user_code_error\n    priority: 20\n",
                        "  - id: generic-boom\n    category: user_code_error\n    priority: 35\n")
    assert pack != PACK
    packs = load_packs(write_pack(tmp_path, pack), builtin=False)
    generic = diagnose([ev("GenericBoom at line 3")], app=APP, engine=RuleEngine(packs.rules, packs.version))
    assert (generic.rule_id, generic.confidence) == ("generic-boom", 0.57)


def test_confidence_counts_categories_by_their_top_level(engine: RuleEngine) -> None:
    found = findings_for(ev(KILL), 0, engine)[0]
    same = findings_for(ev(KILL + " again"), 1, engine)[0]
    assert _confidence(found, [(found, 1), (same, 1)]) == 0.96
    assert _confidence(found, [(found, 1)]) == 0.95


# --- the evidence and its excerpt -------------------------------------------------------------------------

def test_evidence_says_where_the_deciding_event_was(engine: RuleEngine) -> None:
    d = diagnose([ev(LOST, 3.0, line=4), ev(KILL, 9.0, role="driver", container="c1", line=12)], app=APP,
                 engine=engine)
    first = d.evidence[0]
    assert (first.container_id, first.role, first.host, first.line, first.ts, first.rule_id) == (
        "c1", "driver", "node-3", 12, 9.0, "yarn-kill")
    assert first.excerpt == KILL
    assert (d.app_id, d.attempt, d.final_status, d.rule_pack_version) == (APP.app_id, 2, "FAILED", "testpack@7")
    assert (d.explain, d.remediation, d.domain, d.model_version, d.notes) == (
        "YARN killed the container for memory.", "Raise spark.executor.memoryOverhead.", "user", None, ())


def test_the_excerpt_is_the_events_excerpt_with_the_matched_line_kept(engine: RuleEngine) -> None:
    frames = [f"\tat a.B.m{i}(B.java:{i})" for i in range(40)]
    text = "\n".join(["org.apache.spark.SparkException: Task failed", *frames, "Caused by: " + KILL])
    excerpt = ("org.apache.spark.SparkException: Task failed", frames[5], frames[9])
    d = diagnose([ev(text, excerpt=excerpt)], app=APP, engine=engine)
    assert d.evidence[0].excerpt.split("\n") == [*excerpt, "Caused by: " + KILL], "in log order, matched line last"


def test_an_excerpt_is_capped_and_keeps_the_matched_line_first(engine: RuleEngine) -> None:
    lines = [f"\tat a.B.m{i}(B.java:{i})" for i in range(50)]
    lines[40] = KILL
    d = diagnose([ev("\n".join(lines), excerpt=())], app=APP, engine=engine)
    shown = d.evidence[0].excerpt.split("\n")
    assert len(shown) == MAX_EXCERPT_LINES
    assert shown == lines[:MAX_EXCERPT_LINES - 1] + [KILL], "without an excerpt every line is a candidate"


def test_a_matched_first_line_is_shown_though_the_excerpt_left_it_out(engine: RuleEngine) -> None:
    frames = [f"\tat a.B.m{i}(B.java:{i})" for i in range(5)]
    d = diagnose([ev("\n".join([KILL, *frames]), excerpt=(frames[2],))], app=APP, engine=engine)
    assert d.evidence[0].excerpt.split("\n") == [KILL, frames[2]]


def test_needed_lines_outside_the_text_are_ignored_and_too_many_are_cut() -> None:
    lines = [f"line {i}" for i in range(40)]
    event = ev("\n".join(lines), excerpt=("line 3",))
    assert excerpt(event, (-1, 40, 7)).split("\n") == ["line 3", "line 7"]
    shown = excerpt(ev("\n".join(lines), excerpt=("line 38",)), range(35)).split("\n")
    assert shown == lines[:MAX_EXCERPT_LINES], "the needed lines first; nothing else once they fill it"


def test_supporting_evidence_is_the_same_top_level_category_in_cascade_order(engine: RuleEngine) -> None:
    events = [ev(FETCH, 1, line=1), ev(KILL, 5, line=5), ev(DENIED, 6, line=6), ev(KILL + " twice", 3, line=3),
              ev(KILL + " thrice", 4, line=4), ev(KILL + " more", 8, line=8)]
    d = diagnose(events, app=APP, engine=engine)
    assert [e.line for e in d.evidence] == [3, 4, 5], "the root, then two more of its category, earliest first"
    assert all(e.rule_id == "yarn-kill" for e in d.evidence)


def test_evidence_of_a_run_is_its_earliest_occurrences(engine: RuleEngine) -> None:
    text = "24/03/12 10:11:13 WARN X: " + KILL
    run = EventRun(ev(text, ts=100.0, line=1), orders=[0, 1, 2, 3], lines=[1, 2, 3, 4],
                   stamps=["24/03/12 10:11:13", "24/03/12 10:11:12", "24/03/12 10:11:14", "24/03/12 10:11:11"], at=0)
    run._times = [100.0, 99.0, 101.0, 98.0]
    d = diagnose(EventRuns([run]), app=APP, engine=engine)
    assert [e.line for e in d.evidence] == [4, 2, 1]
    assert d.evidence[0].excerpt.startswith("24/03/12 10:11:11 WARN X")


def test_each_occurrence_of_a_run_keeps_its_own_position(engine: RuleEngine) -> None:
    """A run's later occurrence that came first in time competes with its own position in the log: at equal
    time and rank, the event logged between the two occurrences is earlier than the second one."""
    kill = run_of(ev(KILL, 5.0, line=1), [0, 2], [1, 3], [5.0, 1.0])
    denied = EventRun.single(ev(DENIED, 1.0, line=2), 1)
    assert diagnose(EventRuns([kill, denied]), app=APP, engine=engine).category == "access_denied"
    kill = run_of(ev(KILL, 5.0, line=1), [0, 1], [1, 2], [5.0, 1.0])
    denied = EventRun.single(ev(DENIED, 1.0, line=3), 2)
    assert diagnose(EventRuns([kill, denied]), app=APP, engine=engine).category == "container_killed_memory"


# --- the exceptions tab -----------------------------------------------------------------------------------

def test_exceptions_are_grouped_by_class_and_masked_message() -> None:
    a = ev("x", 5.0, exc="java.io.IOException", message="read 17 bytes of /data/a", line=3, container="c4")
    b = ev("y", 2.0, exc="java.io.IOException", message="read 18 bytes of /data/b", role="driver", line=9)
    c = ev("z", 1.0, exc="org.X", message="outer", causes=(Cause("java.io.EOFException", "deep 1"),))
    d = ev("w", None, level="ERROR", logger="Yarn", message="container lost")
    groups = group_exceptions([a, b, c, d], [None, "disk_full", None, "killed"])
    assert [(g.exc_class, g.count) for g in groups] == [
        ("java.io.IOException", 2), (None, 1), ("java.io.EOFException", 1)], "most first, then earliest (none: 0)"
    io = groups[0]
    assert (io.message, io.first_ts, io.first_line, io.first_container, io.roles, io.category) == (
        "read 17 bytes of /data/a", 5.0, 3, "c4", ("driver", "executor"), "disk_full")
    assert (groups[2].message, groups[2].level, groups[2].logger) == ("deep 1", None, None)
    assert (groups[1].level, groups[1].logger, groups[1].category, groups[1].first_ts) == (
        "ERROR", "Yarn", "killed", None)


def test_a_group_keeps_the_first_category_and_cuts_long_messages() -> None:
    long = "m" * 600
    events = [ev("a", 1.0, exc="E", message=long), ev("b", 2.0, exc="E", message=long)]
    (group,) = group_exceptions(events, ["first", "second"])
    assert group.category == "first" and group.message == "m" * 500 and group.count == 2
    runs = EventRuns([run_of(events[0], [0, 1, 2], [1, 2, 3], [1.0, 4.0, 5.0]), EventRun.single(events[1], 3)])
    (group,) = group_exceptions(runs, [None, "second"])
    assert group.count == 4 and group.category == "second"


def test_messages_alike_in_their_first_300_masked_characters_are_one_group() -> None:
    head = "x" * 300
    groups = group_exceptions([ev("a", exc="E", message=head + "a"), ev("b", exc="E", message=head + "b"),
                               ev("c", exc="E", message=head[:-1] + "c")], [None] * 3)
    assert [g.count for g in groups] == [2, 1]


def test_groups_of_equal_counts_are_ordered_by_first_time() -> None:
    groups = group_exceptions([ev("a", 9.0, exc="A"), ev("b", 3.0, exc="B"), ev("c", None, exc="C")], [None] * 3)
    assert [g.exc_class for g in groups] == ["C", "B", "A"], "no time sorts as 0"


# --- advice for the platform the logs show ----------------------------------------------------------------

def test_advice_that_names_only_the_other_platform_is_replaced(engine: RuleEngine) -> None:
    on_yarn = diagnose([ev("ExecutorOOM of the first kind", container="container_1700000000000_0042_01_000002")],
                       app=APP, engine=engine)
    assert on_yarn.remediation == "Raise spark.executor.memoryOverhead; YARN kills containers over it."
    on_k8s = diagnose([ev("ExecutorOOM of the first kind\nOOMKilled", container="spark-exec-2")], app=APP,
                      engine=engine)
    assert on_k8s.remediation == "Raise the executor pod's memory limit on Kubernetes."
    unsure = diagnose([ev("ExecutorOOM of the first kind")], app=APP, engine=engine)
    assert unsure.remediation == "Raise spark.executor.memoryOverhead; YARN kills containers over it."


def test_the_deciding_rules_own_advice_comes_first(engine: RuleEngine) -> None:
    d = diagnose([ev("ExecutorOOM of the second kind")], app=APP, engine=engine)
    assert (d.rule_id, d.remediation) == ("exec-oom-k8s", "Raise the executor pod's memory limit on Kubernetes."), (
        "not the advice of the category's higher-priority rule")


def test_the_models_answer_gets_advice_for_the_platform_shown(engine: RuleEngine) -> None:
    model = ScriptedModel({"odd": ("executor_oom", 0.81234)})
    d = diagnose([ev("com.acme.Odd: odd\nOOMKilled", exc="com.acme.Odd", container="spark-exec-2")], app=APP,
                 engine=engine, model=model)
    assert (d.source, d.confidence) == ("model", 0.812)
    assert d.remediation == "Raise the executor pod's memory limit on Kubernetes."


def test_without_an_own_advice_the_highest_priority_fitting_one_is_given(engine: RuleEngine) -> None:
    assert _remediation(engine, "executor_oom") == "Raise spark.executor.memoryOverhead; YARN kills containers over it."
    assert _remediation(engine, "executor_oom/heap", "kubernetes") == (
        "Raise the executor pod's memory limit on Kubernetes.")
    assert _remediation(engine, "executor_oom", "kubernetes", own="Mine, for pods.") == "Mine, for pods."
    assert _remediation(engine, "disk_full") == "", "no rule of that category"
    assert _remediation(engine, "disk_full", own="Mine on YARN.") == "Mine on YARN."
    assert _remediation(engine, "disk_full", "kubernetes", own="Mine on YARN.") == "Mine on YARN.", "nothing better"


# --- the model around the rules ---------------------------------------------------------------------------

def test_a_confident_model_answer_for_a_specific_cause_beats_a_generic_rule(engine: RuleEngine) -> None:
    """Over its threshold (0.6 here), the model naming another category is a specific signal: it decides,
    with its own probability as the confidence, and says which rule it overruled."""
    model = ScriptedModel({"GenericBoom": ("disk_full", 0.6)})
    d = diagnose([ev("GenericBoom at line 3", exc="com.acme.Boom")], app=APP, engine=engine, model=model)
    assert (d.category, d.source, d.confidence, d.rule_id, d.model_version) == (
        "disk_full", "model", 0.6, None, "scripted@1")
    assert d.explain.startswith("The generic rule generic-boom matched (user_code_error: the job threw); the model "
                                "recognises a specific cause, disk_full: ")
    assert d.notes == ("the model decided (0.60, over its threshold 0.60) over the generic rule generic-boom "
                       "(user_code_error)",)
    assert [(e.excerpt, e.rule_id) for e in d.evidence] == [("GenericBoom at line 3", None)]
    assert model.seen == [["GenericBoom at line 3"]], "the rule's exception"
    for answer in (("disk_full", 0.59), ("user_code_error", 0.99), ("_none", 0.57)):
        kept = diagnose([ev("GenericBoom")], app=APP, engine=engine, model=ScriptedModel({"GenericBoom": answer}))
        assert (kept.source, kept.rule_id, kept.confidence, kept.notes) == ("rule", "generic-boom", 0.57, ()), answer


def test_the_model_reads_the_generic_rules_exception_not_its_consequences(engine: RuleEngine) -> None:
    """A shuffle fetch failure after a user exception is its consequence (the cascade's order, which the
    rules set): the model is asked about the exception the generic rule matched, not about the others,
    so a confident answer on one of those does not turn the consequence into the cause."""
    events = [ev("GenericBoom at line 3", 1, exc="com.acme.Boom", line=3), ev(FETCH, 2, line=5),
              ev("com.acme.Store: no space left", 3, exc="com.acme.Store", line=6)]
    model = ScriptedModel({"Boom": ("user_code_error", 0.9), "FetchFailed": ("network_error", 0.99),
                           "no space": ("disk_full", 0.99)})
    d = diagnose(events, app=APP, engine=engine, model=model)
    assert (d.source, d.rule_id) == ("rule", "generic-boom")
    assert model.seen == [["GenericBoom at line 3"]]


def test_a_generic_rule_yields_to_the_model_finding_no_cause_more_probably(engine: RuleEngine) -> None:
    """The rule is right with its confidence (0.57); the model, finding no root cause in the rule's own
    exception with a higher probability, is the likelier: unknown, the rule's category kept as the hint,
    the rule's match as the evidence."""
    model = ScriptedModel({"GenericBoom": ("_none", 0.571)})
    d = diagnose([ev("GenericBoom at line 3")], app=APP, engine=engine, model=model)
    assert (d.category, d.source, d.confidence, d.rule_id, d.hint) == ("unknown", "none", 0.0, None, "user_code_error")
    assert d.explain == ("The generic rule generic-boom matched (user_code_error, confidence 0.57), but the model "
                         "finds no root cause in that exception (0.57), which is likelier.")
    assert [(e.excerpt, e.rule_id) for e in d.evidence] == [("GenericBoom at line 3", "generic-boom")]
    agreeing = [ev("GenericBoom at line 3", 1), ev("GenericBoom at line 9", 2)]  # 0.57 + 0.01
    assert diagnose(agreeing, app=APP, engine=engine, model=model).rule_id == "generic-boom"
    killed = diagnose([ev("Job 1 cancelled because SparkContext was shut down")], app=APP, engine=engine,
                      model=ScriptedModel({}))
    assert (killed.rule_id, killed.notes) == ("job-killed", ()), "priority 30, killed: not generic, not asked"


def test_the_model_is_not_asked_about_a_specific_rules_answer(engine: RuleEngine) -> None:
    model = ScriptedModel({"": ("disk_full", 0.99)})
    assert not diagnose([ev(KILL)], app=APP, engine=engine, model=model).notes and model.seen == []


def test_the_models_answer_when_no_rule_matches(engine: RuleEngine) -> None:
    events = [ev("com.acme.A: first", 1, exc="com.acme.A", line=1),
              ev("com.acme.B: second", 2, exc="com.acme.B", line=2),
              ev("com.acme.C: third", 3, exc="com.acme.C", line=3)]
    model = ScriptedModel({"first": ("disk_full", 0.7), "second": ("network_error", 0.9),
                           "third": ("not_a_category", 0.99)})
    d = diagnose(events, app=APP, engine=engine, model=model)
    assert (d.category, d.source, d.confidence, d.rule_id, d.domain) == ("network_error", "model", 0.9, None, "infra")
    assert d.explain.startswith("No rule matched; the model recognises network_error: ")
    assert [e.line for e in d.evidence] == [2] and d.evidence[0].rule_id is None
    assert model.seen == [[e.text for e in events]], "one batch"


def test_an_answer_exactly_at_the_threshold_is_trusted(engine: RuleEngine) -> None:
    d = diagnose([ev("com.acme.A: odd", exc="A")], app=APP, engine=engine,
                 model=ScriptedModel({"odd": ("disk_full", 0.6)}, threshold=0.6))
    assert (d.source, d.category) == ("model", "disk_full")


def test_the_first_of_equally_confident_answers_is_kept(engine: RuleEngine) -> None:
    events = [ev("com.acme.A: first", 1, exc="A", line=1), ev("com.acme.B: second", 2, exc="B", line=2)]
    model = ScriptedModel({"first": ("disk_full", 0.8), "second": ("network_error", 0.8)})
    assert diagnose(events, app=APP, engine=engine, model=model).category == "disk_full"


def test_the_model_reads_exceptions_and_errors_first() -> None:
    warn, error, fatal, thrown = (ev("w", level="WARN"), ev("e", level="ERROR"), ev("f", level="FATAL"),
                                  ev("t", level="WARN", exc="X"))
    assert model_candidates([warn, error, fatal, thrown]) == [error, fatal, thrown]
    assert model_candidates([warn]) == [warn]
    assert model_candidates([]) == []


# --- unknown ----------------------------------------------------------------------------------------------

def test_unknown_says_why_in_the_words_that_fit(engine: RuleEngine) -> None:
    none = diagnose([], app=APP, engine=engine)
    assert (none.category, none.domain, none.source, none.evidence) == ("unknown", "-", "none", ())
    assert none.explain == "The logs hold nothing to read."
    quiet = diagnose([ev("last words", message=LAST_LINES)], app=APP, engine=engine)
    assert quiet.explain == ("The application printed no error; no rule and no model names a cause in its logs' "
                             "last lines.")
    odd = diagnose([ev("java.lang.IllegalStateException: odd", exc="java.lang.IllegalStateException")], app=APP,
                   engine=engine, model=ScriptedModel({"odd": ("disk_full", 0.5)}))
    assert odd.explain == ("No rule matched the exceptions of this application; the model's best guess is below "
                           "its threshold.")
    assert (odd.hint, odd.confidence, odd.model_version) == ("disk_full", 0.0, "scripted@1")
    assert _unknown_why([ev("x", message=LAST_LINES, exc="E")]) == "No rule matched the exceptions of this application"


def test_unknown_shows_the_first_exceptions_in_log_order(engine: RuleEngine) -> None:
    events = [ev(f"com.acme.E{i}: odd", float(i), exc=f"E{i}" if i % 2 else None, line=i) for i in range(8)]
    d = diagnose(events, app=APP, engine=engine)
    assert [e.line for e in d.evidence] == [1, 3, 5]
    plain = diagnose(events[::2], app=APP, engine=engine)
    assert [e.line for e in plain.evidence] == [0, 2, 4], "no event carries a class: any events"


def test_the_first_events_of_runs_are_placed_by_their_own_positions() -> None:
    a = run_of(ev("a", exc="A", line=1), [0, 5, 6], [1, 6, 7], [1.0, 6.0, 7.0])
    b = run_of(ev("b", exc="B", line=2), [1, 2], [2, 3], [2.0, 3.0])
    assert [e.line for e in _first_events(EventRuns([a, b]), 3)] == [1, 2, 3]
    assert [e.line for e in _first_events(EventRuns([a, b]), 4)] == [1, 2, 3, 6]


def test_a_cut_line_is_noted(engine: RuleEngine) -> None:
    d = diagnose([ev(KILL + " [... 900 " + CUT_SEEN)], app=APP, engine=engine)
    assert d.notes == ("a very long log line was cut; its head, its tail and the words around its failure words "
                       "were kept and read",)
    model = ScriptedModel({"GenericBoom": ("disk_full", 0.9)})
    both = diagnose([ev("GenericBoom [... 9 " + CUT_SEEN)], app=APP, engine=engine, model=model)
    assert len(both.notes) == 2 and both.notes[1].startswith("the model decided")


# --- loading -------------------------------------------------------------------------------------------

def test_packs_are_linted_and_compiled_for_the_backend_asked(tmp_path: Path) -> None:
    """What ``load_classifier`` compiles when its cache has nothing (called here: the cache would hide it)."""
    folder = write_pack(tmp_path / "packs")
    compiled = _lint_and_compile(str(folder), "re")
    packs = load_packs(folder)
    assert compiled.backend == "re" and compiled.version == packs.version and "testpack@7" in compiled.version
    assert [r.id for r in compiled.rules] == [r.id for r in packs.rules]
    assert "yarn-kill" in [r.id for r in compiled.match(KILL, "executor")]


def test_load_classifier_compiles_for_the_backend_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(model_mode="off", rules_dir=str(write_pack(tmp_path / "packs")),
                        rules_cache=str(tmp_path / "cache"))
    loaded = load_classifier(settings, backend="re")
    assert loaded.model is None and loaded.engine.backend == "re" and "testpack@7" in loaded.engine.version
    with monkeypatch.context() as patched:
        patched.setattr("classifiers.core._lint_and_compile", lambda *_: pytest.fail("compiled again"))
        cached = load_classifier(settings, backend="re")
    assert cached.engine.backend == "re" and [r.id for r in cached.engine.rules] == [r.id for r in loaded.engine.rules]
    assert load_classifier(settings).engine.backend == BACKENDS[0], "the cache keeps each backend's engine apart"


# --- restricting a classifier -----------------------------------------------------------------------------

def test_only_keeps_what_the_mode_names(engine: RuleEngine) -> None:
    model = ScriptedModel({})
    both = Classifier(engine=engine, model=model)
    assert only(both, "rules") == Classifier(engine=engine)
    alone = only(both, "model")
    assert alone.model is model and alone.engine.rules == [] and alone.engine.version == "none"
    assert only(both, "combined") is both
    with pytest.raises(ConfigError, match="no model is loaded"):
        only(Classifier(engine=engine), "model")
