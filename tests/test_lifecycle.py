"""Lifecycle records: the envelope contract (old and new shapes) and the evidence they carry."""

from __future__ import annotations

import json

import pytest

from classifiers.core import load_classifier
from ingest.envelope import parse_envelope
from ingest.lifecycle import lifecycle_events
from sparktriage.errors import BadInput
from sparktriage.records import AppInfo, Envelope
from sparktriage.settings import Settings

APP = "application_1712000000000_0042"


def env(record: dict) -> Envelope:
    return parse_envelope(APP.encode(), json.dumps(record).encode())


@pytest.fixture(scope="module")
def classifier():
    return load_classifier(Settings())


def test_the_old_app_end_contract_still_parses_without_evidence() -> None:
    e = env({"app_id": APP, "event": "app_end", "status": "failed"})
    assert (e.event, e.status, e.lifecycle) == ("app_end", "FAILED", None)
    assert lifecycle_events(e) == []


def test_a_yarn_record_round_trips_through_the_envelope() -> None:
    e = env({"app_id": APP, "event": "app_end", "status": "KILLED", "attempt": 2, "ts": 1712000000000,
             "lifecycle": {"source": "yarn", "state": "KILLED", "final_status": "KILLED",
                           "diagnostics": "Application killed by user.", "tags": ["dag_id:etl"],
                           "elapsed_ms": 5000, "am_host": "node-7", "future_field": 1}})
    assert e.lifecycle is not None and e.lifecycle.tags == ("dag_id:etl",) and e.attempt == 2
    assert Envelope.from_dict(e.to_dict()) == e  # the form the changelog carries


@pytest.mark.parametrize(("record", "reason"), [
    ({"event": "app_end", "status": "FAILED", "lifecycle": "oops"}, "bad_field"),
    ({"event": "app_end", "status": "FAILED", "lifecycle": {"diagnostics": "x"}}, "missing_field"),
    ({"event": "app_end", "status": "FAILED", "lifecycle": {"source": "k8s", "exit_code": "137"}}, "bad_field"),
    ({"event": "app_end", "status": "FAILED", "lifecycle": {"source": "k8s", "exit_code": True}}, "bad_field"),
    ({"event": "app_end", "status": "FAILED", "lifecycle": {"source": "yarn", "tags": "a,b"}}, "bad_field"),
    ({"event": "app_end", "status": "FAILED", "lifecycle": {"source": "yarn", "diagnostics": 5}}, "bad_field"),
    ({"event": "container_end"}, "missing_field"),
    ({"line": "hello", "lifecycle": {"source": "yarn"}}, "bad_field"),
])
def test_a_malformed_lifecycle_is_refused_with_its_reason(record: dict, reason: str) -> None:
    with pytest.raises(BadInput) as err:
        env({"app_id": APP, **record})
    assert err.value.reason == reason


def test_rm_diagnostics_become_one_resource_manager_event_that_rules_read(classifier) -> None:
    diagnostics = ("Application application_1712000000000_0042 failed 2 times due to AM Container for "
                   "appattempt_1712000000000_0042_000002 exited with  exitCode: -104\nFailing this attempt."
                   "Diagnostics: [2024-03-12 04:11:09.412]Container killed on request.")
    e = env({"app_id": APP, "event": "app_end", "status": "FAILED", "attempt": 2,
             "lifecycle": {"source": "yarn", "diagnostics": diagnostics, "am_host": "node-7"}})
    [event] = lifecycle_events(e)
    assert (event.role, event.attempt, event.host) == ("resource_manager", 2, "node-7")
    diagnosis = classifier.diagnose([event], AppInfo(app_id=APP, attempt=2, final_status="FAILED"))
    assert diagnosis.category == "container_killed_memory"
    assert diagnosis.evidence[0].role == "resource_manager"


@pytest.mark.parametrize(("diagnostics", "category"), [
    ("Application killed by user.", "killed"),
    ("Application application_1712000000000_0043 was killed by user oncall at 10.1.2.3", "killed"),
    ("Application application_1712000000000_0044 submitted by user etl to unknown queue: adhoc",
     "resource_unavailable"),
    ("Application is added to the scheduler and is not yet activated. Queue's AM resource limit exceeded.  "
     "Details : AM Partition = <DEFAULT_PARTITION>", "resource_unavailable"),
])
def test_the_rm_wordings_only_the_rm_writes_are_covered_by_the_packs(classifier, diagnostics: str,
                                                                      category: str) -> None:
    [event] = lifecycle_events(env({"app_id": APP, "event": "app_end", "status": "FAILED",
                                    "lifecycle": {"source": "yarn", "diagnostics": diagnostics}}))
    assert classifier.diagnose([event], AppInfo(app_id=APP, final_status="FAILED")).category == category


def test_an_empty_diagnostics_or_a_clean_pod_end_says_nothing() -> None:
    assert lifecycle_events(env({"app_id": APP, "event": "app_end", "status": "SUCCEEDED",
                                 "lifecycle": {"source": "yarn", "diagnostics": "  "}})) == []
    assert lifecycle_events(env({"app_id": APP, "event": "app_end", "status": "SUCCEEDED", "role": "driver",
                                 "lifecycle": {"source": "k8s", "state": "Succeeded", "exit_code": 0}})) == []


def test_a_driver_pod_oomkilled_is_a_memory_kill_of_the_driver(classifier) -> None:
    e = env({"app_id": "spark-7f3a", "event": "app_end", "status": "FAILED", "role": "driver",
             "container_id": "etl-driver", "lifecycle": {"source": "k8s", "state": "Failed", "reason": "OOMKilled",
                                                         "exit_code": 137, "pod": "etl-driver", "namespace": "etl"}})
    [event] = lifecycle_events(e)
    assert event.role == "driver" and "termination reason: OOMKilled" in event.text
    diagnosis = classifier.diagnose([event], AppInfo(app_id="spark-7f3a", final_status="FAILED"))
    assert (diagnosis.category, diagnosis.evidence[0].role) == ("container_killed_memory", "driver")


def test_an_evicted_executor_pod_is_evidence_with_the_kubelets_message(classifier) -> None:
    message = ("The node was low on resource: memory. Threshold quantity: 100Mi, available: 51200Ki. Container "
               "spark-kubernetes-executor was using 9437184Ki, request is 4Gi, has larger consumption of memory.")
    e = env({"app_id": "spark-7f3a", "event": "container_end", "role": "executor", "container_id": "etl-exec-3",
             "lifecycle": {"source": "k8s", "state": "Failed", "reason": "Evicted", "diagnostics": message,
                           "pod": "etl-exec-3"}})
    [event] = lifecycle_events(e)
    assert (event.role, event.container_id) == ("executor", "etl-exec-3")
    assert classifier.diagnose([event], AppInfo(app_id="spark-7f3a", final_status="FAILED")).category == \
        "container_killed_memory"


def test_secrets_in_diagnostics_are_redacted() -> None:
    [event] = lifecycle_events(env({"app_id": APP, "event": "app_end", "status": "FAILED", "lifecycle": {
        "source": "yarn", "diagnostics": "User class threw exception: jdbc login failed password=hunter2"}}))
    assert "hunter2" not in event.text and "hunter2" not in "".join(event.excerpt)
