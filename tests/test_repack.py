"""The repacking stage's batching (``ingest.repack``) and the worker's side of it (``ingest.live.unseen``).

The property at the heart of it: one-line records repacked, with the stage
killed at any point and started again from its last commit (so that batches
are sent twice, cut differently), and the worker killed too, store exactly
what the worker stores reading the one-line records themselves.
"""

from __future__ import annotations

import base64
import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifiers.core import Classifier
from ingest.envelope import parse_envelope
from ingest.headers import origin_header, origin_of, refusal_of
from ingest.live import LiveStreams
from ingest.repack import Repacker
from sparktriage.errors import BadInput
from sparktriage.records import Envelope, Origin
from sparktriage.settings import Settings
from tests.packs import small_classifier
from tests.test_live import APPS, _outcome, _records
from tests.worker_twin import Partition, envelope


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Classifier:
    return small_classifier(tmp_path_factory.mktemp("rules"))


def _repacked(records: list[tuple[bytes | None, bytes | None]], *, max_lines: int, commit_every: int,
              crash_at: int | None = None) -> list[tuple[bytes | None, bytes | None, list]]:
    """What the stage sends for ``records`` (input partition 0, offsets 0...): it commits (sends its open
    batches) every ``commit_every`` records; killed before record ``crash_at``, with everything it sent
    before acknowledged and not committed, it starts again from its last commit, and commits at other
    points than before (its linger's clock started anew), so it cuts the lines it reads again otherwise."""
    out, committed, phase = [], 0, 0
    stage = Repacker(max_lines=max_lines, max_line_bytes=1024 * 1024)
    offset = 0
    while offset < len(records):
        if offset == crash_at:
            stage = Repacker(max_lines=max_lines, max_line_bytes=1024 * 1024)  # the new process
            offset, crash_at, phase = committed, None, commit_every // 2
        out += stage.add(0, offset, *records[offset])
        offset += 1
        if (offset + phase) % commit_every == 0:
            out += stage.flush()
            committed = offset
    out += stage.flush()
    return [(r.key, r.value, r.headers) for r in out]


def _stream_lines(sent: list[tuple]) -> dict[str, list[tuple[int, str]]]:
    """Per stream, the (input offset, line) pairs of the batches sent, in the order sent."""
    lines: dict[str, list[tuple[int, str]]] = {}
    for key, value, _ in sent:
        env = parse_envelope(key, value)
        if env.source is not None:
            lines.setdefault(env.stream_key, []).extend(zip(env.source.offsets, env.source.lines))
    return lines


def test_a_stream_s_consecutive_lines_go_in_order_into_batches_of_at_most_max_lines() -> None:
    records = _records(5, 2, 3, lines=40)
    sent = _repacked(records, max_lines=7, commit_every=10_000)
    batches = [parse_envelope(k, v) for k, v, _ in sent if parse_envelope(k, v).source is not None]
    assert all(len(b.source.lines) <= 7 for b in batches) and any(len(b.source.lines) == 7 for b in batches)
    assert len(batches) < sum(1 for _, v in records if b'"line"' in v) // 3, "lines are batched"
    expected: dict[str, list[tuple[int, str]]] = {}
    for offset, (key, value) in enumerate(records):
        env = parse_envelope(key, value)
        if env.event is None:
            expected.setdefault(env.stream_key, []).append((offset, env.text))
    assert _stream_lines(sent) == expected, "every line once, in its stream's order, with its input offset"
    assert all(key == parse_envelope(key, value).app_id.encode() for key, value, _ in sent), "keyed by application"
    for batch in batches:  # the worker reads the same text as from the lines one by one
        assert batch.text == "\n".join(batch.source.lines) and batch.role == "executor"


def test_a_lifecycle_record_goes_through_untouched_after_its_application_s_open_batches() -> None:
    stage = Repacker(max_lines=100, max_line_bytes=1024 * 1024)
    assert stage.add(0, 0, b"a", envelope(APPS[0], "24/03/12 10:11:13 INFO X: one", container_id="c1")[1]) == []
    assert stage.add(0, 1, b"b", envelope(APPS[1], "24/03/12 10:11:13 INFO X: other", container_id="c1")[1]) == []
    end = envelope(APPS[0], event="app_end", status="FAILED")[1]
    first, second = stage.add(0, 2, b"a", end)
    assert parse_envelope(first.key, first.value).source.lines == ("24/03/12 10:11:13 INFO X: one",)
    assert (second.key, second.value) == (APPS[0].encode(), end)
    assert origin_of(second.headers) == Origin("spark-lines", 0, 2), "with where it was read"
    assert stage.pending() == 1, "another application's batch stays open"


def test_a_record_sent_on_whole_keeps_the_origin_an_earlier_stage_gave_it() -> None:
    """Two stages in a row: the record is applied once per the place it entered, whichever stage sent it again."""
    first = Repacker(max_lines=100, max_line_bytes=1024 * 1024, topic="edge")
    (out,) = first.add(4, 9, None, envelope(APPS[0], event="app_end", status="FAILED")[1])
    (again,) = Repacker(max_lines=100, max_line_bytes=1024 * 1024).add(0, 3, out.key, out.value, out.headers)
    assert again.headers == out.headers and origin_of(again.headers) == Origin("edge", 4, 9)


def test_a_stream_whose_metadata_changes_starts_a_new_batch() -> None:
    stage = Repacker(max_lines=100, max_line_bytes=1024 * 1024)
    stage.add(0, 0, None, envelope(APPS[0], "line one", container_id="c1")[1])
    (closed,) = stage.add(0, 1, None, envelope(APPS[0], "line two", container_id="c1", team="ads")[1])
    assert parse_envelope(None, closed.value).team is None
    (rest,) = stage.flush()
    env = parse_envelope(None, rest.value)
    assert (env.team, env.source.offsets, env.text) == ("ads", (1,), "line two")


@pytest.mark.parametrize("value", [b'{"app_id": "a", "line": ', bytes([0, 1, 2, 3, 255, 254]) * 10,
                                   b'{"line": "ERROR something"}', b'{"app_id": "a"}', b"[1, 2]", None])
def test_bad_input_goes_through_untouched_for_the_worker_to_dead_letter(value: bytes | None) -> None:
    stage = Repacker(max_lines=100, max_line_bytes=1024 * 1024)
    stage.add(0, 0, b"k", envelope(APPS[0], "24/03/12 10:11:13 INFO X: one", container_id="c1")[1])
    (out,) = stage.add(0, 1, None, value, [("trace", b"1")])  # no key: no application to derive from it
    assert (out.key, out.value, out.headers) == (None, value, [("trace", b"1"),
                                                               origin_header(Origin("spark-lines", 0, 1))])
    with pytest.raises(BadInput):
        parse_envelope(out.key, out.value)
    assert stage.pending() == 1, "the good line waits for its batch"


def test_a_record_too_large_for_the_worker_goes_on_as_its_head_with_why_it_was_refused() -> None:
    stage = Repacker(max_lines=100, max_line_bytes=1000, topic="lines")
    value = json.dumps({"app_id": APPS[0], "line": "x" * 9000}).encode()
    (out,) = stage.add(2, 7, b"k", value, [("trace", b"1")])
    assert (out.key, out.value) == (b"k", value[:1000])
    assert origin_of(out.headers) == Origin("lines", 2, 7) and ("trace", b"1") in out.headers
    refused = refusal_of(out.headers)
    assert refused is not None and (refused.reason, refused.detail) == ("record_too_large", f"record of {len(value)} bytes")


@pytest.mark.parametrize("header", [b"[]", b"{}", b'{"reason": 1, "detail": ""}', b"{", b'{"reason": "x"}'])
def test_a_refusal_header_that_names_no_reason_and_detail_is_refused(header: bytes) -> None:
    with pytest.raises(BadInput, match="sparktriage-refused"):
        refusal_of([("sparktriage-refused", header)])


def test_a_batch_stays_within_its_byte_budget() -> None:
    stage = Repacker(max_lines=1000, max_line_bytes=1000)  # 4 x max_line_bytes: 4,000 bytes a batch
    sent = []
    for offset, size in enumerate([900, 900, 900, 900, 990, 10]):  # each record about 60 bytes more
        sent += stage.add(0, offset, None, envelope(APPS[0], "x" * size, container_id="c1")[1])
    sent += stage.flush()
    assert all(len(r.value) <= 4000 for r in sent)
    assert [parse_envelope(None, r.value, max_line_bytes=1000).source.offsets for r in sent] == [(0, 1, 2), (3, 4, 5)]


def test_the_worker_folds_only_the_lines_of_a_batch_it_has_not_folded() -> None:
    live = LiveStreams(lambda key: None)
    lines = [f"24/03/12 10:11:1{n} INFO X: line {n}" for n in range(6)]

    def batch(offsets: list[int]) -> bytes:
        return json.dumps({"app_id": APPS[0], "container_id": "c1", "lines": [lines[o] for o in offsets],
                           "source": {"partition": 0, "offsets": offsets}}).encode()

    live.fold(parse_envelope(None, batch([0, 1, 2])), 2, 0, "first", now=0.0)
    assert live.unseen(parse_envelope(None, batch([0, 1])), 0) is None, "a batch sent again"
    rest = live.unseen(parse_envelope(None, batch([1, 2, 3, 4])), 0)
    assert rest is not None and rest.text == "\n".join(lines[3:5]) and rest.source.offsets == (3, 4)
    other = live.unseen(parse_envelope(None, json.dumps({
        "app_id": APPS[0], "container_id": "c1", "lines": [lines[0]], "source": {"partition": 1, "offsets": [0]}})
        .encode()), 0)
    assert other is not None and other.text == lines[0], "another input partition's offsets are not compared"


def _batch(offsets: list[int], partition: int = 0) -> bytes:
    return json.dumps({"app_id": APPS[0], "container_id": "c1", "source": {"partition": partition, "offsets": offsets},
                       "lines": [f"24/03/12 10:11:1{o % 10} INFO X: line {o}" for o in offsets]}).encode()


def test_a_batch_s_unseen_rest_once_folded_is_not_folded_again() -> None:
    """The rest of a batch keeps its input partition: folded, it moves the stream's count on, and the
    same batch sent once more has nothing left to fold."""
    live = LiveStreams(lambda key: None)
    live.fold(parse_envelope(None, _batch([0, 1, 2])), 2, 0, "first", now=0.0)
    rest = live.unseen(parse_envelope(None, _batch([1, 2, 3, 4])), 0)
    assert rest is not None and rest.source.partition == 0
    live.fold(rest, 4, 0, "second", now=0.0)
    assert live.unseen(parse_envelope(None, _batch([1, 2, 3, 4])), 0) is None


def test_a_stream_that_goes_from_batches_to_plain_records_folds_them_from_their_first_offset() -> None:
    """Lines that stop coming through the stage (its records passed on as they were) are counted in the
    worker's own topic from scratch: its offsets 0 and 1 are new lines, not replays of input offsets."""
    live = LiveStreams(lambda key: None)
    live.fold(parse_envelope(None, _batch([5, 6])), 6, 0, "batch", now=0.0)
    plain = parse_envelope(None, json.dumps({"app_id": APPS[0], "container_id": "c1",
                                             "line": "24/03/12 10:11:19 INFO X: plain"}).encode())
    assert live.fold(plain, 1, 0, "plain", now=0.0) == [], "folded and left pending, not acknowledged as a replay"
    assert [c.acks for c in live.stale(0, now=10**9)] == [["batch", "plain"]]


def test_a_stream_first_seen_in_a_batch_leaves_its_partition_s_waiting_list_when_checkpointed() -> None:
    live = LiveStreams(lambda key: None)
    env = live.unseen(parse_envelope(None, _batch([0, 1])), 3)
    live.fold(env, 1, 3, "h", now=0.0)
    assert [c.acks for c in live.stale(3, now=10**9)] == [["h"]]
    assert live.stale(3, now=2 * 10**9) == [], "checkpointed once, then nothing pending"


def test_an_application_s_end_after_a_restart_keeps_the_stream_s_input_position() -> None:
    """A stream not read since the restart closes from its stored checkpoint, with the input partition and
    offset it had reached: a batch sent again after the end is still recognised (AppState.closed_at)."""
    first = LiveStreams(lambda key: None)
    first.fold(parse_envelope(None, _batch([0, 1, 2], partition=2)), 2, 0, "h", now=0.0)
    (checkpoint,) = first.stale(0, now=10**9)
    restarted = LiveStreams(lambda key: checkpoint.stored if key == checkpoint.key else None)
    (closed,) = restarted.finish(APPS[0], [checkpoint.key])
    assert closed.position == (2, 2)


@pytest.mark.parametrize("source", [{"partition": 0, "offsets": [1]}, {"partition": 0, "offsets": [2, 1]},
                                    {"partition": -1, "offsets": [1, 2]}, {"partition": 0, "offsets": [1, True]},
                                    {"offsets": [1, 2]}, [0, 1]])
def test_a_source_that_does_not_match_its_lines_is_refused(source: object) -> None:
    with pytest.raises(BadInput, match="source"):
        parse_envelope(None, json.dumps({"app_id": APPS[0], "lines": ["a", "b"], "source": source}).encode())


def _sorted(events: dict) -> dict:
    return {key: sorted(events, key=lambda e: json.dumps(e, sort_keys=True)) for key, events in events.items()}


def _decided(diagnoses: dict) -> dict:
    """What each diagnosis decided. Its evidence and exceptions-tab examples are left out: where no rule
    decides they are the first events stored, and the order in which several streams' lines arrive
    (one line at a time, or a batch of one stream) changes which come first."""
    names = ("category", "confidence", "source", "rule_id", "final_status")
    return {key: {name: d[name] for name in names} for key, d in diagnoses.items()}


def _dead_letters(partition: Partition) -> list[tuple[str, str]]:
    """The records kept as dead letters: their reason and bytes (where they were read differs)."""
    letters = [json.loads(payload) for _, _, _, payload in partition.store.dead_letters]
    return sorted((letter["reason"], letter["value_b64"]) for letter in letters)


def _counted(partition: Partition) -> dict[str, dict]:
    """What each application's state counts: its events, what its end fold read (an event-log event or an
    end read twice would count twice), how it ended; the offsets it keeps differ with the way lines came."""
    names = ("n_events", "dropped_events", "ended", "end_source", "watch", "provisional")
    states = {key: json.loads(value) for key, value in partition.changelogs["apps"].items()}
    return {key: {name: state[name] for name in names} | {"streams": sorted(state["streams"])}
            for key, state in states.items()}


def _same_as_the_lines_themselves(classifier: Classifier, records: list[tuple[bytes | None, bytes | None]],
                                  sent: list[tuple], worker_crash: float | None) -> None:
    direct = Partition(records, classifier, max_pending=3)
    assert direct.run()
    expected = _outcome(direct)
    repacked = Partition(sent, classifier, max_pending=3)
    if worker_crash is not None:
        repacked.run(crash_after=int(worker_crash * repacked.effects()), commit=0.5)
    assert repacked.run()
    got = _outcome(repacked)
    # a batch holds one stream's lines: events of several streams are stored in another order
    assert _sorted(got["events"]) == _sorted(expected["events"]), \
        "each event once, with the line numbers of the lines read whole"
    assert _decided(got["diagnoses"]) == _decided(expected["diagnoses"])
    assert got["open_streams"] == {}
    assert _dead_letters(repacked) == _dead_letters(direct), "each refused record kept once"
    assert _counted(repacked) == _counted(direct)


def test_batches_sent_again_after_the_stage_was_killed_fold_nothing_twice(classifier) -> None:
    """The stage killed at points where it had sent batches it had not committed (each point checked
    to send some line twice), restarted: the worker stores what the one-line records give it."""
    records = _records(1, 2, 2, lines=40, error_fraction=0.3)
    doubled = 0
    for crash_at in range(10, len(records), 9):
        sent = _repacked(records, max_lines=4, commit_every=25, crash_at=crash_at)
        doubled += sum(len(lines) - len(set(lines)) for lines in _stream_lines(sent).values())
        _same_as_the_lines_themselves(classifier, records, sent, None)
    assert doubled > 50, "the crashes sent lines again"


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n_apps=st.integers(1, 3), n_streams=st.integers(1, 3),
       max_lines=st.sampled_from([1, 4, 50]), commit_every=st.sampled_from([7, 25, 10_000]),
       crash=st.floats(0.0, 1.0), worker_crash=st.floats(0.0, 1.0) | st.none())
def test_repacked_with_the_stage_and_the_worker_killed_stores_what_the_lines_themselves_do(
        classifier, seed, n_apps, n_streams, max_lines, commit_every, crash, worker_crash) -> None:
    records = _records(seed, n_apps, n_streams, lines=40, error_fraction=0.3)  # a line doubled shifts the next events
    sent = _repacked(records, max_lines=max_lines, commit_every=commit_every, crash_at=int(crash * len(records)))
    _same_as_the_lines_themselves(classifier, records, sent, worker_crash)


def _event_log_line(app: int, n: int) -> str:
    """A Spark event-log event that is evidence: an executor removed for memory (``ingest.eventlog``)."""
    return json.dumps({"Event": "SparkListenerExecutorRemoved", "Timestamp": 1710238273500 + n,
                       "Executor ID": str(n), "Removed Reason": f"Container killed by YARN for exceeding physical "
                                                               f"memory limits. {app}.{n} GB of 5.5 GB used."})


def _with_records_sent_on_whole(seed: int, records: list[tuple[bytes, bytes]]) -> list[tuple[bytes | None, bytes]]:
    """``records`` with, before each application's end, records the stage sends on whole: containers'
    ends and event-log events (evidence each: counted twice if applied twice) and records the worker
    refuses (a dead letter each), one of them without a key."""
    rng = random.Random(seed)
    out: list[tuple[bytes | None, bytes]] = list(records)
    for a, app in enumerate(APPS):
        ends = [i for i, (_, value) in enumerate(out) if b'"app_end"' in value and app.encode() in value]
        if not ends:
            continue
        extra: list[tuple[bytes | None, bytes]] = [
            envelope(app, event="container_end", container_id=f"pod-{a}-{n}", role="executor",
                     lifecycle={"source": "k8s", "pod": f"pod-{a}-{n}", "state": "Failed", "reason": "OOMKilled",
                                "exit_code": 137}) for n in range(2)]
        extra += [envelope(app, _event_log_line(a, n), role="driver") for n in range(3)]
        extra += [(app.encode(), b'{"app_id": "' + app.encode() + b'", "line": '), (None, bytes([0, 1, a, 255]) * 8)]
        for record in extra:
            where = rng.randrange(ends[0] + 1)
            out.insert(where, record)
            ends[0] += 1
    return out


def test_records_sent_on_whole_carry_where_they_were_read_and_are_applied_once(classifier) -> None:
    """The stage killed at points where it had sent, unacknowledged by any commit, container ends,
    event-log events and refused records, restarted: each is applied once, each refused one kept once."""
    records = _with_records_sent_on_whole(3, _records(1, 2, 2, lines=40, error_fraction=0.3))
    whole = [r for r in records if parse_or_none(r) is None or parse_or_none(r).event or
             parse_or_none(r).text.startswith('{"Event":')]
    sent_again = 0
    for crash_at in range(10, len(records), 11):
        sent = _repacked(records, max_lines=4, commit_every=25, crash_at=crash_at)
        origins = [origin_of(headers) for _, _, headers in sent if origin_of(headers) is not None]
        assert {o.offset for o in origins} == {i for i, r in enumerate(records) if r in whole}, "each says where"
        sent_again += len(origins) - len(set(origins))
        _same_as_the_lines_themselves(classifier, records, sent, None)
    assert sent_again > 10, "the crashes sent records on whole again"


def parse_or_none(record: tuple[bytes | None, bytes]) -> Envelope | None:
    try:
        return parse_envelope(*record)
    except BadInput:
        return None


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n_apps=st.integers(1, 3), max_lines=st.sampled_from([1, 4, 50]),
       commit_every=st.sampled_from([7, 25, 10_000]), crash=st.floats(0.0, 1.0),
       worker_crash=st.floats(0.0, 1.0) | st.none())
def test_records_sent_on_whole_with_the_stage_and_the_worker_killed_store_what_they_do_sent_straight(
        classifier, seed, n_apps, max_lines, commit_every, crash, worker_crash) -> None:
    records = _with_records_sent_on_whole(seed, _records(seed, n_apps, 2, lines=30, error_fraction=0.3))
    sent = _repacked(records, max_lines=max_lines, commit_every=commit_every, crash_at=int(crash * len(records)))
    _same_as_the_lines_themselves(classifier, records, sent, worker_crash)


def test_the_worker_applies_a_record_of_one_origin_once_and_keeps_one_dead_letter_per_origin(classifier) -> None:
    """Unit level: the same bytes under the same ``sparktriage-source`` header at two offsets of the
    worker's topic (the stage sent them again) act once; under another origin they are new."""
    end = envelope(APPS[0], event="container_end", container_id="pod-1", role="executor",
                   lifecycle={"source": "k8s", "pod": "pod-1", "reason": "OOMKilled", "exit_code": 137})
    bad = (None, b'{"app_id": ')
    at = [origin_header(Origin("lines", 0, 5))]
    elsewhere = [origin_header(Origin("lines", 1, 5))]
    partition = Partition([(*end, at), (*end, at), (*bad, at), (*bad, at), (*end, elsewhere), (*bad, elsewhere)],
                          classifier)
    assert partition.run()
    state = json.loads(partition.changelogs["apps"][APPS[0]])
    assert state["n_events"] == 2 and state["passed"] == {"lines/0": 5, "lines/1": 5}
    letters = [json.loads(payload) for _, _, _, payload in partition.store.dead_letters]
    assert [(letter["offset"], letter["origin"]) for letter in letters] == [
        (2, {"topic": "lines", "partition": 0, "offset": 5}), (5, {"topic": "lines", "partition": 1, "offset": 5})]
    assert len(partition.dead_letters) == 2, "the dead-letter topic gets each once too"


def test_records_sent_on_whole_are_applied_once_whatever_effect_the_worker_is_killed_before(classifier) -> None:
    """The worker killed before each of its effects in turn, behind a stage that sent every record once:
    a record sent on whole is noted as applied only in the state write that holds its effects (a
    checkpoint written before a container's end, for the lines before it, does not note the end)."""
    records = _with_records_sent_on_whole(357, _records(357, 1, 2, lines=30, error_fraction=0.3))
    sent = _repacked(records, max_lines=1, commit_every=7)
    direct = Partition(records, classifier, max_pending=3)
    assert direct.run()
    for crash_after in range(Partition(sent, classifier, max_pending=3).effects()):
        repacked = Partition(sent, classifier, max_pending=3)
        assert not repacked.run(crash_after=crash_after, commit=0.5)
        assert repacked.run()
        assert _sorted(_outcome(repacked)["events"]) == _sorted(_outcome(direct)["events"]), crash_after
        assert _dead_letters(repacked) == _dead_letters(direct) and _counted(repacked) == _counted(direct)


def _through_the_stage(records: list[tuple[bytes | None, bytes]], max_line_bytes: int) -> list[tuple]:
    """What the stage sends for ``records``, killed once after sending everything and before its commit, so
    that it sends everything twice."""
    sent = []
    for _ in range(2):
        stage = Repacker(max_lines=100, max_line_bytes=max_line_bytes)
        sent += [out for offset, record in enumerate(records) for out in stage.add(0, offset, *record)] + stage.flush()
    return [(out.key, out.value, out.headers) for out in sent]


def test_a_record_too_large_reaches_the_store_s_dead_letters_once_though_the_stage_sent_it_twice(classifier) -> None:
    """The stage cannot send a record too large for the worker whole; it sends its head and why it refused
    it, which the worker dead-letters in its store (and topic) once, as it keeps the record read straight."""
    small = Settings().replace(max_line_bytes=1000)
    big = json.dumps({"app_id": APPS[0], "line": "x" * 9000}).encode()
    records = [envelope(APPS[0], "24/03/12 10:11:13 INFO X: one", container_id="c1"), (b"k", big),
               envelope(APPS[0], event="app_end", status="FAILED")]
    repacked = Partition(_through_the_stage(records, small.max_line_bytes), classifier, settings=small)
    assert repacked.run()
    (letter,) = [json.loads(payload) for _, _, _, payload in repacked.store.dead_letters]
    assert (letter["reason"], letter["origin"]) == ("record_too_large", {"topic": "spark-lines", "partition": 0,
                                                                         "offset": 1})
    assert base64.b64decode(letter["value_b64"]) == big[:1000]
    assert letter["detail"] == f"record of {len(big)} bytes; value_b64 holds its first 1000 bytes"
    assert len(repacked.dead_letters) == 1, "the dead-letter topic gets it once too"
    direct = Partition(records, classifier, settings=small)
    assert direct.run()
    assert _dead_letters(direct) == _dead_letters(repacked), "the same dead letter as the record read straight"
