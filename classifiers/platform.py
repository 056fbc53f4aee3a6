"""Which cluster manager the logs show, so that advice fits it.

A Kubernetes failure told to raise ``yarn.nodemanager.vmem-pmem-ratio`` (or a
YARN one told about pod limits) reads as boilerplate. The logs say where they
ran: YARN container ids, the ApplicationMaster and NodeManagers; pods, the
Kubernetes scheduler backend and ``OOMKilled``. A remediation is kept when it
does not speak only of the other platform.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sparktriage.records import ExceptionEvent

YARN = "yarn"
KUBERNETES = "kubernetes"
MARKERS = {
    YARN: re.compile(r"\bYARN\b|\byarn\.|container_(?:e\d+_)?\d{10,}_\d+_\d+_\d+|ApplicationMaster|NodeManager"
                     r"|ResourceManager|\bAM container", re.IGNORECASE),
    KUBERNETES: re.compile(r"kubernetes|\bk8s\b|OOMKilled|\bpods?\b|kubelet|ExecutorPodsAllocator"
                           r"|spark-exec-|memoryOverheadFactor", re.IGNORECASE),
}

#: Words one of which (case folded) is in every text a marker matches: most logs hold none of one platform's,
#: and the words are found faster than a case-blind pattern searches megabytes.
GATES = {
    YARN: ("yarn", "container_", "applicationmaster", "nodemanager", "resourcemanager", "am container"),
    KUBERNETES: ("kubernetes", "k8s", "oomkilled", "pod", "kubelet", "executorpodsallocator", "spark-exec-",
                 "memoryoverheadfactor"),
}


def platform_of(events: Iterable[ExceptionEvent]) -> str | None:
    """YARN or Kubernetes when the events (their texts and container ids) show one and not the other.

    Each marker searches all the texts joined at once (no marker spans a line), not event by event:
    an application may hold thousands of events."""
    text = "\n".join(f"{event.container_id or ''}\n{event.text}" for event in events)
    folded = text.casefold()
    seen = [name for name, marker in MARKERS.items()
            if any(word in folded for word in GATES[name]) and marker.search(text)]
    return seen[0] if len(seen) == 1 else None


def fits(advice: str, platform: str | None) -> bool:
    """Whether advice suits the platform: it does not name only the other one."""
    if platform is None:
        return True
    others = [marker for name, marker in MARKERS.items() if name != platform]
    return MARKERS[platform].search(advice) is not None or not any(m.search(advice) for m in others)
