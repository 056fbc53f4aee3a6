"""Envelopes: one Kafka record of ``spark-logs`` -> :class:`Envelope`, or BadInput.

Accepts the contract's own shape (DESIGN.md) and the shapes common shippers
produce, so a platform team can point Fluent Bit, Vector or Filebeat at the
topic without a transform:

- Fluent Bit with the kubernetes filter: ``log``, ``kubernetes.labels``
  (``spark-app-selector``, ``spark-role``), ``kubernetes.pod_name``, ``kubernetes.host``.
- Vector ``kubernetes_logs``: ``message``, ``kubernetes.pod_labels``,
  ``kubernetes.pod_name``, ``kubernetes.pod_node_name``, ``timestamp``;
  Vector ``file``: ``message``, ``file``, ``host``.
- Filebeat: ``message``, ``log.file.path``, ``host.name``, ``@timestamp``,
  ``kubernetes.labels``, ``container.id``.

YARN container ids and log paths give the application id, attempt and role
when the shipper does not say. A record may hold several consecutive lines of
one stream: joined by ``\n`` in ``line``/``message``/``log``, or as a ``lines``
array (``docs/shippers.md``). The repacking stage (``sparktriage repack``)
adds ``source``: ``{"partition": p, "offsets": [...]}``, the input offset of
each of the ``lines``, by which the worker skips lines it has folded already;
to a record it sends on whole it adds a ``sparktriage-source`` header
(``ingest.headers.origin_of``), by which the worker applies it once, and to the head of
a record too large to send, a ``sparktriage-refused`` header saying why
(``ingest.headers.refusal_of``), for the worker to dead-letter it.

Lifecycle records: ``{"app_id", "event": "app_end", "status"}`` (the
contract), optionally with a ``lifecycle`` object saying what the cluster
manager reported (the watchers send it: RM diagnostics, pod termination
reason, exit code...), and ``"event": "container_end"`` with a ``lifecycle``
for one container (an executor pod) that ended.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
from typing import Any, NamedTuple

import msgspec

from logtext.yarn import app_id_from_path, parse_container_id
from sparktriage.errors import BadInput
from sparktriage.records import NO_WORKFLOW, Envelope, Lifecycle, Source, Workflow

# app_end and container_end come from outside; the checks are the worker's own timers asking its agent
LIFECYCLE_EVENTS = ("app_end", "container_end", "inactivity_check", "end_check", "stall_check", "checkpoint_check")
_LIFECYCLE_TEXTS = ("source", "state", "final_status", "diagnostics", "reason", "name", "am_host", "pod",
                    "namespace")
_LIFECYCLE_INTS = ("exit_code", "elapsed_ms")
STATUSES = ("FAILED", "SUCCEEDED", "KILLED")
ROLES = ("driver", "executor", "resource_manager")
MAX_RECORD_LINES_WORTH = 8


def _get(data: dict[str, Any], dotted: str) -> Any:
    """``a.b.c`` in nested dicts, also accepting a flat ``"a.b.c"`` key (Filebeat/ECS style)."""
    if dotted in data:
        return data[dotted]
    head, dot, rest = dotted.partition(".")
    if not dot or head not in data:  # the usual miss, answered before splitting (the per-record path)
        return None
    node: Any = data[head]
    for part in rest.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _first(data: dict[str, Any], paths: tuple[str, ...]) -> Any:
    for path in paths:
        value = _get(data, path)
        if value not in (None, ""):
            return value
    return None


#: Where each field may be, in the order the shapes' names are tried (the contract's own name first).
_PATHS: dict[str, tuple[str, ...]] = {
    "labels": ("kubernetes.labels", "kubernetes.pod_labels"),
    "path": ("log.file.path", "file", "path", "filename"),
    "container": ("container_id", "kubernetes.pod_name", "kubernetes.pod.name", "container.id"),
    "ts": ("ts", "@timestamp", "timestamp", "time", "date"),
    **{name: (name,) for name in ("app_id", "event", "status", "role", "attempt", "stream")},
}
#: Fields that are strings or absent (an object where one is expected, as Filebeat's ``host``, is skipped).
_STRING_PATHS: dict[str, tuple[str, ...]] = {
    "host": ("host", "host.name", "host.hostname", "kubernetes.host", "kubernetes.pod_node_name",
             "kubernetes.node.name", "hostname"),
    **{name: (name,) for name in ("team", "user", "queue")},
}
_TEXT_PATHS = ("line", "message", "log")


class _Plan(NamedTuple):
    """The fields a record shape can hold, each with the paths to try: those of ``_PATHS`` (read with
    ``_first``), of ``_STRING_PATHS`` (``_str_or_none``) and of ``_TEXT_PATHS``."""

    first: tuple[tuple[str, tuple[str, ...]], ...]
    strings: tuple[tuple[str, tuple[str, ...]], ...]
    text: tuple[str, ...]


_PLANS: dict[tuple[str, ...], _Plan] = {}
_MAX_PLANS = 256


def _plan(data: dict[str, Any]) -> _Plan:
    """The fields a record with ``data``'s top-level keys can hold and their paths (a path whose first part
    is not a key is always missing), kept per set of keys: a shipper sends records of one shape, so the
    thirty-odd lookups of every shape's names shrink to the few its records have."""
    keys = tuple(data)
    plan = _PLANS.get(keys)
    if plan is None:
        present = set(keys)

        def held(paths: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(p for p in paths if p in present or p.partition(".")[0] in present)

        plan = _Plan(tuple((name, held(paths)) for name, paths in _PATHS.items() if held(paths)),
                     tuple((name, held(paths)) for name, paths in _STRING_PATHS.items() if held(paths)),
                     held(_TEXT_PATHS))
        if len(_PLANS) < _MAX_PLANS:  # records of ever new shapes are read all the same, only not remembered
            _PLANS[keys] = plan
    return plan


def parse_ts(value: Any) -> float | None:
    """RFC 3339 text or epoch milliseconds (or seconds, when small) -> epoch seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadInput("bad_field", f"ts {value!r} is not a time")
    if isinstance(value, int | float):
        return value / 1000.0 if value > 1e11 else float(value)
    try:
        parsed = dt.datetime.fromisoformat(str(value))  # Python 3.11 reads a trailing "Z" itself
    except ValueError as exc:
        raise BadInput("bad_field", f"ts {value!r} is neither RFC 3339 nor epoch ms") from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).timestamp()


_WIDE_BOMS = (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00", b"\xff\xfe", b"\xfe\xff")


def _looks_wide(value: bytes) -> bool:
    """UTF-16/32 text (a Windows shipper, a misconfigured codec): a BOM, or
    NULs at every other byte of ASCII-range text."""
    if value.startswith(_WIDE_BOMS):
        return True
    head = value[:64]
    if 0 not in head:  # the usual record, told without slicing (a byte value: ``b"\x00" in`` first tries the
        # bytes as an integer and formats the TypeError it gets, about 1.8 k instructions a test)
        return False
    return len(head) >= 8 and (head[0::2].count(0) > len(head) // 2 - 2 or head[1::2].count(0) > len(head) // 2 - 2)


_LAYOUT = str.maketrans("\n\t\r", "   ")


def _is_binary(text: str) -> bool:
    """NULs, or mostly non-printable characters: compressed or corrupt data, not a log."""
    if "\x00" in text:
        return True
    head = text[:512]
    # the usual cases, in C: one line, then lines (a ``replace`` of the newlines costs a tenth of ``translate``:
    # 0.3 against 3-6 us on a 100-line record), then tabs or carriage returns too
    if head.isprintable() or head.replace("\n", "").isprintable() or head.translate(_LAYOUT).isprintable():
        return False
    printable = sum(ch.isprintable() or ch in "\n\t\r" for ch in head)
    return bool(head) and printable / len(head) < 0.8


def decode_record(value: bytes) -> dict[str, Any]:
    """A record's bytes as the JSON object they must hold (what ``parse_envelope`` reads its fields from)."""
    if _looks_wide(value):
        raise BadInput("unsupported_encoding", "UTF-16/UTF-32 bytes; envelopes must be UTF-8")
    if 0 in value:  # a NUL byte (see _looks_wide)
        raise BadInput("binary", "NUL bytes: not a text record")
    if not value or value.isspace():  # (strip() would copy the record)
        raise BadInput("empty", "an empty record")
    try:  # (the utf-8-sig codec is Python code: only where there is a BOM to drop)
        text = value.decode("utf-8-sig" if value.startswith(codecs.BOM_UTF8) else "utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput("not_utf8", f"byte {exc.start}: {exc.reason}") from exc
    try:
        data = _FAST_JSON.decode(text)
    except (msgspec.DecodeError, RecursionError):
        data = _json_loads(text)
    if not isinstance(data, dict):
        raise BadInput("not_an_object", f"a JSON {type(data).__name__}, expected an object")
    return data


#: msgspec's decoder (C): a fifth of ``json.loads``' cost on a one-line record, about a tenth of all the
#: worker does for one. It accepts a subset of what ``json.loads`` accepts (no NaN, no lone surrogate
#: escapes) and reads it alike; what it refuses goes to ``_json_loads``, which accepts or refuses it
#: exactly as before, with the same reasons.
_FAST_JSON = msgspec.json.Decoder()


def _json_loads(text: str) -> Any:
    """``json.loads``, its errors as :class:`BadInput` with their reasons."""
    try:
        return json.loads(text)
    except RecursionError as exc:  # json's own guard: the stack, not the input, would give out first
        raise BadInput("too_deeply_nested", "JSON nested deeper than the decoder's recursion limit") from exc
    except ValueError as exc:
        reason = "binary" if _is_binary(text) else "malformed_json"
        raise BadInput(reason, str(exc)[:200]) from exc


def _text(data: dict[str, Any], names: tuple[str, ...]) -> str | None:
    """The first of ``names`` present (not _first: "" is a blank line, not a missing one); None: none is."""
    for name in names:
        value = _get(data, name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise BadInput("bad_field", f"{name} must be a string, not {type(value).__name__}")
        return value
    return None


def _lines_field(data: dict[str, Any]) -> str | None:
    """A ``lines`` array (several consecutive lines of one stream in one record) as one text; None when absent."""
    value = data.get("lines")
    if value is None or value == []:
        return None
    if isinstance(value, list):
        try:
            return "\n".join(value)  # join refuses any element that is not a string
        except TypeError:
            pass
    raise BadInput("bad_field", "lines must be a list of strings")


def _source(data: dict[str, Any]) -> Source | None:
    """A repacked record's ``source`` (``sparktriage repack``): ``{"partition": p, "offsets": [...]}``,
    one input offset per element of ``lines``, increasing; None when absent."""
    raw = data.get("source")
    if raw is None:
        return None
    lines = data.get("lines")
    if not isinstance(raw, dict) or not isinstance(lines, list) or not lines:
        raise BadInput("bad_field", "source belongs to a record with a lines array, and must be an object")
    partition, offsets = raw.get("partition"), raw.get("offsets")
    if isinstance(partition, bool) or not isinstance(partition, int) or partition < 0:
        raise BadInput("bad_field", f"source.partition {partition!r} is not a partition number")
    if (not isinstance(offsets, list) or len(offsets) != len(lines)
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
            or any(b <= a for a, b in zip(offsets, offsets[1:])) or offsets[0] < 0):
        raise BadInput("bad_field", "source.offsets must be increasing offsets, one for each of the lines")
    return Source(partition, tuple(offsets), tuple(lines))


def _str_or_none(data: dict[str, Any], paths: tuple[str, ...]) -> str | None:
    """The first of ``paths`` that is a string; an object at a path (Filebeat's
    ``host`` is one, Vector's a string) is skipped, any other type is an error."""
    for path in paths:
        value = _get(data, path)
        if value in (None, "") or isinstance(value, dict):
            continue
        if not isinstance(value, str):
            raise BadInput("bad_field", f"{path} must be a string, not {type(value).__name__}")
        return value
    return None


def _lifecycle(data: dict[str, Any], event: str | None) -> Lifecycle | None:
    """The ``lifecycle`` object of a watcher's record, type-checked field by field."""
    raw = data.get("lifecycle")
    if raw is None:
        if event == "container_end":
            raise BadInput("missing_field", "container_end without a lifecycle object")
        return None
    if event not in ("app_end", "container_end"):
        raise BadInput("bad_field", "lifecycle belongs to an app_end or container_end record")
    if not isinstance(raw, dict):
        raise BadInput("bad_field", "lifecycle must be an object")
    for name in _LIFECYCLE_TEXTS:
        if raw.get(name) is not None and not isinstance(raw[name], str):
            raise BadInput("bad_field", f"lifecycle.{name} must be a string, not {type(raw[name]).__name__}")
    for name in _LIFECYCLE_INTS:
        value = raw.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise BadInput("bad_field", f"lifecycle.{name} must be an integer, not {value!r}")
    tags = raw.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise BadInput("bad_field", "lifecycle.tags must be a list of strings")
    if not raw.get("source"):
        raise BadInput("missing_field", "lifecycle.source is missing")
    return Lifecycle.from_dict({**raw, "diagnostics": raw.get("diagnostics") or ""})


def parse_envelope(key: bytes | None, value: bytes | None, *, max_line_bytes: int = 1024 * 1024) -> Envelope:
    """Normalise one record; raises :class:`BadInput` with a stable ``reason``."""
    if value is None:  # a compacting producer's delete marker: there is nothing to read
        raise BadInput("tombstone", "a record with a null value (a Kafka tombstone)")
    # A shipper may batch several lines into one record; past a few lines' worth
    # the record is refused whole before paying for JSON decoding.
    if len(value) > MAX_RECORD_LINES_WORTH * max_line_bytes:
        raise BadInput("record_too_large", f"record of {len(value)} bytes")
    data = decode_record(value)
    plan = _plan(data)  # only the fields this record's shape can hold are looked up
    got = {name: value for name, paths in plan.first if (value := _first(data, paths)) is not None}
    labels = got.get("labels") or {}
    if not isinstance(labels, dict):
        labels = {}
    path = got.get("path")
    container = got.get("container")
    container = str(container) if container is not None else None
    cid = parse_container_id(container) or (parse_container_id(str(path)) if path else None)
    if cid is not None:
        container = cid.container_id
    key_text = key.decode("utf-8", "replace") if key else None
    app_id = (got.get("app_id") or labels.get("spark-app-selector") or (cid.app_id if cid else None)
              or app_id_from_path(str(path) if path else None) or key_text)
    if not app_id:
        raise BadInput("missing_app_id", "no app_id, container id, YARN path, pod label or key")
    if not isinstance(app_id, str):
        raise BadInput("bad_field", f"app_id must be a string, not {type(app_id).__name__}")
    event = got.get("event")
    if event is not None and event not in LIFECYCLE_EVENTS:
        raise BadInput("bad_field", f"event {event!r} is not one of {', '.join(LIFECYCLE_EVENTS)}")
    status = got.get("status")
    if (status is not None or event == "app_end") and str(status).upper() not in STATUSES:
        raise BadInput("bad_field", f"status {status!r} is not one of {', '.join(STATUSES)}")
    # An empty string is a blank log line (it still counts for line positions); absence is an error.
    text = _lines_field(data)
    if text is None:
        text = _text(data, plan.text)
    if text is None:
        if event is None:
            raise BadInput("missing_field", "no line, message or log text")
        text = ""
    source = _source(data)
    if source is None:  # a repacked record's lines are exactly the lines read: a blank last one is a line
        text = text.rstrip("\n")
    if len(text) > max_line_bytes // 4 and any(
        len(line.encode("utf-8")) > max_line_bytes for line in text.split("\n")
    ):
        raise BadInput("line_too_long", f"a line exceeds {max_line_bytes} bytes")
    if _is_binary(text):
        raise BadInput("binary", "the log text is mostly non-printable")
    role = str(got.get("role") or labels.get("spark-role") or (cid.role if cid else "unknown")).lower()
    if role not in ROLES:
        role = "unknown"
    workflow = data.get("workflow")
    if workflow is not None and not isinstance(workflow, dict):
        raise BadInput("bad_field", "workflow must be an object")
    try:
        attempt = int(got.get("attempt") or (cid.attempt if cid else 1))
    except (TypeError, ValueError) as exc:
        raise BadInput("bad_field", f"attempt {data.get('attempt')!r} is not an integer") from exc
    strings = {name: value for name, paths in plan.strings if (value := _str_or_none(data, paths)) is not None}
    return Envelope(
        app_id=str(app_id), text=text, attempt=attempt, container_id=container,
        host=strings.get("host"), role=role, team=strings.get("team") or labels.get("team"),
        user=strings.get("user"), queue=strings.get("queue"),
        workflow=Workflow.from_dict(workflow) if workflow else NO_WORKFLOW, ts=parse_ts(got.get("ts")),
        event=event, status=str(status).upper() if status else None, stream=got.get("stream"),
        lifecycle=_lifecycle(data, event), source=source,
    )
