"""Envelopes from every accepted shape, and a distinct reason for each kind of bad input."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.envelope import decode_record, parse_envelope
from sparktriage.errors import BadInput

LINE = "24/03/12 10:11:14 ERROR Executor: Exception in task 1.0 in stage 3.0 (TID 20)"


def env(obj: object, key: bytes | None = None, **kw):
    return parse_envelope(key, json.dumps(obj).encode(), **kw)


def test_contract_shape() -> None:
    e = env({"app_id": "application_1700000000000_0042", "line": LINE, "container_id":
             "container_e12_1700000000000_0042_02_000003", "host": "node-7", "team": "ads", "user": "etl",
             "queue": "prod", "workflow": {"project": "p", "flow": "f", "job": "j", "execution": "9"},
             "ts": "2024-03-12T10:11:14Z"})
    assert (e.app_id, e.attempt, e.role, e.host, e.team, e.workflow.flow) == (
        "application_1700000000000_0042", 2, "executor", "node-7", "ads", "f")
    assert e.ts == 1710238274.0 and e.text == LINE


def test_lifecycle_event_and_epoch_ms() -> None:
    e = env({"app_id": "a", "event": "app_end", "status": "failed", "ts": 1710238274000})
    assert (e.event, e.status, e.ts, e.text) == ("app_end", "FAILED", 1710238274.0, "")


def test_fluent_bit_kubernetes() -> None:
    e = env({"log": LINE + "\n", "time": "2024-03-12T10:11:14.5Z", "kubernetes": {
        "pod_name": "etl-job-exec-3", "host": "ip-10-0-0-7", "labels": {
            "spark-app-selector": "spark-4f2a9c", "spark-role": "executor"}}})
    assert (e.app_id, e.role, e.host, e.container_id, e.text) == (
        "spark-4f2a9c", "executor", "ip-10-0-0-7", "etl-job-exec-3", LINE)


def test_vector_kubernetes_logs_and_file() -> None:
    k = env({"message": LINE, "timestamp": "2024-03-12T10:11:14Z", "kubernetes": {
        "pod_name": "etl-driver", "pod_node_name": "node-3",
        "pod_labels": {"spark-app-selector": "spark-77", "spark-role": "driver"}}})
    assert (k.app_id, k.role, k.host) == ("spark-77", "driver", "node-3")
    f = env({"message": LINE, "host": "nm-12", "file":
             "/var/log/hadoop-yarn/containers/application_1700000000000_0042/container_1700000000000_0042_01_000001/stderr"})
    assert (f.app_id, f.role, f.container_id, f.host) == (
        "application_1700000000000_0042", "driver", "container_1700000000000_0042_01_000001", "nm-12")


def test_filebeat() -> None:
    e = env({"message": LINE, "@timestamp": "2024-03-12T10:11:14.000Z", "host": {"name": "nm-4"},
             "log": {"file": {"path": "/data/yarn/logs/application_1700000000000_0007/"
                                      "container_e3_1700000000000_0007_01_000002/stderr"}}})
    assert (e.app_id, e.role, e.host, e.attempt) == ("application_1700000000000_0007", "executor", "nm-4", 1)


def test_key_gives_the_app_id_when_the_value_does_not() -> None:
    assert env({"line": LINE}, key=b"application_1_2").app_id == "application_1_2"


@pytest.mark.parametrize("value,reason", [
    (b'{"app_id": "a", "line": ', "malformed_json"),
    ('{"app_id": "a", "line": "café"}'.encode("latin-1"), "not_utf8"),
    (bytes(range(1, 32)) * 20, "binary"),
    (b"\x00\x01\x02junk", "binary"),
    (b'["app_id", "a"]', "not_an_object"),
    (b'{"line": "x"}', "missing_app_id"),
    (b'{"app_id": "a"}', "missing_field"),
    (b'{"app_id": "a", "line": 42}', "bad_field"),
    (b'{"app_id": "a", "line": "x", "ts": "yesterday"}', "bad_field"),
    (b'{"app_id": "a", "event": "app_end", "status": "MAYBE"}', "bad_field"),
    (json.dumps({"app_id": "a", "line": "x" * (1024 * 1024 + 1)}).encode(), "line_too_long"),
    ('{"app_id": "a", "line": "x"}'.encode("utf-16"), "unsupported_encoding"),
    ('{"app_id": "a", "line": "x"}'.encode("utf-16-le"), "unsupported_encoding"),
    ('{"app_id": "a", "line": "x"}'.encode("utf-32"), "unsupported_encoding"),
    (b"   ", "empty"),
    (json.dumps({"app_id": "a", "line": "\u0000\u0001PK\u0003\u0004"}).encode(), "binary"),
    (json.dumps({"app_id": "a", "line": "".join(map(chr, range(1, 9))) * 20}).encode(), "binary"),
    # several lines (their newlines are text, what they hold is not)
    (json.dumps({"app_id": "a", "lines": ["".join(map(chr, range(1, 9))) * 5] * 4}).encode(), "binary"),
    (b'{"app_id": "a", "event": "app_end"}', "bad_field"),
    (b'{"app_id": "a", "event": "app_start", "status": "FAILED"}', "bad_field"),
    (b'{"app_id": "a", "line": "x", "attempt": "second"}', "bad_field"),
    (b'{"app_id": "a", "line": "x", "workflow": "etl"}', "bad_field"),
    (b'{"app_id": "a", "line": "x", "host": 42}', "bad_field"),
    (b'{"app_id": ["a"], "line": "x"}', "bad_field"),
])
def test_bad_input_has_a_reason(value: bytes, reason: str) -> None:
    with pytest.raises(BadInput) as err:
        parse_envelope(None, value)
    assert err.value.reason == reason


@pytest.mark.parametrize("value,reason", [
    (None, "tombstone"),
    (b'{"app_id": "a", "line": "x", "workflow": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", "too_deeply_nested"),
    (b'{"a": ' * 10_000, "too_deeply_nested"),  # nested and unterminated: the depth gives out first
])
def test_a_tombstone_and_deep_nesting_are_bad_input_with_reasons_of_their_own(value: bytes | None,
                                                                              reason: str) -> None:
    with pytest.raises(BadInput) as err:
        parse_envelope(b"application_1_2", value)
    assert err.value.reason == reason


def test_filebeat_kubernetes_metadata() -> None:
    e = env({"@timestamp": "2024-03-12T10:11:14.120Z", "message": LINE, "stream": "stderr",
             "container": {"id": "3f1c2b9a8d7e", "runtime": "containerd"},
             "kubernetes": {"pod": {"name": "nightly-agg-exec-2", "uid": "9b1f"}, "node": {"name": "ip-10-0-3-7"},
                            "namespace": "spark-jobs",
                            "labels": {"spark-app-selector": "spark-0b8d1e", "spark-role": "executor"}},
             "host": {"name": "filebeat-x7k2p"}, "log": {"offset": 1290, "file": {
                 "path": "/var/log/containers/nightly-agg-exec-2_spark-jobs_spark-kubernetes-executor-3f1c.log"}}})
    assert (e.app_id, e.role, e.container_id, e.host, e.stream) == (
        "spark-0b8d1e", "executor", "nightly-agg-exec-2", "filebeat-x7k2p", "stderr")
    assert e.ts == pytest.approx(1710238274.12)


def test_fluent_bit_epoch_seconds_and_batched_lines() -> None:
    lines = LINE + "\njava.lang.IllegalStateException: SparkContext has been shutdown\n"
    lines += "\tat org.apache.spark.SparkContext.runJob(SparkContext.scala:2223)\n"
    # out_kafka's default: timestamp_key "@timestamp", timestamp_format "double" (epoch seconds)
    e = env({"@timestamp": 1710238274.5, "log": lines, "stream": "stderr",
             "kubernetes": {"pod_name": "etl-driver", "namespace_name": "spark", "host": "node-2",
                            "container_name": "spark-kubernetes-driver",
                            "labels": {"spark-app-selector": "spark-9c1", "spark-role": "driver"}}})
    assert e.ts == 1710238274.5 and e.text.count("\n") == 2 and e.role == "driver"


def test_yarn_names_give_attempt_and_role_and_explicit_fields_win() -> None:
    path = ("/var/log/hadoop-yarn/containers/application_1700000000000_0042/"
            "container_e17_1700000000000_0042_03_000001/stderr")
    e = env({"file": path, "host": "nm-3", "message": LINE, "source_type": "file",
             "timestamp": "2024-03-12T10:11:14.000000001Z"})
    assert (e.app_id, e.attempt, e.role) == ("application_1700000000000_0042", 3, "driver")
    rm = env({"app_id": "application_1700000000000_0042", "role": "resource_manager", "attempt": 2,
              "line": "Application application_1700000000000_0042 failed 2 times due to AM Container"})
    assert (rm.role, rm.attempt, rm.container_id) == ("resource_manager", 2, None)


def test_utf8_bom_is_accepted() -> None:
    assert parse_envelope(None, b"\xef\xbb\xbf" + json.dumps({"app_id": "a", "line": LINE}).encode()).text == LINE


def test_line_cap_is_the_setting() -> None:
    with pytest.raises(BadInput) as err:
        env({"app_id": "a", "line": "x" * 101}, max_line_bytes=100)
    assert err.value.reason == "line_too_long"
    assert env({"app_id": "a", "line": "x" * 100 + "\n" + "y" * 100}, max_line_bytes=100).app_id == "a"
    with pytest.raises(BadInput) as err:  # batched lines, each fine, the whole far too big
        env({"app_id": "a", "line": "\n".join(["z" * 90] * 20)}, max_line_bytes=100)
    assert err.value.reason == "record_too_large"


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["app_id", "line", "log", "message", "ts", "@timestamp", "host", "role", "attempt",
                         "workflow", "event", "status", "kubernetes", "labels", "log.file.path", "container_id"]),
        inner, max_size=5),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=200), JSONISH.map(lambda v: json.dumps(v).encode())))
def test_any_input_is_an_envelope_or_bad_input(value: bytes) -> None:
    try:
        e = parse_envelope(None, value, max_line_bytes=1000)
    except BadInput as err:
        assert err.reason and " " not in err.reason
    else:
        assert isinstance(e.app_id, str) and e.app_id and isinstance(e.text, str) and (e.ts is None or isinstance(e.ts, float))


@pytest.mark.parametrize("value, text, attempt", [
    (b'{"app_id": "a", "line": "caf\\udce9 ERROR x"}', "caf\udce9 ERROR x", 1),  # a lone surrogate escape
    (b'{"app_id": "a", "line": "x", "ts": NaN, "attempt": 2}', "x", 2),
    (b'{"app_id": "a", "line": "x", "attempt": 123456789012345678901234567890}', "x", 123456789012345678901234567890),
])
def test_json_the_fast_decoder_refuses_is_read_as_the_standard_library_reads_it(value: bytes, text: str,
                                                                                  attempt: int) -> None:
    """The worker decodes with msgspec and hands what it refuses to ``json.loads``: nothing that was
    accepted before is refused now, nor read otherwise (orjson would read the large integer as a float)."""
    e = parse_envelope(None, value)
    assert (e.text, e.attempt) == (text, attempt)


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | st.floats()
                    | st.text(st.characters(exclude_categories=()), max_size=8),  # lone surrogates, controls
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                    max_leaves=10))
def test_records_decode_as_json_loads_decodes_them(value: object) -> None:
    raw = json.dumps({"app_id": "a", "line": "x", "workflow": {"extra": value}}).encode()
    assert repr(decode_record(raw)) == repr(json.loads(raw))


def test_blank_log_line_is_a_line_not_bad_input() -> None:
    e = parse_envelope(None, b'{"app_id": "a", "line": ""}')
    assert e.text == "" and e.event is None


TRACE = [LINE, "java.lang.IllegalStateException: SparkContext has been shutdown",
         "\tat org.apache.spark.SparkContext.runJob(SparkContext.scala:2223)", ""]


def test_a_lines_array_is_the_same_text_as_the_lines_joined() -> None:
    joined = env({"app_id": "a", "line": "\n".join(TRACE)})
    batched = env({"app_id": "a", "lines": TRACE})
    assert batched == joined and batched.text.count("\n") == 2
    assert env({"app_id": "a", "lines": ["", "x"]}).text == "\nx", "a blank line keeps its place"


@pytest.mark.parametrize("bad", [["ok", 3], "one string", {"0": "x"}])
def test_a_lines_field_that_is_not_a_list_of_strings_is_bad_input(bad: object) -> None:
    with pytest.raises(BadInput) as err:
        env({"app_id": "a", "lines": bad})
    assert err.value.reason == "bad_field"


def test_records_as_the_documented_shipper_configurations_produce_them() -> None:
    """docs/shippers.md: the shape of one record of each configuration, parsed as the worker does."""
    path = "/var/log/hadoop-yarn/containers/application_1700000000000_0042/container_e17_1700000000000_0042_01_000002/stderr"
    # Vector, file source + reduce (merge_strategies.message = "concat_newline", group_by = ["file"])
    vector = env({"file": path, "host": "nm-3", "message": "\n".join(TRACE[:3]), "source_type": "file",
                  "timestamp": "2024-03-12T10:11:14.000000001Z"})
    # Filebeat, filestream + multiline parser (pattern on the log4j timestamp, negate, match after)
    filebeat = env({"@timestamp": "2024-03-12T10:11:14.000Z", "message": "\n".join(TRACE[:3]),
                    "log": {"offset": 1290, "file": {"path": path}, "flags": ["multiline"]},
                    "host": {"name": "nm-3"}, "input": {"type": "filestream"}})
    # Fluent Bit, tail + multiline filter (parser java) + out_kafka (timestamp_format double)
    fluent = env({"@timestamp": 1710238274.0, "log": "\n".join(TRACE[:3]), "file": path, "host": "nm-3"})
    for e in (vector, filebeat, fluent):
        assert (e.app_id, e.role, e.attempt, e.host) == ("application_1700000000000_0042", "executor", 1, "nm-3")
        assert e.text.split("\n") == TRACE[:3]
