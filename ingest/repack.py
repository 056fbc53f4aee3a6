"""One-line records into records of one stream's consecutive lines: the repacking stage's batching, pure.

faust costs the worker some 100 µs per Kafka record whatever it holds, so a
shipper that sends one line per record caps it at a few thousand lines per
second (``docs/shippers.md``). ``sparktriage repack`` reads such records and
sends the worker one record per run of a stream's consecutive lines, in the
contract's ``lines`` form, with where each line was read (``source``:
the input partition and each line's offset). The worker folds a line only
if its stream has not folded that offset yet (``ingest.live``), so a batch
sent again after the stage crashed between the broker's acknowledgement and
its offset commit changes nothing.

Each record is read with the worker's own parser (``ingest.envelope``):

- a log line joins the open batch of its stream (application attempt and
  container) and input partition; a batch is closed at ``max_lines`` lines,
  at ``max_bytes``, when the stream's metadata changes, or by ``flush``;
- a lifecycle record, a Spark event-log line or a record already repacked
  goes through untouched (keyed by its application), after its
  application's open batches, so it never overtakes their lines;
- a record the parser refuses goes through untouched too, for the worker to
  dead-letter with its reason and its original bytes (one place that
  dead-letters, one store of dead letters, once per origin); but one too
  large for any record the worker takes (``record_too_large``) could be too
  large to send at all, and would stop the stage at every start: only its
  first ``max_line_bytes`` bytes go through, with a ``sparktriage-refused``
  header saying why, and the worker dead-letters them as it keeps such a
  record read straight (its head).

What goes through untouched gains one Kafka header, ``sparktriage-source``:
the input topic, partition and offset it was read at (kept if a stage
before this one added it: where the record entered). The worker applies a
record of one origin once (``AppState.passed``) and keeps one dead letter
per origin, so a record sent again after a crash changes nothing either.

No Kafka here: ``ingest.repacker`` polls, sends what this returns and
commits input offsets only once the broker acknowledged it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ingest.envelope import parse_envelope
from ingest.headers import SOURCE_HEADER, origin_header, refusal_header
from ingest.eventlog import is_event_line
from sparktriage.errors import BadInput
from sparktriage.records import NO_WORKFLOW, Envelope, Origin

#: Bytes a batch stays under (Kafka's default largest message is 1 MiB); at most 4 x max_line_bytes, so
#: the worker, which refuses records over 8 x max_line_bytes, takes every batch and a line too long alone.
MAX_BYTES = 512 * 1024
_PER_LINE = 16  # a line's share of the record beyond its text: its offset, the JSON separators

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class Out:
    """A record to send to the worker's topic."""

    key: bytes | None
    value: bytes | None
    headers: Headers = field(default_factory=list)


@dataclass
class _Batch:
    head: dict[str, Any]  # the stream's metadata, as the contract names it
    partition: int
    offsets: list[int] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    size: int = 0
    ts: float | None = None  # the newest line's time

    def record(self) -> Out:
        body = dict(self.head)
        if self.ts is not None:
            body["ts"] = self.ts
        body["lines"] = self.lines
        body["source"] = {"partition": self.partition, "offsets": self.offsets}
        return Out(self.head["app_id"].encode("utf-8"),
                   json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _head(env: Envelope) -> dict[str, Any]:
    """What the worker reads of a line besides its text and time, explicit: batches of one stream
    whose metadata differs are not merged (a team or a workflow id that appears mid-stream)."""
    head: dict[str, Any] = {"app_id": env.app_id, "attempt": env.attempt, "container_id": env.container_id,
                            "role": env.role}
    for name in ("host", "team", "user", "queue", "stream"):
        value = getattr(env, name)
        if value is not None:
            head[name] = value
    if env.workflow != NO_WORKFLOW:
        head["workflow"] = env.workflow.to_dict()
    return head


class Repacker:
    """The open batches of the streams read so far, and what to send now."""

    def __init__(self, *, max_lines: int, max_line_bytes: int, max_bytes: int = MAX_BYTES,
                 topic: str = "spark-lines") -> None:
        self.topic = topic  # the stage's input, named in the origin of what it sends on whole
        self.max_lines = max_lines
        self.max_line_bytes = max_line_bytes
        self.max_bytes = min(max_bytes, 4 * max_line_bytes)
        self._open: dict[tuple[int, str], _Batch] = {}  # (input partition, stream key) -> its batch

    def add(self, partition: int, offset: int, key: bytes | None, value: bytes | None,
            headers: Headers | None = None) -> list[Out]:
        """One input record; the records to send now, in order (none while its batch stays open)."""
        try:
            env = parse_envelope(key, value, max_line_bytes=self.max_line_bytes)
        except BadInput as err:
            if err.reason == "record_too_large":  # its head, and why: the worker dead-letters it
                return [Out(key, (value or b"")[:self.max_line_bytes],
                            self._sourced(headers, partition, offset) + [refusal_header(err)])]
            return [Out(key, value, self._sourced(headers, partition, offset))]  # the worker dead-letters it
        if env.event is not None or env.source is not None or is_event_line(env.text):
            return self.flush(env.app_id) + [Out(env.app_id.encode("utf-8"), value,
                                                 self._sourced(headers, partition, offset))]
        out = []
        slot = (partition, env.stream_key)
        head = _head(env)
        size = len(value or b"") + _PER_LINE
        batch = self._open.get(slot)
        if batch is not None and (batch.head != head or batch.size + size > self.max_bytes):
            out.append(self._open.pop(slot).record())
            batch = None
        if batch is None:
            batch = self._open[slot] = _Batch(head, partition, size=len(json.dumps(head)) + 64)
        batch.offsets.append(offset)
        batch.lines.append(env.text)
        batch.size += size
        if env.ts is not None:
            batch.ts = env.ts if batch.ts is None else max(batch.ts, env.ts)
        if len(batch.lines) >= self.max_lines:
            out.append(self._open.pop(slot).record())
        return out

    def _sourced(self, headers: Headers | None, partition: int, offset: int) -> Headers:
        """A record's headers with where it was read, for the worker to apply it once."""
        out = list(headers or [])
        if not any(name == SOURCE_HEADER for name, _ in out):
            out.append(origin_header(Origin(self.topic, partition, offset)))
        return out

    def flush(self, app_id: str | None = None) -> list[Out]:
        """Close the open batches (of one application, or all)."""
        slots = [s for s, b in self._open.items() if app_id is None or b.head["app_id"] == app_id]
        return [self._open.pop(slot).record() for slot in slots]

    def pending(self) -> int:
        """Lines read and not yet sent."""
        return sum(len(batch.lines) for batch in self._open.values())
