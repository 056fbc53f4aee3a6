"""Per-application state of the stream worker, as plain JSON-able dicts.

Three small values per application instead of one growing blob, because a
faust table writes the whole value to its changelog on every change:

- ``AppState`` (table ``apps``, key app id): metadata, last applied offset,
  last activity, the streams seen, the number of events stored, and whether
  the application already ended (a tombstone that ignores late lines).
- assembler state (table ``streams``, key ``Envelope.stream_key``): the open
  record of one container's log.
- exception events (table ``events``, key ``app#n``): the events stored
  together (a checkpoint's, up to ``ENTRY_CHARS`` of text) as one list, ``n``
  the number of its first event; written once. An entry that is one event's
  dict (as the worker stored them before) is read as that one event.

Nothing here touches faust; ``ingest.app`` moves these dicts in and out of
its tables, and the tests drive them directly.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any, Self

from logtext.assembly import Assembler, Record
from logtext.events import to_event
from logtext.signals import DEFAULT_SIGNALS, Signals
from sparktriage.records import NO_WORKFLOW, AppInfo, Envelope, ExceptionEvent, Origin, Workflow

#: Events kept per application; later ones are counted, not kept (a crash loop
#: can print the same trace a million times; the first few hundred tell the story).
MAX_EVENTS = 500
#: About how much text one ``events`` entry holds (a changelog record, well under Kafka's 1 MB default);
#: a single larger event is an entry of its own, as each event used to be.
ENTRY_CHARS = 256 * 1024


@dataclass
class AppState:
    app_id: str
    attempts: list[int] = field(default_factory=list)
    team: str | None = None
    user: str | None = None
    queue: str | None = None
    workflow: dict[str, Any] = field(default_factory=dict)
    started: float | None = None
    last_ts: float | None = None  # log time of the newest line
    last_seen: float = 0.0  # wall-clock time of the newest record (inactivity)
    last_offset: int = -1  # highest input offset applied (at-least-once dedupe)
    streams: list[str] = field(default_factory=list)
    n_events: int = 0
    events_at: dict[str, int] = field(default_factory=dict)  # per stream: offset up to which its events are stored
    dropped_events: int = 0
    ended: str | None = None  # final status once settled (sparktriage.status): a tombstone
    # How it ends (ingest.endings, ingest.watchlist): the EndWatch fold over its lines, when an inferred
    # end is due to be settled (after the grace period), where the settled end came from, the input
    # offset it covered (lines at or below it are redeliveries), the category of an early notice sent
    # while it stalled, and the fingerprint of the diagnosis delivered per attempt (nothing twice).
    watch: dict[str, Any] = field(default_factory=dict)
    end_due: float | None = None
    end_source: str | None = None
    end_offset: int = -1
    end_attempt: int = 1  # the attempt the settled end belongs to (a later attempt's line reopens it)
    closing: list[str] = field(default_factory=list)  # streams closed by the end, deleted after the tombstone
    provisional: str | None = None
    delivered: dict[str, str] = field(default_factory=dict)
    # per repacked stream closed by the end: [input partition, offset] it had folded (ingest.live.unseen)
    closed_at: dict[str, list[int]] = field(default_factory=dict)
    # per input partition of the repacking stage (Origin.space): the offset of the last record it sent on
    # whole (its sparktriage-source header) that was applied; the stage sends an application's such records
    # in input order, so one at or below it was applied already
    passed: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A copy that shares nothing mutable with the state (faust serializes a changelog value later,
        while the worker goes on changing the state it keeps in memory); ``asdict`` is slower."""
        data = dict(self.__dict__)
        for name in ("attempts", "streams", "closing"):
            data[name] = list(data[name])
        for name in ("workflow", "events_at", "delivered", "closed_at", "passed"):
            data[name] = dict(data[name])
        data["watch"] = copy.deepcopy(self.watch)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return cls(**data)

    def note(self, env: Envelope, now: float) -> bool:
        """Merge what an envelope says about the application.

        Returns whether the state changed enough to be worth a changelog
        write: new metadata, or activity at least a second after the last
        recorded one (the inactivity timer needs no finer clock, so ``last_seen``
        moves only then: it is what the table holds).
        """
        changed = now - self.last_seen >= 1.0  # (field by field: asked of every record, which rarely says more)
        if env.attempt not in self.attempts:
            self.attempts.append(env.attempt)
            changed = True
        if not self.team and env.team != self.team:
            self.team, changed = env.team, True
        if not self.user and env.user != self.user:
            self.user, changed = env.user, True
        if not self.queue and env.queue != self.queue:
            self.queue, changed = env.queue, True
        if not self.workflow and env.workflow is not NO_WORKFLOW and env.workflow != NO_WORKFLOW:
            self.workflow, changed = asdict(env.workflow), True
        ts = env.ts
        if ts is not None:
            if self.started is None or ts < self.started:
                self.started, changed = ts, True
            if self.last_ts is None or ts > self.last_ts:
                self.last_ts = ts
        if changed:  # to the second: the worker keeps an open application's state between its records
            self.last_seen = now
        return changed

    def passed_before(self, origin: Origin) -> bool:
        """Whether a record the repacking stage sent on whole was applied already (sent again after a crash)."""
        return origin.offset <= self.passed.get(origin.space, -1)

    def applied(self, offset: int, origin: Origin | None) -> None:
        """A record at input ``offset`` is applied; one the repacking stage sent on whole is noted where it
        was read at the same moment, so that no state written before its effects says it was applied."""
        self.last_offset = offset
        if origin is not None:
            self.passed[origin.space] = origin.offset

    def app_info(self, attempt: int, final_status: str | None, ended: float | None) -> AppInfo:
        return AppInfo(
            app_id=self.app_id, attempt=attempt, team=self.team, user=self.user, queue=self.queue,
            workflow=Workflow.from_dict(self.workflow), started=self.started,
            # lines without a time of their own: the end is when the last one arrived
            ended=next((t for t in (ended, self.last_ts, self.last_seen or None) if t is not None), None),
            final_status=final_status,
        )


def end_time(record_ts: float | None, broker_ts: float | None, received: float) -> float:
    """When an application ended, never missing: the ``app_end`` record's own time,
    else its broker timestamp (Kafka's CreateTime or LogAppendTime), else when it
    was received. Production shippers rarely put a ``ts`` on a lifecycle record,
    and the store, the dashboards and relabel's filters all select by end time."""
    if record_ts is not None:
        return record_ts
    if broker_ts is not None and broker_ts > 0:  # -1 / 0: the record carries none
        return broker_ts
    return received


def assembler_from(data: dict[str, Any] | None) -> Assembler:
    return Assembler.from_dict(data) if data else Assembler()


def events_from_records(records: list[Record], env: Envelope,
                        signals: Signals = DEFAULT_SIGNALS) -> list[ExceptionEvent]:
    """The events worth keeping among closed records of ``env``'s stream."""
    events = []
    for record in records:
        event = to_event(record, app_id=env.app_id, attempt=env.attempt, container_id=env.container_id,
                         role=env.role, host=env.host, signals=signals)
        if event is not None:
            events.append(event)
    return events


def event_key(app_id: str, n: int) -> str:
    return f"{app_id}#{n}"


def event_entry(events: list[ExceptionEvent]) -> tuple[list[dict[str, Any]], list[ExceptionEvent]]:
    """The first ``events`` that fit one ``events`` entry (at least one), as stored; and the rest."""
    size, n = 0, 0
    for n, event in enumerate(events):
        size += len(event.text) + len(event.message) + sum(map(len, event.excerpt)) + sum(map(len, event.frames))
        if size > ENTRY_CHARS and n:
            break
    else:
        n = len(events)
    return [event.to_dict() for event in events[:n]], events[n:]


def entry_size(raw: list[dict[str, Any]] | dict[str, Any]) -> int:
    """How many events a stored ``events`` entry holds."""
    return len(raw) if isinstance(raw, list) else 1


def events_of_entry(raw: list[dict[str, Any]] | dict[str, Any]) -> list[ExceptionEvent]:
    """The events of a stored ``events`` entry (a list of them, or one event's dict)."""
    return [ExceptionEvent.from_dict(data) for data in (raw if isinstance(raw, list) else [raw])]
