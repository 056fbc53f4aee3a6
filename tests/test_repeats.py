"""Repeated exceptions cost once: events with the same text share the rules' answers, with the same diagnosis."""

from __future__ import annotations

from classifiers.core import diagnose, load_classifier
from classifiers.masking import mask
from classifiers.rootcause import choose_root, findings_for
from ingest.events import extract_events
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
