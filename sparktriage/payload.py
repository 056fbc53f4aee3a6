"""The diagnosis payload: one versioned JSON document for the output topic and the webhook.

Consumers (a workflow tool's exceptions tab, a data catalogue, alerting)
should not need to know the store's schema: this is the public shape, and
``schema_version`` changes when it does.
"""

from __future__ import annotations

from typing import Any

from sparktriage.records import AppInfo, Diagnosis

SCHEMA_VERSION = "sparktriage.diagnosis/v1"


def build_payload(app: AppInfo, diagnosis: Diagnosis) -> dict[str, Any]:
    first = diagnosis.explain.split("\n", 1)[0]
    return {
        "schema_version": SCHEMA_VERSION,
        "app_id": app.app_id,
        "attempt": app.attempt,
        "final_status": app.final_status,
        "team": app.team,
        "user": app.user,
        "queue": app.queue,
        "workflow": app.workflow.to_dict(),
        "root_cause": {
            "category": diagnosis.category,
            "domain": diagnosis.domain,
            "summary": first,
            "remediation": diagnosis.remediation,
            "confidence": diagnosis.confidence,
            "source": diagnosis.source,
            "rule_id": diagnosis.rule_id,
            "hint": diagnosis.hint,
            "notes": list(diagnosis.notes),
        },
        "evidence": [e.to_dict() for e in diagnosis.evidence],
        "exceptions": [g.to_dict() for g in diagnosis.exceptions],
        "versions": {"rule_pack": diagnosis.rule_pack_version, "model": diagnosis.model_version},
    }
