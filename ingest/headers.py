"""The Kafka headers the repacking stage and the worker exchange beside a record's value.

To a record it sends on whole the repacking stage (``ingest.repack``) adds ``sparktriage-source``, where it
read it, by which the worker applies it once; to the head of a record too large to send, ``sparktriage-refused``,
why, for the worker to dead-letter it. A header that does not say what it must is bad input (``BadInput``):
the record could not be applied once, or its refusal could not be told.
"""

from __future__ import annotations

import json
from typing import Any

from sparktriage.errors import BadInput
from sparktriage.records import Origin

#: The header in which the repacking stage says where it read a record it sends on whole.
SOURCE_HEADER = "sparktriage-source"
#: The header in which it says why it refused a record it could not send whole (the worker dead-letters it).
REFUSED_HEADER = "sparktriage-refused"


def origin_header(origin: Origin) -> tuple[str, bytes]:
    """The ``sparktriage-source`` header of a record read at ``origin``."""
    value = {"topic": origin.topic, "partition": origin.partition, "offset": origin.offset}
    return SOURCE_HEADER, json.dumps(value, separators=(",", ":")).encode("utf-8")


def _header(headers: Any, name: str, fields: tuple[str, ...]) -> tuple[Any, ...] | None:
    """The ``fields`` of header ``name``'s JSON object; None without the header. ``headers``: Kafka's, as
    (name, bytes) pairs (kafka-python, faust) or a mapping."""
    pairs = headers.items() if isinstance(headers, dict) else headers or ()
    raw = next((value for key, value in pairs if key == name), None)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        return tuple(data[field] for field in fields)
    except (ValueError, TypeError, KeyError) as exc:
        raise BadInput("bad_field", f"header {name} is not an object of {', '.join(fields)}") from exc


def origin_of(headers: Any) -> Origin | None:
    """The origin a record's ``sparktriage-source`` header names; None without one.

    A header that is not ``{"topic": str, "partition": int >= 0, "offset": int >= 0}``
    is refused: the record could not be applied once.
    """
    found = _header(headers, SOURCE_HEADER, ("topic", "partition", "offset"))
    if found is None:
        return None
    topic, partition, offset = found
    if not isinstance(topic, str) or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in (partition, offset)):
        raise BadInput("bad_field", f"header {SOURCE_HEADER} names no topic, partition and offset: {found!r}")
    return Origin(topic, partition, offset)


def refusal_header(err: BadInput) -> tuple[str, bytes]:
    """The ``sparktriage-refused`` header of a record refused for ``err``."""
    return REFUSED_HEADER, json.dumps({"reason": err.reason, "detail": err.detail}).encode("utf-8")


def refusal_of(headers: Any) -> BadInput | None:
    """The refusal a ``sparktriage-refused`` header names (the repacking stage's, ``ingest.repack``); None
    without one."""
    found = _header(headers, REFUSED_HEADER, ("reason", "detail"))
    if found is None:
        return None
    if not all(isinstance(text, str) for text in found):
        raise BadInput("bad_field", f"header {REFUSED_HEADER} names no reason and detail: {found!r}")
    return BadInput(*found)
