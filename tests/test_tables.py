"""The worker's table values in msgspec's JSON: read alike by faust's own codec, and the other way round.

A worker upgraded over an older one's RocksDB files and changelogs reads
values faust's ``json`` codec wrote, and an older worker (a rolling upgrade
rolled back) reads this one's; the keys keep faust's codec, so a key's bytes
still find what an older worker stored under it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import faust
import pytest
from faust.serializers import codecs

from ingest.envelope import parse_envelope
from ingest.live import LiveStreams
from ingest.state import AppState, event_entry
from ingest.tables import VALUES, table
from tests.loggen import generate_log


def _values() -> list[object]:
    """One value of each table as the worker writes them, from a generated log with its failures."""
    lines = generate_log(400, error_fraction=0.05, seed=7).split("\n") + ["naïve: café ☕ \u2028 done"]
    live = LiveStreams(lambda key: None, max_pending=10_000)
    state, found = AppState(app_id="application_1_0001"), []
    for offset, line in enumerate(lines):
        env = parse_envelope(b"application_1_0001", json.dumps(
            {"app_id": "application_1_0001", "line": line, "container_id": "c1", "role": "executor",
             "team": "ünïcode"}).encode())
        state.note(env, 1.7e9 + offset)
        live.fold(env, offset, 0, object(), 0.0)
    state.events_at["application_1_0001:1:c1"] = 17
    state.watch = {"signs": [["driver", 1.5, None]], "nested": {"a": [1, 2.25, True]}}
    (checkpoint,) = live.finish("application_1_0001", ["application_1_0001:1:c1"])
    found = [event for _, event in checkpoint.found]
    assert found, "the generated log has failures: an events entry to store"
    entry, _ = event_entry(found)
    return [state.to_dict(), entry, {"assembler": {"current": None}, "tail": lines[-3:], "offset": 3}]


@pytest.mark.parametrize("value", _values(), ids=["apps", "events", "streams"])
def test_values_read_alike_with_faust_json_either_way(value: object) -> None:
    ours, faust_json = codecs.get_codec(VALUES), codecs.get_codec("json")
    assert ours.loads(faust_json.dumps(value)) == value
    assert faust_json.loads(ours.dumps(value)) == value
    assert json.loads(ours.dumps(value)) == value


def test_a_value_faust_could_write_and_msgspec_refuses_is_read() -> None:
    assert math.isnan(codecs.get_codec(VALUES).loads(b"{\"ts\": NaN}")["ts"])  # json.loads reads it


def test_a_line_with_a_lone_surrogate_is_stored_and_read_back() -> None:
    """The envelope reads a line's lone surrogate escape (json.loads); UTF-8, msgspec's output, has none."""
    line = parse_envelope(None, b'{"app_id": "a", "line": "half \\ud83d of an emoji"}').text
    value = {"tail": [line], "assembler": {"current": {"lines": [line]}}}
    ours, faust_json = codecs.get_codec(VALUES), codecs.get_codec("json")
    assert ours.loads(ours.dumps(value)) == value
    assert faust_json.loads(ours.dumps(value)) == value


def test_the_worker_tables_store_values_with_it_and_keys_as_before(tmp_path: Path) -> None:
    app = faust.App("tables-test", store="memory://", datadir=str(tmp_path))
    apps = table(app, "apps", 1)
    assert apps.value_serializer == VALUES and apps.data.value_serializer == VALUES
    assert apps.key_serializer == "json" and apps.data.key_serializer == "json"
