"""What a cluster manager said of an ending, as evidence events the rules read.

A watcher's lifecycle record (``sparktriage watch yarn|k8s``) carries what
the YARN ResourceManager or the Kubernetes API reported: the RM's
``diagnostics`` of the application, or a pod's phase, exit code,
``terminated.reason`` and message. Some causes are written nowhere else: the
ApplicationMaster's container killed for memory (``exitCode: -104``), a kill
by a user, a queue rejection before any container ran, a driver pod
``OOMKilled`` by the kernel, an executor pod evicted under node memory
pressure. Each becomes one event of the application, of role
``resource_manager`` (YARN) or the pod's role (Kubernetes), so the same rule
packs decide on it as on log lines. Pure: no I/O, no faust.
"""

from __future__ import annotations

from sparktriage.redact import redact
from sparktriage.records import Envelope, ExceptionEvent, Lifecycle

#: Kubernetes reasons that say a pod or container ended badly; a pod that
#: Succeeded with exit code 0 says nothing worth an event.
_QUIET_PHASES = ("Succeeded",)


def _k8s_text(env: Envelope, lc: Lifecycle) -> str:
    """The pod's ending in the words Spark's ExecutorPodsLifecycleManager uses for
    an executor's exit (``exit code: 137``, ``termination reason: OOMKilled``,
    ``The API gave the following message:``), which the rule packs know."""
    where = f" in namespace {lc.namespace}" if lc.namespace else ""
    node = f" on node {lc.am_host}" if lc.am_host else ""
    what = f"The {env.role} pod {lc.pod}" if lc.pod else f"The {lc.source} application {lc.name or env.app_id}"
    lines = [f"{what}{where}{node} ended with phase {lc.state or '?'}."]
    if lc.exit_code is not None:
        lines.append(f"exit code: {lc.exit_code}")
    if lc.reason:
        lines.append(f"termination reason: {lc.reason}")
    if lc.diagnostics:
        lines.append(f"The API gave the following message: {lc.diagnostics}")
    return "\n".join(lines)


def _worth_an_event(lc: Lifecycle) -> bool:
    if lc.source == "yarn":
        return bool(lc.diagnostics.strip())
    if lc.state in _QUIET_PHASES and not lc.exit_code and not lc.reason:
        return False
    return bool(lc.diagnostics.strip() or lc.reason or lc.exit_code)


def lifecycle_events(env: Envelope) -> list[ExceptionEvent]:
    """The evidence in a lifecycle record: none, or one event for the rules and the model."""
    lc = env.lifecycle
    if lc is None or not _worth_an_event(lc):
        return []
    if lc.source == "yarn":
        text, role, logger = lc.diagnostics.strip(), "resource_manager", "ResourceManager"
    else:
        text, role, logger = _k8s_text(env, lc), env.role, f"{lc.source}:{lc.reason or lc.state or 'ended'}"
    text = redact(text)
    lines = tuple(text.split("\n"))
    return [ExceptionEvent(
        app_id=env.app_id, text=text, attempt=env.attempt, container_id=env.container_id or lc.pod,
        role=role, host=lc.am_host or env.host, ts=env.ts, line=0, level="ERROR", logger=logger,
        message=lines[0][:500], excerpt=lines[:20],
    )]
