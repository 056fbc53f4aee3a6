"""A ResourceManager application report -> one lifecycle record (pure).

The report is an element of ``apps.app`` of ``GET /ws/v1/cluster/apps``
(Hadoop's ResourceManager REST API): ``id``, ``user``, ``name``, ``queue``,
``state``, ``finalStatus``, ``diagnostics``, ``applicationTags`` (one
comma-separated string), ``startedTime``, ``finishedTime``, ``elapsedTime``
(ms), ``amHostHttpAddress``, ``amContainerLogs`` (whose container id names
the last attempt).
"""

from __future__ import annotations

import re
from typing import Any

from logtext.yarn import parse_container_id
from sparktriage.watchers.tags import TagMapper

TERMINAL_STATES = ("FINISHED", "FAILED", "KILLED")
_STATUSES = ("SUCCEEDED", "FAILED", "KILLED")
_ATTEMPT = re.compile(r"appattempt_\d+_\d+_(\d+)")


def final_status(state: str, final: str) -> str:
    """FAILED, KILLED or SUCCEEDED as the worker understands it.

    ``finalStatus`` is what the ApplicationMaster reported; when it never
    reported (it crashed, or was killed: ``UNDEFINED``) the RM's own state
    says it. An application FINISHED with an UNDEFINED status unregistered
    without saying: it counts as FAILED, so that its evidence is read.
    """
    if final in _STATUSES:
        return final
    return state if state in ("FAILED", "KILLED") else "FAILED"


def last_attempt(app: dict[str, Any]) -> int:
    """The attempt that ended the application: from the AM container's log link, else the diagnostics."""
    cid = parse_container_id(str(app.get("amContainerLogs") or ""))
    if cid is not None:
        return cid.attempt
    attempts = [int(n) for n in _ATTEMPT.findall(str(app.get("diagnostics") or ""))]
    return max(attempts) if attempts else 1


def _host(address: Any) -> str | None:
    return str(address).rsplit(":", 1)[0] if address else None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def lifecycle_record(app: dict[str, Any], tags: TagMapper) -> dict[str, Any]:
    """The ``app_end`` envelope for one finished application (``ingest.envelope`` reads it)."""
    tag_list = [t.strip() for t in str(app.get("applicationTags") or "").split(",") if t.strip()]
    state, final = str(app.get("state") or ""), str(app.get("finalStatus") or "")
    record: dict[str, Any] = {
        "app_id": app["id"], "event": "app_end", "status": final_status(state, final),
        "attempt": last_attempt(app), "ts": _int(app.get("finishedTime")) or None,
        "user": app.get("user") or None, "queue": app.get("queue") or None,
        "lifecycle": {
            "source": "yarn", "state": state or None, "final_status": final or None,
            "diagnostics": str(app.get("diagnostics") or ""), "name": app.get("name") or None,
            "tags": tag_list, "elapsed_ms": _int(app.get("elapsedTime")),
            "am_host": _host(app.get("amHostHttpAddress")),
        },
    }
    return tags.annotate(record, tag_list)
