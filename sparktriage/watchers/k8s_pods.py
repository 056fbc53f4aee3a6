"""A Spark pod (or spark-operator SparkApplication) that ended -> one lifecycle record (pure).

Spark on Kubernetes labels its pods ``spark-app-selector`` (the application
id, the key log shippers use too) and ``spark-role`` (``driver`` or
``executor``). A pod has ended when its phase is ``Succeeded`` or
``Failed``; the container's ``state.terminated`` gives the exit code and
reason (``OOMKilled``, ``Error``...), the pod's own ``status.reason`` and
``message`` say what the kubelet did to it (``Evicted`` under node pressure,
``DeadlineExceeded``). A driver pod deleted before it ended is a kill. The
driver's end is the application's (``app_end``); an executor's bad end is
evidence of its application (``container_end``). Objects are the API's
JSON, as the watch stream sends them.
"""

from __future__ import annotations

from typing import Any

from sparktriage.watchers.tags import TagMapper

DRIVER_CONTAINER, EXECUTOR_CONTAINER = "spark-kubernetes-driver", "spark-kubernetes-executor"
ENDED_PHASES = ("Succeeded", "Failed")
#: Exit codes of executors the driver itself stopped (SIGTERM at scale-down or at the end): no evidence.
_ORDERLY_EXITS = (0, 143)
#: spark-operator states after which no driver pod will tell (submission never made one).
OPERATOR_GROUP, OPERATOR_VERSION, OPERATOR_PLURAL = "sparkoperator.k8s.io", "v1beta2", "sparkapplications"


def _terminated(pod: dict[str, Any], wanted: str) -> dict[str, Any]:
    """The ``state.terminated`` of the Spark container (or of the first container that has one)."""
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    ordered = sorted(statuses, key=lambda s: s.get("name") != wanted)
    for status in ordered:
        for state in ("state", "lastState"):
            terminated = (status.get(state) or {}).get("terminated")
            if terminated:
                return terminated
    return {}


def pod_key(pod: dict[str, Any]) -> str:
    meta = pod.get("metadata") or {}
    return f"pod:{meta.get('uid') or meta.get('namespace', '') + '/' + meta.get('name', '')}"


def pod_record(pod: dict[str, Any], event_type: str, tags: TagMapper) -> dict[str, Any] | None:
    """The lifecycle record of a Spark pod that ended, or None (still running, not Spark, nothing to say)."""
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    labels = meta.get("labels") or {}
    app_id, role = labels.get("spark-app-selector"), labels.get("spark-role")
    if not app_id or role not in ("driver", "executor"):
        return None
    phase = status.get("phase")
    deleted = event_type == "DELETED" and phase not in ENDED_PHASES
    if phase not in ENDED_PHASES and not deleted:
        return None
    terminated = _terminated(pod, DRIVER_CONTAINER if role == "driver" else EXECUTOR_CONTAINER)
    exit_code = terminated.get("exitCode")
    reason = status.get("reason") or terminated.get("reason") or ("Deleted" if deleted else None)
    message = status.get("message") or terminated.get("message") or ""
    if role == "executor" and (phase == "Succeeded" or deleted or (
            exit_code in _ORDERLY_EXITS and reason in (None, "Error", "Completed"))):
        return None  # an orderly end of an executor says nothing of the application's failure
    if role == "driver":
        status_word = "SUCCEEDED" if phase == "Succeeded" else "KILLED" if deleted else "FAILED"
    tag_list = [f"{k}:{v}" for k, v in sorted(labels.items())]
    node = (pod.get("spec") or {}).get("nodeName")
    record: dict[str, Any] = {
        "app_id": app_id, "event": "app_end" if role == "driver" else "container_end", "role": role,
        "container_id": meta.get("name"), "host": node,
        "ts": terminated.get("finishedAt") or meta.get("deletionTimestamp"),
        "lifecycle": {
            "source": "k8s", "state": phase or "Deleted", "reason": reason,
            "exit_code": exit_code if isinstance(exit_code, int) else None, "diagnostics": message,
            "name": labels.get("spark-app-name"), "tags": tag_list, "am_host": node,
            "pod": meta.get("name"), "namespace": meta.get("namespace"),
        },
    }
    if role == "driver":
        record["status"] = status_word
    return tags.annotate(record, tag_list)


def sparkapp_key(app: dict[str, Any]) -> str:
    meta, status = app.get("metadata") or {}, app.get("status") or {}
    return f"sparkapp:{meta.get('uid')}:{status.get('submissionAttempts', 0)}"


def sparkapp_record(app: dict[str, Any], tags: TagMapper) -> dict[str, Any] | None:
    """A SparkApplication whose submission failed: no driver pod ever ran, only the operator says why.

    Other ends (COMPLETED, FAILED) are told by the driver pod, with its exit
    code and reason, so they are not sent twice.
    """
    meta, status = app.get("metadata") or {}, app.get("status") or {}
    state = (status.get("applicationState") or {}).get("state")
    if state != "SUBMISSION_FAILED":
        return None
    labels = meta.get("labels") or {}
    tag_list = [f"{k}:{v}" for k, v in sorted(labels.items())]
    app_id = status.get("sparkApplicationId") or f"{meta.get('namespace')}/{meta.get('name')}"
    record: dict[str, Any] = {
        "app_id": app_id, "event": "app_end", "status": "FAILED", "role": "driver",
        "ts": status.get("terminationTime") or status.get("lastSubmissionAttemptTime"),
        "lifecycle": {
            "source": "spark-operator", "state": state, "reason": "SubmissionFailed",
            "diagnostics": (status.get("applicationState") or {}).get("errorMessage") or "",
            "name": meta.get("name"), "tags": tag_list, "namespace": meta.get("namespace"),
        },
    }
    return tags.annotate(record, tag_list)
