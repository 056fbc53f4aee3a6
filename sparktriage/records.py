"""The records that flow between stages: envelope -> exception event -> diagnosis.

They are plain frozen dataclasses so that the pure core can be called the same
way by the stream worker, ``classify`` on files and ``relabel`` on the store.
Every record converts to and from a JSON-able dict (``to_dict`` /
``from_dict``): that is the form the changelog tables, the store and the
output topic carry.
"""

from __future__ import annotations

import bisect
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Self

ROLES = ("driver", "executor", "resource_manager", "unknown")


def _from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Build ``cls`` from ``data`` ignoring keys it does not know (forward compatible)."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True, slots=True)
class Workflow:
    """Identifiers of the workflow-tool job that ran the application (Azkaban, Airflow...)."""

    project: str | None = None
    flow: str | None = None
    job: str | None = None
    execution: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Self:
        return _from_dict(cls, data or {})


#: No workflow: the one value every record without one shares (``ingest.envelope``), told by identity first.
NO_WORKFLOW = Workflow()


@dataclass(frozen=True, slots=True)
class AppInfo:
    """What is known of one application attempt besides its logs."""

    app_id: str
    attempt: int = 1
    team: str | None = None
    user: str | None = None
    queue: str | None = None
    workflow: Workflow = field(default_factory=Workflow)
    started: float | None = None  # epoch seconds of the first line seen
    ended: float | None = None  # epoch seconds of app_end (or last line)
    final_status: str | None = None  # FAILED | SUCCEEDED | KILLED | None (inactivity)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["workflow"] = self.workflow.to_dict()
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        d = dict(data)
        d["workflow"] = Workflow.from_dict(d.get("workflow"))
        return _from_dict(cls, d)


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """What a cluster manager said of how an application, or one of its containers, ended.

    Made by the watchers (``sparktriage watch yarn|k8s``) from the YARN
    ResourceManager's application report or a Kubernetes pod's status; the
    worker turns it into evidence (``ingest.lifecycle``), because a memory kill
    of the ApplicationMaster, a kill by a user or a queue rejection is often
    written nowhere else.
    """

    source: str  # yarn | k8s | spark-operator
    state: str | None = None  # YARN state, pod phase, SparkApplication state
    final_status: str | None = None  # as the source said it (YARN: SUCCEEDED, FAILED, KILLED, UNDEFINED)
    diagnostics: str = ""  # RM diagnostics, the pod's or container's message, the operator's errorMessage
    reason: str | None = None  # terminated.reason or the pod's status reason: OOMKilled, Error, Evicted...
    exit_code: int | None = None
    name: str | None = None  # the application's name
    tags: tuple[str, ...] = ()  # YARN applicationTags; pod labels as key:value
    elapsed_ms: int | None = None
    am_host: str | None = None  # YARN AM host, or the node the pod ran on
    pod: str | None = None
    namespace: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["tags"] = list(self.tags)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        d = dict(data)
        d["tags"] = tuple(d.get("tags") or ())
        return _from_dict(cls, d)


@dataclass(frozen=True, slots=True)
class Source:
    """Where a repacked record's lines were read (``sparktriage repack``): the repacking stage's input
    partition and each line's offset there, so that the worker skips lines it folded before (a batch
    sent again after the stage crashed between the broker's acknowledgement and its offset commit)."""

    partition: int
    offsets: tuple[int, ...]
    lines: tuple[str, ...]

    def after(self, offset: int) -> int:
        """How many of the lines are at or below ``offset`` (already folded)."""
        return bisect.bisect_right(self.offsets, offset)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where the repacking stage read a record it sends on whole (a lifecycle record, an event-log line,
    a record the parser refuses): its input topic, partition and offset, in the record's
    ``sparktriage-source`` header. The worker applies such a record once per origin, so one the stage
    sent again after a crash between the broker's acknowledgement and its offset commit changes nothing."""

    topic: str
    partition: int
    offset: int

    @property
    def space(self) -> str:
        """The input partition whose offsets ``offset`` counts in."""
        return f"{self.topic}/{self.partition}"


@dataclass(slots=True)
class Envelope:
    """One record of the ``spark-logs`` topic, normalised from any shipper shape.

    ``text`` is one log line or several (a shipper may batch). ``event`` is
    ``None`` for log records and ``"app_end"`` for the lifecycle event, whose
    ``status`` says how the application ended; ``"container_end"`` says one of
    its containers (an executor pod) ended. A watcher's records carry what the
    cluster manager said in ``lifecycle``.

    Read-only by convention, not ``frozen``: one is made per Kafka record, and
    a frozen dataclass's ``__init__`` (an ``object.__setattr__`` call per
    field) cost three times a plain one, about 5 % of a one-line record's
    own work in the worker. A changed envelope is a new one (``dataclasses.replace``).
    """

    app_id: str
    text: str = ""
    attempt: int = 1
    container_id: str | None = None
    host: str | None = None
    role: str = "unknown"
    team: str | None = None
    user: str | None = None
    queue: str | None = None
    workflow: Workflow = field(default_factory=Workflow)
    ts: float | None = None  # epoch seconds
    event: str | None = None
    status: str | None = None
    stream: str | None = None  # stdout | stderr | syslog, when the shipper says
    lifecycle: Lifecycle | None = None
    source: Source | None = None  # a repacked record's input offsets (the lines of ``text``, one each)

    @property
    def stream_key(self) -> str:
        """The (application attempt, container) stream whose lines assemble together."""
        return f"{self.app_id}:{self.attempt}:{self.container_id or self.role}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["workflow"] = self.workflow.to_dict()
        d["lifecycle"] = self.lifecycle.to_dict() if self.lifecycle else None
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        d = dict(data)
        d["workflow"] = Workflow.from_dict(d.get("workflow"))
        d["lifecycle"] = Lifecycle.from_dict(d["lifecycle"]) if d.get("lifecycle") else None
        source = d.get("source")
        d["source"] = Source(source["partition"], tuple(source["offsets"]), tuple(source["lines"])) if source else None
        return _from_dict(cls, d)


@dataclass(frozen=True, slots=True)
class Cause:
    """One link of a ``Caused by:`` chain (or of a Python traceback)."""

    exc_class: str
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"exc_class": self.exc_class, "message": self.message}


@dataclass(frozen=True, slots=True)
class ExceptionEvent:
    """One assembled log record worth classifying: a stack trace, a Python
    traceback, or an ERROR/WARN record (e.g. a YARN diagnostic) with no trace.

    ``text`` holds the whole record (header, causes, frames) as it appeared;
    rules match against it. ``line`` is the 1-based position of its first line
    in its container's log; ``excerpt`` the raw lines a person would want to
    see (header, causes, the frames that matter), not every frame.
    """

    app_id: str
    text: str
    attempt: int = 1
    container_id: str | None = None
    role: str = "unknown"
    host: str | None = None
    ts: float | None = None
    line: int = 0
    level: str | None = None  # ERROR | WARN | FATAL | INFO | None
    logger: str | None = None
    exc_class: str | None = None  # outermost exception class, if any
    message: str = ""
    causes: tuple[Cause, ...] = ()  # outermost first, deepest last
    frames: tuple[str, ...] = ()
    excerpt: tuple[str, ...] = ()

    @property
    def root_class(self) -> str | None:
        """The deepest exception class of the chain, or the outermost one."""
        return self.causes[-1].exc_class if self.causes else self.exc_class

    def to_dict(self) -> dict[str, Any]:
        """Field by field (the worker writes one per stored event: ``asdict``'s deep copy of every
        cause and frame was a quarter of its time on batched records), in the fields' order."""
        d = {name: getattr(self, name) for name in _EVENT_FIELDS}
        d["causes"] = [c.to_dict() for c in self.causes]
        d["frames"] = list(self.frames)
        d["excerpt"] = list(self.excerpt)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        d = dict(data)
        d["causes"] = tuple(Cause(**c) for c in d.get("causes") or ())
        d["frames"] = tuple(d.get("frames") or ())
        d["excerpt"] = tuple(d.get("excerpt") or ())
        return _from_dict(cls, d)


_EVENT_FIELDS = tuple(f.name for f in fields(ExceptionEvent))


@dataclass(frozen=True, slots=True)
class Evidence:
    """A log excerpt that decided a diagnosis, with where it was found."""

    excerpt: str
    container_id: str | None = None
    role: str = "unknown"
    host: str | None = None
    line: int = 0
    ts: float | None = None
    rule_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _EVIDENCE_FIELDS}  # all scalars: nothing to copy

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return _from_dict(cls, data)


_EVIDENCE_FIELDS = tuple(f.name for f in fields(Evidence))


@dataclass(frozen=True, slots=True)
class ExceptionGroup:
    """One distinct exception of an application, as an exceptions tab lists it.

    ``exc_class`` is None for a record that names no exception class (a YARN
    diagnostic, a WARN line): its ``level`` and ``logger`` say what wrote it.
    """

    exc_class: str | None
    message: str  # masked template-ish message of the first occurrence
    count: int
    first_ts: float | None = None
    first_line: int = 0
    first_container: str | None = None
    roles: tuple[str, ...] = ()
    category: str | None = None  # what a rule said of it, if anything
    level: str | None = None
    logger: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {name: getattr(self, name) for name in _GROUP_FIELDS}
        d["roles"] = list(self.roles)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        d = dict(data)
        d["roles"] = tuple(d.get("roles") or ())
        return _from_dict(cls, d)


_GROUP_FIELDS = tuple(f.name for f in fields(ExceptionGroup))


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """The root cause of one failed application attempt.

    ``source`` is ``rule`` (a rule decided), ``model`` (the model decided with
    enough confidence) or ``none`` (``unknown``; ``hint`` keeps the best guess).
    """

    app_id: str
    category: str
    domain: str
    confidence: float
    source: str
    attempt: int = 1
    rule_id: str | None = None
    explain: str = ""
    remediation: str = ""
    evidence: tuple[Evidence, ...] = ()
    exceptions: tuple[ExceptionGroup, ...] = ()
    hint: str | None = None
    notes: tuple[str, ...] = ()
    rule_pack_version: str | None = None
    model_version: str | None = None
    final_status: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Field by field, as ``ExceptionEvent.to_dict``: every save hashes and writes it (``asdict`` copied
        the evidence and exceptions deeply, only for them to be converted again here)."""
        d = {name: getattr(self, name) for name in _DIAGNOSIS_FIELDS}
        d["evidence"] = [e.to_dict() for e in self.evidence]
        d["exceptions"] = [g.to_dict() for g in self.exceptions]
        d["notes"] = list(self.notes)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        d = dict(data)
        d["evidence"] = tuple(Evidence.from_dict(e) for e in d.get("evidence") or ())
        d["exceptions"] = tuple(ExceptionGroup.from_dict(g) for g in d.get("exceptions") or ())
        d["notes"] = tuple(d.get("notes") or ())
        return _from_dict(cls, d)


_DIAGNOSIS_FIELDS = tuple(f.name for f in fields(Diagnosis))
