"""Which process wrote a log whose name does not say: what only one kind of process writes.

A container id or a file name gives the role (driver or executor) of most logs. A log
pasted into a ticket or piped to ``classify`` has neither, yet its own lines often say
it: the scheduler, the SparkContext and the block-manager master live only in the
driver, as do SparkR's backend and the console progress bar (``[Stage 3:=>  (12 + 4) / 200]``,
Spark's ``ConsoleProgressBar``, which the SparkContext draws on the driver's console); the task
runner and its backend only in executors. The role matters where the
text alone cannot tell: a bare ``OutOfMemoryError: Java heap space`` is the driver's
when the driver printed it.

Only loggers that never run in the other process count (not ``YarnAllocator`` nor
``ApplicationMaster``: in client mode the application master is a container of its own,
not the driver). A log with both kinds (local mode runs executors inside the driver)
or neither keeps ``unknown``.
"""

from __future__ import annotations

import re

#: How much of a log is read for its role: a log's first lines carry its loggers, and a
#: log read whole would cost a full regex pass for a role.
ROLE_SCAN_CHARS = 1 << 20

_LOGGER_AT = r"(?:^|\n)[^\n]{0,80}?\b(?:INFO|WARN|WARNING|ERROR|DEBUG|FATAL)\b[ \t]+(?:\[[^\]\n]*\][ \t]+)?(?:[\w$]+\.)*"
#: after the logger: its inner-class suffix, the ``(File.scala:method(NN))`` location of Hadoop's
#: log4j layout ``%c{2} (%F:%M(%L)) - %m`` (as pasted from Hadoop-configured clusters), then ``:`` or `` - ``.
_LOGGER_END = r"(?:\$[\w$]*)?[ \t]*(?:\([\w.$]+:[\w$<>]*(?:\(\d+\))?\)[ \t]*)?(?::|-[ \t])"

DRIVER_LOGGERS = re.compile(
    _LOGGER_AT + r"(?:SparkContext|DAGScheduler|TaskSchedulerImpl|TaskSetManager|YarnScheduler|YarnClusterScheduler"
    r"|BlockManagerMasterEndpoint|MapOutputTrackerMaster(?:Endpoint)?|HeartbeatReceiver|ContextCleaner|SparkUI"
    r"|(?:Yarn(?:Client|Cluster)|KubernetesCluster|Standalone|CoarseGrained)SchedulerBackend|ExecutorPodsAllocator"
    r"|ExecutorAllocationManager|LiveListenerBus|AsyncEventQueue|TaskResultGetter|RBackendHandler)" + _LOGGER_END
)
#: ConsoleProgressBar's line: ``[Stage N:`` + a bar of ``=``/``>``/spaces + ``(done + running) / total]``.
DRIVER_PROGRESS_BAR = re.compile(r"\[Stage \d+:[=> ]*\(\d+ \+ \d+\) / \d+\]")
EXECUTOR_LOGGERS = re.compile(
    _LOGGER_AT + r"(?:Executor|(?:Yarn|Kubernetes)?CoarseGrainedExecutorBackend|KubernetesExecutorBackend)" + _LOGGER_END
)


def role_from_loggers(text: str, role: str = "unknown") -> str:
    """``role`` when it is known, else what the log's loggers say (``unknown`` when they do not agree)."""
    if role != "unknown":
        return role
    head = text[:ROLE_SCAN_CHARS]
    driver = DRIVER_LOGGERS.search(head) is not None or DRIVER_PROGRESS_BAR.search(head) is not None
    executor = EXECUTOR_LOGGERS.search(head) is not None
    if driver != executor:
        return "driver" if driver else "executor"
    return role
