"""Repeated exceptions cost once: events with the same text share the rules' answers, with the same diagnosis."""

from __future__ import annotations

from classifiers.core import diagnose, load_classifier
from classifiers.masking import mask
from classifiers.rootcause import FirstFindings, choose_root, findings_for
from logtext.events import extract_events
from rules.engine import RuleEngine
from sparktriage.records import AppInfo
from sparktriage.settings import Settings

APP = AppInfo(app_id="application_1_0001", final_status="FAILED")
WARN = "24/03/12 10:11:{s:02d} WARN BlockManager: Failed to fetch block rdd_{n}_3, retrying"
FETCH = ("24/03/12 10:12:00 ERROR TaskSetManager: Lost task 1.0\n"
         "org.apache.spark.shuffle.FetchFailedException: Failed to connect to host-9:7337")
OOM = "24/03/12 10:13:00 ERROR Executor: java.lang.OutOfMemoryError: Java heap space"


class CountingEngine(RuleEngine):
    """The real engine, counting the texts it is asked about."""

    asked = 0

    def match(self, text: str, role: str = "unknown"):
        self.asked += 1
        return super().match(text, role)


def _log() -> str:
    lines = [WARN.format(s=n % 3, n=n % 2) for n in range(3000)]  # 3,000 warnings, 6 distinct texts
    return "\n".join(lines[:1500] + [FETCH] + lines[1500:] + [OOM, FETCH]) + "\n"


def test_a_repeated_exception_is_matched_once_and_still_counted() -> None:
    base = load_classifier(Settings(model_mode="off")).engine
    engine = CountingEngine(base.rules, base.version, base.backend)
    events = extract_events(_log(), app_id=APP.app_id, role="executor")
    assert len(events) == 3003
    d = diagnose(events, app=APP, engine=engine)
    assert engine.asked == len({(e.text, e.role) for e in events}) == 8
    assert sum(g.count for g in d.exceptions) == 3003, "the exceptions tab counts every occurrence"
    assert max(g.count for g in d.exceptions) == 3000


def test_shared_answers_give_the_diagnosis_of_per_event_answers() -> None:
    engine = load_classifier(Settings(model_mode="off")).engine
    events = extract_events(_log().replace(OOM + "\n", ""), app_id=APP.app_id, role="executor")
    d = diagnose(events, app=APP, engine=engine)
    per_event = [f[0] for f in (findings_for(e, n, engine) for n, e in enumerate(events)) if f]
    root = choose_root(per_event)
    same = sorted((f for f in per_event if f.category == root.category), key=lambda f: f.cascade_key())
    assert d.rule_id == root.rule.id and len(same) == 2, "the repeated FETCH decides, seen twice"
    assert [e.line for e in d.evidence] == [f.event.line for f in same], "each occurrence is its own evidence"


def test_masking_remembers_texts_without_their_timestamps() -> None:
    a = mask("2024-03-12 10:11:13,123 WARN x: retrying block rdd_4_2 after 3 attempts")
    b = mask("2024-03-12 10:11:59,999 WARN x: retrying block rdd_4_2 after 3 attempts")
    assert a == b == "<TS> WARN x: retrying block <BLOCK> after <NUM> attempts"


class LocatingEngine(RuleEngine):
    """The real engine, counting the rules it searches a text for."""

    located = 0

    def locate(self, rule, text: str) -> int:
        self.located += 1
        return super().locate(rule, text)


def _where(finding) -> tuple:
    return (finding.rule.id, finding.line_index, finding.depth) if finding else None


TRACE = ("24/03/12 10:12:00 WARN TaskSetManager: Lost task {a}.0 in stage {b}.0: "
         "org.apache.spark.shuffle.FetchFailedException: Failed to connect to host-{a}:{c}\n"
         "Caused by: java.io.IOException: Failed to connect to host-{a}:{d}\n"
         "\tat org.apache.spark.network.client.TransportClientFactory.createClient(TransportClientFactory.java:{b})")


def test_a_trace_with_other_numbers_is_searched_again_only_for_the_rules_that_read_digits() -> None:
    base = load_classifier(Settings(model_mode="off")).engine
    engine = LocatingEngine(base.rules, base.version, base.backend)
    events = [e for a in range(10, 40) for e in extract_events(TRACE.format(a=a, b=a + 7, c=5000 + a, d=6000 + a),
                                                               app_id=APP.app_id, role="executor")]
    first = FirstFindings(engine)
    got = [_where(first(e, n)) for n, e in enumerate(events)]
    shared = engine.located
    assert got == [_where(findings_for(e, n, base)[0]) for n, e in enumerate(events)]
    rules = [r for r in engine.match(events[0].text, "executor") if r.decides]
    assert len(rules) >= 2 and not any(engine.reads_digits(r) for r in rules)
    assert shared == len(rules), "the first trace is searched for each rule, the others for none"


def test_a_rule_that_reads_digits_is_located_in_each_text() -> None:
    """7337 (the shuffle service's port) is read by a rule: where it stands decides how deep the finding is."""
    engine = load_classifier(Settings(model_mode="off")).engine
    texts = [TRACE.format(a=11, b=12, c=7338, d=7337), TRACE.format(a=11, b=12, c=7337, d=7338)]
    events = [extract_events(t, app_id=APP.app_id, role="executor")[0] for t in texts]
    first = FirstFindings(engine)
    got = [_where(first(e, n)) for n, e in enumerate(events)]
    assert got == [_where(findings_for(e, n, engine)[0]) for n, e in enumerate(events)]
    # 7337 in the cause: its rule is the deepest specific finding; 7337 in the wrapper: at depth 0 the wrapper's
    # own rule outranks it, and the cause's connect failure is a fallback (``rootcause``: it never beats a
    # specific finding of its exception)
    assert got == [("shuffle-service-connect-failed", 1, 1), ("shuffle-fetch-failed", 0, 0)]


def test_a_trace_whose_digit_reading_rule_matches_where_it_did_shares_its_finding() -> None:
    """Other task ids and ports, 7337 in the same line: the first finding is the first trace's, not made again;
    7337 elsewhere makes a finding of its own. Each is the finding ``findings_for`` gives that trace."""
    engine = load_classifier(Settings(model_mode="off")).engine
    texts = [TRACE.format(a=a, b=a + 7, c=5000 + a, d=7337) for a in range(10, 14)]
    texts.append(TRACE.format(a=14, b=21, c=7337, d=5014))
    events = [extract_events(t, app_id=APP.app_id, role="executor")[0] for t in texts]
    assert any(engine.reads_digits(r) for r in engine.match(events[0].text, "executor") if r.decides)
    first = FirstFindings(engine)
    got = [first(e, n) for n, e in enumerate(events)]
    assert [_where(f) for f in got] == [_where(findings_for(e, n, engine)[0]) for n, e in enumerate(events)]
    assert all(f is got[0] for f in got[1:4]), "found once for the four traces with 7337 in their cause"
    assert got[4] is not got[0] and got[4].event is events[4]
