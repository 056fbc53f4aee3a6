"""The one diagnosis document: its schema file, and what each output fills in."""

from __future__ import annotations

import datetime as dt
import json
import re

import jsonschema
import pytest

from sparktriage.payload import SCHEMA_VERSION, build_payload, iso, schema, supersedes
from sparktriage.records import AppInfo, Diagnosis, Evidence, ExceptionGroup, Workflow
from sparktriage.taxonomy import CATEGORIES
from tests.diagnosis_schema import assert_valid

APP = AppInfo(app_id="application_1700000000000_0077", attempt=2, team="ads", user="ana", queue="etl",
              workflow=Workflow("etl", "daily", "load", "42"), started=1_700_000_000.0, ended=1_700_000_600.5,
              final_status="FAILED")
DIAGNOSIS = Diagnosis(
    app_id=APP.app_id, attempt=2, category="executor_oom/gc_overhead", domain="user", confidence=0.9,
    source="rule", rule_id="jvm-gc-overhead", explain="GC overhead limit exceeded.\nMore words.",
    remediation="Raise executor memory.", notes=("a note",),
    evidence=(Evidence("java.lang.OutOfMemoryError: GC overhead limit exceeded", "container_1", "executor",
                       "node-7.example", 12, 1_700_000_500.0, "jvm-gc-overhead"),),
    exceptions=(ExceptionGroup("java.lang.OutOfMemoryError", "GC overhead limit exceeded", 3, 1_700_000_500.0, 12,
                               "container_1", ("executor",), "executor_oom"),
                ExceptionGroup(None, "Lost executor 3", 1, None, 40, "container_2", ("driver",), None,
                               level="WARN", logger="TaskSetManager")),
    rule_pack_version="core@1", model_version="textcat@2")


def test_the_schema_file_is_a_valid_schema_naming_every_category() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())
    assert schema()["properties"]["schema_version"]["const"] == SCHEMA_VERSION
    named = re.match(r"\^\(([^)]*)\)", schema()["properties"]["category"]["pattern"]).group(1).split("|")
    assert sorted(named) == sorted(CATEGORIES)


def test_a_full_document_validates_and_carries_times_link_host_and_the_replaced_diagnosis() -> None:
    old = Diagnosis(app_id=APP.app_id, category="unknown", domain="-", confidence=0.0, source="none")
    doc = build_payload(APP, DIAGNOSIS, diagnosed=1_700_000_700.0, dashboard_url="https://triage.example/",
                        replaces=supersedes(old, 1_700_000_650.0))
    assert_valid(doc)
    assert json.loads(json.dumps(doc)) == doc
    assert (doc["id"], doc["category"], doc["rule_id"], doc["summary"]) == (
        "application_1700000000000_0077#2", "executor_oom/gc_overhead", "jvm-gc-overhead", "GC overhead limit exceeded.")
    assert doc["ended"] == "2023-11-14T22:23:20.500000Z" and doc["diagnosed"] == "2023-11-14T22:25:00Z"
    assert doc["dashboard_url"] == "https://triage.example/explorer?app=application_1700000000000_0077%20%232"
    assert doc["host"] == "node-7.example" and doc["evidence"] == [DIAGNOSIS.evidence[0].excerpt]
    assert doc["evidence_locations"][0]["time"] == "2023-11-14T22:21:40Z"
    assert doc["supersedes"] == {"category": "unknown", "rule_id": None, "source": "none", "confidence": 0.0,
                                 "diagnosed": "2023-11-14T22:24:10Z"}
    no_class = doc["exceptions"][1]
    assert (no_class["exc_class"], no_class["level"], no_class["logger"]) == (None, "WARN", "TaskSetManager")


def test_a_bare_document_validates_with_now_as_its_diagnosis_time() -> None:
    doc = build_payload(AppInfo(app_id="local"), Diagnosis(app_id="local", category="unknown", domain="-",
                                                           confidence=0.0, source="none"), item_id=7)
    assert_valid(doc)
    assert doc["id"] == 7 and doc["ended"] is None and doc["dashboard_url"] is None and doc["host"] is None
    diagnosed = dt.datetime.fromisoformat(doc["diagnosed"])
    assert abs((dt.datetime.now(dt.UTC) - diagnosed).total_seconds()) < 60


@pytest.mark.parametrize("change", [
    {"category": "out_of_memory"},  # not a taxonomy id
    {"confidence": 1.5},
    {"ended": "2023-11-14 22:23:20"},  # not ISO 8601 with a zone
    {"diagnosed": None},
    {"surprise": 1},  # a field the schema does not describe
])
def test_the_schema_refuses_what_breaks_the_contract(change: dict) -> None:
    doc = {**build_payload(APP, DIAGNOSIS), **change}
    with pytest.raises(AssertionError):
        assert_valid(doc)


def test_iso_is_utc_with_z() -> None:
    assert iso(0.0) == "1970-01-01T00:00:00Z" and iso(None) is None
