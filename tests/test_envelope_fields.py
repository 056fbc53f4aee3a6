"""Each envelope field's conversion and the words of its refusal (what a dead letter's reader gets)."""

from __future__ import annotations

import json

import pytest

from ingest.envelope import MAX_RECORD_LINES_WORTH, parse_envelope, parse_ts
from ingest.headers import SOURCE_HEADER, origin_header, origin_of
from sparktriage.errors import BadInput
from sparktriage.records import Origin


@pytest.mark.parametrize(("value", "seconds"), [
    (None, None), ("", None),
    (1_710_238_273, 1_710_238_273.0),  # epoch seconds
    (1_710_238_273_500, 1_710_238_273.5),  # epoch milliseconds
    (100_000_000_000, 100_000_000_000.0),  # 1e11 itself is read as seconds
    (100_000_000_001, 100_000_000.001),
    ("2024-03-12T10:11:13Z", 1_710_238_273.0),
    ("2024-03-12T10:11:13+01:00", 1_710_234_673.0),
    ("2024-03-12T10:11:13", 1_710_238_273.0),  # no zone: UTC
])
def test_times_are_epoch_seconds(value, seconds) -> None:
    assert parse_ts(value) == (pytest.approx(seconds) if seconds is not None else None)


def test_a_time_without_zone_is_utc_whatever_the_machine_s_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert parse_ts("2024-03-12T10:11:13") == 1_710_238_273.0
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(("value", "words"), [(True, "ts True is not a time"),
                                              ("yesterday", "ts 'yesterday' is neither RFC 3339 nor epoch ms")])
def test_a_bad_time_says_what_it_got(value, words) -> None:
    with pytest.raises(BadInput) as err:
        parse_ts(value)
    assert (err.value.reason, err.value.detail) == ("bad_field", words)


@pytest.mark.parametrize(("field", "value", "words"), [
    ("line", 42, "line must be a string, not int"),
    ("message", ["a"], "message must be a string, not list"),
    ("host", 7, "host must be a string, not int"),
    ("ts", "soon", "ts 'soon' is neither RFC 3339 nor epoch ms"),
])
def test_a_field_of_the_wrong_type_is_refused_by_name(field: str, value, words: str) -> None:
    record = {"app_id": "application_1700000000000_0042", **({} if field in ("line", "message") else {"line": "x"}),
              field: value}
    with pytest.raises(BadInput) as err:
        parse_envelope(None, json.dumps(record).encode())
    assert (err.value.reason, err.value.detail) == ("bad_field", words)


def test_an_empty_or_object_host_is_no_host() -> None:
    base = {"app_id": "application_1700000000000_0042", "line": "x"}
    assert parse_envelope(None, json.dumps({**base, "host": ""}).encode()).host is None
    assert parse_envelope(None, json.dumps({**base, "host": {"name": "n1"}}).encode()).host == "n1"  # Filebeat


YARN_LOG = "/var/log/hadoop-yarn/containers/application_1700000000000_0042/container_1700000000000_0042_01_000002/stderr"


@pytest.mark.parametrize("path_field", ["log.file.path", "file", "path", "filename"])
def test_every_shipper_s_name_for_the_file_gives_the_application(path_field: str) -> None:
    record: dict = {"line": "x"}
    node = record
    *parents, leaf = path_field.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = YARN_LOG
    env = parse_envelope(None, json.dumps(record).encode())
    assert (env.app_id, env.container_id) == ("application_1700000000000_0042", "container_1700000000000_0042_01_000002")


@pytest.mark.parametrize("container_field", ["container_id", "kubernetes.pod_name", "kubernetes.pod.name",
                                             "container.id"])
def test_every_shipper_s_name_for_the_container_is_read(container_field: str) -> None:
    record: dict = {"app_id": "application_1700000000000_0042", "line": "x"}
    node = record
    *parents, leaf = container_field.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = "nightly-agg-exec-2"
    assert parse_envelope(None, json.dumps(record).encode()).container_id == "nightly-agg-exec-2"


def test_a_tombstone_and_an_oversized_record_say_what_they_are() -> None:
    with pytest.raises(BadInput) as err:
        parse_envelope(b"k", None)  # type: ignore[arg-type]
    assert (err.value.reason, err.value.detail) == ("tombstone", "a record with a null value (a Kafka tombstone)")
    limit = MAX_RECORD_LINES_WORTH * 100
    at_limit = json.dumps({"app_id": "a", "line": "x"}).encode().ljust(limit)
    assert parse_envelope(None, at_limit, max_line_bytes=100).app_id == "a", "exactly the limit is accepted"
    with pytest.raises(BadInput) as err:
        parse_envelope(None, at_limit + b" ", max_line_bytes=100)
    assert (err.value.reason, err.value.detail) == ("record_too_large", f"record of {limit + 1} bytes")


END = {"app_id": "application_1700000000000_0042", "event": "app_end", "status": "FAILED"}


def test_a_watcher_s_lifecycle_object_is_read_field_by_field() -> None:
    lifecycle = {"source": "yarn", "state": "FINISHED", "final_status": "FAILED", "reason": None, "exit_code": -104,
                 "elapsed_ms": 5000, "tags": ["etl"], "diagnostics": None}
    env = parse_envelope(None, json.dumps({**END, "lifecycle": lifecycle}).encode())
    assert (env.lifecycle.source, env.lifecycle.state, env.lifecycle.exit_code, env.lifecycle.diagnostics) == \
        ("yarn", "FINISHED", -104, "")
    assert parse_envelope(None, json.dumps(END).encode()).lifecycle is None
    pod = {"source": "k8s", "reason": "OOMKilled", "exit_code": 137, "diagnostics": "the container used too much"}
    ended = parse_envelope(None, json.dumps({**END, "event": "container_end", "lifecycle": pod}).encode())
    assert (ended.event, ended.lifecycle.reason, ended.lifecycle.diagnostics) == \
        ("container_end", "OOMKilled", "the container used too much")


@pytest.mark.parametrize(("record", "reason", "words"), [
    ({**END, "event": "container_end"}, "missing_field", "container_end without a lifecycle object"),
    ({"app_id": "a", "line": "x", "lifecycle": {"source": "yarn"}}, "bad_field",
     "lifecycle belongs to an app_end or container_end record"),
    ({**END, "lifecycle": ["yarn"]}, "bad_field", "lifecycle must be an object"),
    ({**END, "lifecycle": {"source": "yarn", "reason": 137}}, "bad_field", "lifecycle.reason must be a string, not int"),
    ({**END, "lifecycle": {"source": "yarn", "exit_code": "137"}}, "bad_field",
     "lifecycle.exit_code must be an integer, not '137'"),
    ({**END, "lifecycle": {"source": "yarn", "elapsed_ms": True}}, "bad_field",
     "lifecycle.elapsed_ms must be an integer, not True"),
    ({**END, "lifecycle": {"source": "yarn", "tags": "etl"}}, "bad_field", "lifecycle.tags must be a list of strings"),
    ({**END, "lifecycle": {"source": "yarn", "tags": [1]}}, "bad_field", "lifecycle.tags must be a list of strings"),
    ({**END, "lifecycle": {"state": "FAILED"}}, "missing_field", "lifecycle.source is missing"),
])
def test_a_bad_lifecycle_is_refused_with_its_reason(record: dict, reason: str, words: str) -> None:
    with pytest.raises(BadInput) as err:
        parse_envelope(None, json.dumps(record).encode())
    assert (err.value.reason, err.value.detail) == (reason, words)


@pytest.mark.parametrize(("value", "reason", "words"), [
    ('{"app_id": "a", "line": "x"}'.encode("utf-16"), "unsupported_encoding",
     "UTF-16/UTF-32 bytes; envelopes must be UTF-8"),
    (b'{"app_id": "a", "line": "x\x00"}', "binary", "NUL bytes: not a text record"),
    (b"  \n ", "empty", "an empty record"),
    (b'{"app_id": "caf\xe9"}', "not_utf8", "byte 15: invalid continuation byte"),
    (b'["app_id", "a"]', "not_an_object", "a JSON list, expected an object"),
])
def test_an_unreadable_record_says_why(value: bytes, reason: str, words: str) -> None:
    with pytest.raises(BadInput) as err:
        parse_envelope(None, value)
    assert (err.value.reason, err.value.detail) == (reason, words)


def test_a_nul_makes_a_record_binary_and_colour_codes_do_not() -> None:
    with pytest.raises(BadInput) as err:
        parse_envelope(None, b"24/03/12 10:11:13 INFO Executor: a line with one \x00 in it")
    assert err.value.reason == "binary"
    coloured = "\x1b[31m24/03/12 10:11:13 ERROR Executor: boom\x1b[0m"
    with pytest.raises(BadInput) as err:
        parse_envelope(None, coloured.encode())
    assert err.value.reason == "malformed_json", "a coloured line is text, not binary data"


def test_the_application_is_read_from_a_path_that_names_no_container() -> None:
    from logtext.yarn import app_id_from_path

    assert app_id_from_path("/var/log/apps/application_1700000000000_0042/stderr") == "application_1700000000000_0042"


def test_refusals_of_undecodable_records_say_what_went_wrong() -> None:
    cases = [(b"[" * 100_000, "too_deeply_nested", "JSON nested deeper than the decoder's recursion limit"),
             (b'{"app_id": "a", "lines": ["x", 3]}', "bad_field", "lines must be a list of strings"),
             (b'{"line": "x"}', "missing_app_id", "no app_id, container id, YARN path, pod label or key")]
    for value, reason, detail in cases:
        with pytest.raises(BadInput) as err:
            parse_envelope(None, value)
        assert (err.value.reason, err.value.detail) == (reason, detail)
    with pytest.raises(BadInput) as err:
        parse_envelope(None, b'{"app_id": "a", "line": ')
    assert err.value.reason == "malformed_json" and err.value.detail.startswith("Expecting value: line 1 column")


def test_the_application_comes_from_the_path_before_the_key_and_a_bad_key_is_still_read() -> None:
    path = {"line": "x", "log": {"file": {"path": "/var/log/apps/application_1700000000000_0042/stderr"}}}
    assert parse_envelope(b"some-key", json.dumps(path).encode()).app_id == "application_1700000000000_0042"
    assert parse_envelope(b"\xffkey", b'{"line": "x"}').app_id == "\ufffdkey", "an undecodable key byte is replaced"
    odd_labels = {"app_id": "a", "line": "x", "kubernetes": {"labels": "not an object"}}
    assert parse_envelope(None, json.dumps(odd_labels).encode()).app_id == "a"


def test_wide_text_without_a_byte_order_mark_is_recognised_from_eight_bytes() -> None:
    for codec in ("utf-16-le", "utf-16-be"):
        with pytest.raises(BadInput) as err:
            parse_envelope(None, "abcd".encode(codec))  # 8 bytes
        assert err.value.reason == "unsupported_encoding", codec
    with pytest.raises(BadInput) as err:
        parse_envelope(None, b"a\x00b\x00c\x00d")  # 7 bytes: too short to tell
    assert err.value.reason == "binary"
    # 64 bytes read: wide when more than 30 of the odd (little-endian) or even (big-endian) bytes are NUL
    for pair in (b"a\x00", b"\x00a"):
        with pytest.raises(BadInput) as err:
            parse_envelope(None, pair * 31 + b"ab")
        assert err.value.reason == "unsupported_encoding"
        with pytest.raises(BadInput) as err:
            parse_envelope(None, pair * 30 + b"abab")
        assert err.value.reason == "binary", "30 NULs of 64 bytes: NUL-laden, not wide text"


@pytest.mark.parametrize("field", ["ts", "@timestamp", "timestamp", "time", "date"])
def test_every_shipper_s_name_for_the_time_is_read(field: str) -> None:
    assert parse_envelope(None, json.dumps({"app_id": "a", "line": "x", field: 1_710_238_273_500}).encode()).ts == \
        pytest.approx(1_710_238_273.5)


@pytest.mark.parametrize("field", ["host", "host.name", "host.hostname", "kubernetes.host", "kubernetes.pod_node_name",
                                   "kubernetes.node.name", "hostname"])
def test_every_shipper_s_name_for_the_host_is_read(field: str) -> None:
    record: dict = {"app_id": "a", "line": "x"}
    node = record
    *parents, last = field.split(".")
    for name in parents:
        node = node.setdefault(name, {})
    node[last] = "node-7"
    assert parse_envelope(None, json.dumps(record).encode()).host == "node-7"


def test_who_ran_it_where_and_as_what() -> None:
    env = parse_envelope(None, json.dumps({
        "app_id": "a", "lines": ["x\n", "y\n"], "user": "ana", "queue": "etl", "attempt": "2", "role": "Driver",
        "workflow": {"project": "p", "flow": "f", "job": "j"}}).encode())
    assert (env.text, env.user, env.queue, env.attempt, env.role, env.workflow.project, env.workflow.job) == \
        ("x\n\ny", "ana", "etl", 2, "driver", "p", "j")
    pod = parse_envelope(None, json.dumps({"line": "x", "kubernetes": {"labels": {
        "spark-app-selector": "spark-1", "spark-role": "executor", "team": "ads"}}}).encode())
    assert (pod.app_id, pod.role, pod.team) == ("spark-1", "executor", "ads")
    assert parse_envelope(None, b'{"app_id": "a", "line": "tail X\\n"}').text == "tail X"
    assert parse_envelope(None, b'{"app_id": "a", "line": "tail  \\n"}').text == "tail  ", "only the line break goes"
    empty_first = {"file": "", "filename": "/var/log/apps/application_1700000000000_0042/stderr", "line": "x"}
    assert parse_envelope(None, json.dumps(empty_first).encode()).app_id == "application_1700000000000_0042"
    with pytest.raises(BadInput) as err:
        parse_envelope(None, b'{"app_id": "a", "line": "one \\u0000 NUL in a JSON string"}')
    assert err.value.reason == "binary"
    plain = parse_envelope(None, b'{"app_id": "a", "line": "x", "role": "gardener"}')
    assert (plain.role, plain.attempt, plain.user, plain.queue) == ("unknown", 1, None, None)
    assert parse_envelope(None, b'{"app_id": "a", "line": "x"}').role == "unknown"


@pytest.mark.parametrize(("record", "reason", "detail"), [
    ({"app_id": 7, "line": "x"}, "bad_field", "app_id must be a string, not int"),
    ({"app_id": "a", "line": "x", "event": "app_start"}, "bad_field",
     "event 'app_start' is not one of app_end, container_end, inactivity_check, end_check, stall_check, checkpoint_check"),
    ({"app_id": "a", "event": "app_end", "status": "LOST"}, "bad_field",
     "status 'LOST' is not one of FAILED, SUCCEEDED, KILLED"),
    ({"app_id": "a"}, "missing_field", "no line, message or log text"),
    ({"app_id": "a", "line": "x", "workflow": "p/f/j"}, "bad_field", "workflow must be an object"),
    ({"app_id": "a", "line": "x", "attempt": "second"}, "bad_field", "attempt 'second' is not an integer"),
    ({"app_id": "a", "line": "\x01\x02\x03\x04\x05 x"}, "binary", "the log text is mostly non-printable"),
])
def test_a_refused_record_says_which_field_and_why(record: dict, reason: str, detail: str) -> None:
    with pytest.raises(BadInput) as err:
        parse_envelope(None, json.dumps(record).encode())
    assert (err.value.reason, err.value.detail) == (reason, detail)


def test_a_line_too_long_is_refused_by_its_bytes() -> None:
    limit = 400
    fits = "é" * (limit // 2)  # 400 bytes: at the limit
    assert parse_envelope(None, json.dumps({"app_id": "a", "line": fits}).encode(), max_line_bytes=limit).text == fits
    for text in ("é" * (limit // 2) + "x", "short\n" + "x" * (limit + 1), "x " * (limit // 2 + 1)):
        with pytest.raises(BadInput) as err:
            parse_envelope(None, json.dumps({"app_id": "a", "line": text}).encode(), max_line_bytes=limit)
        assert (err.value.reason, err.value.detail) == ("line_too_long", f"a line exceeds {limit} bytes"), text[:10]


def _repacked(**fields) -> bytes:
    return json.dumps({"app_id": "application_1700000000000_0001", "container_id": "container_1700000000000_0001_01_000002",
                       **fields}).encode()


def test_a_repacked_record_s_source_is_read_with_its_lines() -> None:
    """``sparktriage repack``'s ``source``: the input partition and one offset per line, kept with the lines
    they number (the worker's replay check reads them); a record without one has none."""
    env = parse_envelope(None, _repacked(lines=["a", "b", "c"], source={"partition": 0, "offsets": [0, 4, 9]}))
    assert (env.source.partition, env.source.offsets, env.source.lines) == (0, (0, 4, 9), ("a", "b", "c"))
    assert env.text == "a\nb\nc"
    assert parse_envelope(None, _repacked(lines=["a"])).source is None
    assert parse_envelope(None, _repacked(lines=["a"], source={"partition": 3, "offsets": [0]})).source.partition == 3


@pytest.mark.parametrize("fields, detail", [
    ({"line": "a", "source": {"partition": 0, "offsets": [0]}},
     "source belongs to a record with a lines array, and must be an object"),
    ({"lines": ["a"], "source": [0, 0]}, "source belongs to a record with a lines array, and must be an object"),
    ({"lines": ["a"], "source": {"offsets": [0]}}, "source.partition None is not a partition number"),
    ({"lines": ["a"], "source": {"partition": -1, "offsets": [0]}}, "source.partition -1 is not a partition number"),
    ({"lines": ["a"], "source": {"partition": True, "offsets": [0]}}, "source.partition True is not a partition number"),
    ({"lines": ["a"], "source": {"partition": "0", "offsets": [0]}}, "source.partition '0' is not a partition number"),
    ({"lines": ["a", "b"], "source": {"partition": 0}}, "source.offsets must be increasing offsets, one for each of the lines"),
    ({"lines": ["a", "b"], "source": {"partition": 0, "offsets": [0]}},
     "source.offsets must be increasing offsets, one for each of the lines"),
    ({"lines": ["a", "b"], "source": {"partition": 0, "offsets": [3, 3]}},
     "source.offsets must be increasing offsets, one for each of the lines"),
    ({"lines": ["a", "b"], "source": {"partition": 0, "offsets": [-1, 2]}},
     "source.offsets must be increasing offsets, one for each of the lines"),
    ({"lines": ["a", "b"], "source": {"partition": 0, "offsets": [0, True]}},
     "source.offsets must be increasing offsets, one for each of the lines"),
    ({"lines": ["a", "b"], "source": {"partition": 0, "offsets": [0, "1"]}},
     "source.offsets must be increasing offsets, one for each of the lines"),
])
def test_a_bad_source_is_refused_with_its_reason(fields: dict, detail: str) -> None:
    """A ``source`` that cannot number the record's lines is a bad field, said exactly (the dead letter
    carries it): a replay check on wrong offsets would drop lines that were never folded."""
    with pytest.raises(BadInput) as refused:
        parse_envelope(None, _repacked(**fields))
    assert (refused.value.reason, refused.value.detail) == ("bad_field", detail)



def test_the_repacking_stage_s_source_header_names_where_a_record_sent_on_whole_was_read() -> None:
    """``sparktriage-source`` (``ingest.repack``): the worker applies a record of one origin once. Read from
    kafka-python's and faust's (name, bytes) pairs or a mapping; written and read back alike."""
    assert origin_of([("trace", b"1"), origin_header(Origin("spark-lines", 3, 1047))]) == Origin("spark-lines", 3, 1047)
    assert origin_of({SOURCE_HEADER: b'{"topic": "t", "partition": 0, "offset": 0}'}) == Origin("t", 0, 0)
    assert origin_of(None) is None and origin_of([("trace", b"1")]) is None


@pytest.mark.parametrize("value", [b"3/1047", b"[3, 1047]", b'{"topic": "t", "partition": 3}',
                                   b'{"topic": "t", "partition": -1, "offset": 0}',
                                   b'{"topic": "t", "partition": 0, "offset": true}',
                                   b'{"topic": 7, "partition": 0, "offset": 0}', b"\xff"])
def test_a_source_header_that_names_no_place_is_refused(value: bytes) -> None:
    """A record whose origin cannot be read could not be applied once: a bad field, for its dead letter."""
    with pytest.raises(BadInput, match=SOURCE_HEADER) as refused:
        origin_of([(SOURCE_HEADER, value)])
    assert refused.value.reason == "bad_field"


def test_records_of_more_shapes_than_are_remembered_are_read_alike() -> None:
    """Where a record's fields can be is remembered per set of top-level keys, up to a bound: a producer
    that adds a key of its own to each record (hundreds of shapes) is read as well, and memory stays bounded."""
    from ingest import envelope

    for n in range(envelope._MAX_PLANS + 50):
        record = {"line": "x", f"seq_{n}": n, "host": {"name": "n1"},
                  "kubernetes": {"labels": {"spark-app-selector": "application_1700000000000_0042"}}}
        env = parse_envelope(None, json.dumps(record).encode())
        assert (env.app_id, env.host, env.text) == ("application_1700000000000_0042", "n1", "x")
    assert len(envelope._PLANS) <= envelope._MAX_PLANS
