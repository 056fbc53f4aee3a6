"""The worker's tables as faust stores them: RocksDB's options (``ingest.faststart``) and JSON values by msgspec.

faust encodes a table's values with its ``json`` codec (the standard library's
encoder, with a ``default`` hook, where ``orjson`` is not installed) each time
one is set: into RocksDB and onto the changelog. The worker's values are plain
JSON (dicts, lists, strings, numbers); an ``events`` entry of five events took
about 24 µs that way and 3 µs with msgspec (C), whose bytes are the same JSON,
which faust's codec reads as well as this one reads what faust's wrote before:
a worker upgraded over an older one's RocksDB files and changelogs reads them.
The keys stay in faust's codec: a key's bytes find what was stored under it.
"""

from __future__ import annotations

import json
from typing import Any

import faust
import msgspec
from faust.serializers import codecs

from ingest.faststart import table_options

#: the name the values' codec is registered under in faust's codec registry
VALUES = "sparktriage-json"

_ENCODE = msgspec.json.Encoder().encode
_DECODE = msgspec.json.Decoder().decode
_FAUST_JSON = codecs.get_codec("json")


class _Values(codecs.Codec):
    """JSON values, encoded and decoded by msgspec."""

    def _dumps(self, obj: Any) -> bytes:
        try:
            return _ENCODE(obj)
        except (UnicodeEncodeError, TypeError):  # a lone surrogate (a line json.loads read from an escape;
            return _FAUST_JSON.dumps(obj)  # UTF-8 has none): faust's codec escapes it, as it always did

    def _loads(self, s: bytes) -> Any:
        try:
            return _DECODE(s)
        except msgspec.DecodeError:  # what faust's codec writes and msgspec does not read (NaN, a lone surrogate)
            return json.loads(s)


codecs.register(VALUES, _Values())


def table(app: faust.App, name: str, partitions: int) -> faust.Table:
    """One of the worker's changelog-backed tables (``ingest.state`` says what each holds)."""
    created = app.Table(name, partitions=partitions, options=table_options())
    created.value_serializer = VALUES  # faust's Table takes no such argument; read when its store is made
    return created
