"""The diagnosis document: one versioned JSON shape for every output.

The webhook, the ``spark-diagnoses`` topic, ``classify --json``, each line of
``classify --jsonl`` and ``relabel --notify`` all emit :func:`build_payload`'s
document, described by ``sparktriage/schemas/diagnosis.json`` (the tests
validate every output against it). Consumers (a workflow tool's exceptions
tab, a data catalogue, alerting) need not know the store's schema: this is
the public shape, and ``schema_version`` changes when it does. It is flat so
that the ``--jsonl`` contract's fields (id, category, confidence, source,
rule_id, evidence as a list of excerpts) are the document's own.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from typing import Any
from urllib.parse import quote

from sparktriage.records import AppInfo, Diagnosis
from sparktriage.status import LABELS, RUNNING

SCHEMA_VERSION = "sparktriage.diagnosis/v2"


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of the document (package data)."""
    import importlib.resources  # here: importing it (tempfile, random, zipfile) cost 10 ms of every classify

    text = (importlib.resources.files("sparktriage") / "schemas" / "diagnosis.json").read_text(encoding="utf-8")
    return json.loads(text)


def iso(epoch: float | None) -> str | None:
    """Epoch seconds as ISO 8601 in UTC (``2026-11-30T13:24:58Z``), None kept."""
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat().replace("+00:00", "Z")


def explorer_link(dashboard_url: str | None, app_id: str, attempt: int) -> str | None:
    """The application in the dashboard's Explorer, whose ``app`` parameter opens it."""
    if not dashboard_url:
        return None
    return f"{dashboard_url.rstrip('/')}/explorer?app={quote(f'{app_id} #{attempt}')}"


def supersedes(old: Diagnosis, diagnosed: float | None = None) -> dict[str, Any]:
    """The ``supersedes`` marker: what the earlier, replaced diagnosis said."""
    return {"category": old.category, "rule_id": old.rule_id, "source": old.source,
            "confidence": old.confidence, "diagnosed": iso(diagnosed)}


def build_payload(app: AppInfo, diagnosis: Diagnosis, *, item_id: Any = None, diagnosed: float | None = None,
                  dashboard_url: str | None = None, replaces: dict[str, Any] | None = None,
                  end_source: str | None = None) -> dict[str, Any]:
    """The document of one diagnosis.

    ``item_id`` is a ``--jsonl`` input's id (default ``app_id#attempt``);
    ``diagnosed`` defaults to now; ``replaces`` is a :func:`supersedes` marker.
    ``provisional`` is true for an early notice about a stalled application
    still running; ``end`` says how it ended (``sparktriage.status``) and
    where the worker learnt it (``end_source``).
    """
    locations = [{"container_id": e.container_id, "role": e.role, "host": e.host, "line": e.line,
                  "time": iso(e.ts), "rule_id": e.rule_id} for e in diagnosis.evidence]
    return {
        "schema_version": SCHEMA_VERSION,
        "id": f"{app.app_id}#{app.attempt}" if item_id is None else item_id,
        "app_id": app.app_id,
        "attempt": app.attempt,
        "category": diagnosis.category,
        "domain": diagnosis.domain,
        "confidence": diagnosis.confidence,
        "source": diagnosis.source,
        "rule_id": diagnosis.rule_id,
        "summary": diagnosis.explain.split("\n", 1)[0],
        "explain": diagnosis.explain,
        "remediation": diagnosis.remediation,
        "hint": diagnosis.hint,
        "notes": list(diagnosis.notes),
        "evidence": [e.excerpt for e in diagnosis.evidence],
        "evidence_locations": locations,
        "exceptions": [{"exc_class": g.exc_class, "level": g.level, "logger": g.logger, "message": g.message,
                        "count": g.count, "first_seen": iso(g.first_ts), "first_line": g.first_line,
                        "first_container": g.first_container, "roles": list(g.roles), "category": g.category}
                       for g in diagnosis.exceptions],
        "final_status": app.final_status,
        "provisional": app.final_status == RUNNING,
        "end": {"status": LABELS[app.final_status], "source": end_source} if app.final_status in LABELS else None,
        "team": app.team,
        "user": app.user,
        "queue": app.queue,
        "host": next((e.host for e in diagnosis.evidence if e.host), None),
        "workflow": app.workflow.to_dict(),
        "started": iso(app.started),
        "ended": iso(app.ended),
        "diagnosed": iso(dt.datetime.now(dt.UTC).timestamp() if diagnosed is None else diagnosed),
        "dashboard_url": explorer_link(dashboard_url, app.app_id, app.attempt),
        "supersedes": replaces,
        "versions": {"rule_pack": diagnosis.rule_pack_version, "model": diagnosis.model_version},
    }


def payload_text(app: AppInfo, diagnosis: Diagnosis, **options: Any) -> str:
    """The document as the JSON text a webhook body or a topic record carries."""
    return json.dumps(build_payload(app, diagnosis, **options))
