"""The records every layer passes on: a diagnosis goes out (output topic, webhook, fingerprint) as
``to_dict`` writes it and comes back (relabel, the API) as ``from_dict`` reads it, every field intact."""

from __future__ import annotations

import json
from dataclasses import MISSING, fields

from sparktriage.records import Diagnosis, Evidence, ExceptionGroup


def _unset(record: object) -> list[str]:
    """The fields still at their default: a round trip cannot show such a field lost."""
    return [f.name for f in fields(record) if f.default is not MISSING and getattr(record, f.name) == f.default]


EVIDENCE = Evidence("java.lang.OutOfMemoryError: Java heap space", "container_e01_0002", "executor", "node7", 4211,
                    1_700_000_123.5, "jvm-heap-oom")
GROUP = ExceptionGroup("java.lang.OutOfMemoryError", "Java heap space", 3, 1_700_000_100.0, 4211, "container_e01_0002",
                       ("executor", "driver"), "executor_oom", "ERROR", "org.apache.spark.executor.Executor")
DIAGNOSIS = Diagnosis(app_id="application_1700000000000_0042", category="executor_oom", domain="memory",
                      confidence=0.87, source="model", attempt=2, rule_id="jvm-heap-oom", explain="An executor ran out.",
                      remediation="Raise spark.executor.memory.", evidence=(EVIDENCE,), exceptions=(GROUP,),
                      hint="driver_oom", notes=("the model decided",), rule_pack_version="builtin@9",
                      model_version="textcat@5", final_status="FAILED")


def test_every_field_is_set_here() -> None:
    assert _unset(EVIDENCE) == _unset(GROUP) == _unset(DIAGNOSIS) == []


def test_a_diagnosis_survives_to_dict_json_and_from_dict() -> None:
    out = DIAGNOSIS.to_dict()
    assert set(out) == {f.name for f in fields(Diagnosis)}
    assert set(out["evidence"][0]) == {f.name for f in fields(Evidence)}
    assert set(out["exceptions"][0]) == {f.name for f in fields(ExceptionGroup)}
    assert Diagnosis.from_dict(json.loads(json.dumps(out))) == DIAGNOSIS
