"""The last lines of a log as evidence: only when an application printed no
error, the same whether a whole file is classified or the worker reads it
line by line, and read by the model so that such a failure is not unknown
by construction."""

from __future__ import annotations

import random

import pytest

from classifiers.core import Classifier
from ingest.live import LiveStreams
from logtext.assembly import split_lines
from logtext.lastlines import (
    LAST_LINES,
    MAX_TAIL_LINE,
    MAX_TAILS,
    TAIL_LINES,
    Tail,
    last_words,
    tail_event,
    tail_of,
)
from rules.engine import RuleEngine
from sparktriage.tools.classify import classify_text, events_of_paths, events_of_text
from sparktriage.records import Envelope
from tests.loggen import generate_log
from tests.test_model import FixedModel

APP = "application_1700000000000_0042"
QUIET = "\n".join(f"24/03/12 10:11:{n:02d} INFO Client: Application report (state: ACCEPTED) {n}"
                  for n in range(40))
PENDING = "24/03/12 10:12:00 INFO Client: still waiting: 0/3 nodes are available, insufficient cpu"


def test_tail_of_keeps_the_last_lines_with_their_line_numbers() -> None:
    first, lines = tail_of(QUIET + "\n")  # a final newline ends the last line, it starts none
    assert first == 40 - TAIL_LINES + 1 and len(lines) == TAIL_LINES
    assert lines[-1].endswith(" 39") and lines[0].endswith(f" {40 - TAIL_LINES}")
    assert tail_of("one\r\ntwo") == (1, ["one", "two"])
    assert tail_of("x" * 5000)[1] == ["x" * MAX_TAIL_LINE]


def test_a_blank_log_has_no_tail_and_secrets_never_leave_it() -> None:
    assert tail_event(["", "   "], 1, app_id=APP) is None
    event = tail_event(["INFO Conf: spark.hadoop.fs.s3a.access.key=AKIAIOSFODNN7EXAMPLE"], 7, app_id=APP)
    assert event is not None and "AKIAIOSFODNN7EXAMPLE" not in event.text and event.line == 7
    assert event.message == LAST_LINES and event.exc_class is None


def test_the_tail_is_read_only_when_the_application_printed_no_error() -> None:
    tails = events_of_text(QUIET + "\n" + PENDING, APP)
    assert [e.message for e in tails] == [LAST_LINES]
    assert tails[0].text.endswith(PENDING) and tails[0].line == 41 - TAIL_LINES + 1
    failing = QUIET + "\n24/03/12 10:12:00 ERROR Client: java.io.IOException: disk on fire"
    assert all(e.message != LAST_LINES for e in events_of_text(failing, APP))
    assert events_of_text("", APP) == []


def test_the_driver_tail_is_preferred_and_the_number_of_tails_is_capped(tmp_path) -> None:
    for c in range(1, 9):  # container 1 is the driver
        (tmp_path / f"container_e1_1700000000000_0042_01_{c:06d}").write_text(f"{QUIET}\nlast of {c}\n")
    _, events = events_of_paths([str(tmp_path)])
    assert [e.role for e in events] == ["driver"] and events[0].text.endswith("last of 1")
    assert len(last_words(events_of_text(f"{QUIET}\nlast", APP) * 9)) == MAX_TAILS
    assert last_words([None]) == []


def test_a_yarn_dump_gives_the_tail_of_its_driver_container() -> None:
    dump = "".join(
        f"Container: container_e1_1700000000000_0042_01_{c:06d} on host-{c}_8041\n"
        f"LogAggregationType: AGGREGATED\n{'=' * 20}\nLogType:stderr\nLogLength:99\nLogContents:\n"
        f"{QUIET}\nthe end of container {c}\nEnd of LogType:stderr\n\n" for c in (2, 1, 3))
    (event,) = events_of_text(dump, APP)
    assert (event.role, event.host) == ("driver", "host-1") and event.text.endswith("the end of container 1")


def test_the_model_reads_the_tail_and_decides_when_it_is_confident() -> None:
    classifier = Classifier(engine=RuleEngine([], "none", backend="re"),
                            model=FixedModel({"nodes are available": ("resource_unavailable", 0.8)}))
    d = classify_text(classifier, QUIET + "\n" + PENDING, APP)
    assert (d.category, d.source) == ("resource_unavailable", "model")
    assert d.evidence[0].excerpt.endswith(PENDING)
    unsure = Classifier(engine=classifier.engine, model=FixedModel({"nodes": ("resource_unavailable", 0.3)}))
    d = classify_text(unsure, QUIET + "\n" + PENDING, APP)
    assert (d.category, d.hint) == ("unknown", "resource_unavailable")
    assert "printed no error" in d.explain and "below its threshold" in d.explain
    assert "nothing to read" in classify_text(unsure, "\n\n", APP).explain
    assert d.evidence and d.evidence[0].excerpt.endswith(PENDING), "the unknown shows what was read"


@pytest.mark.parametrize("max_pending", [1, 7, 10_000])
@pytest.mark.parametrize("seed", range(4))
def test_the_worker_keeps_the_same_tail_as_a_whole_file_through_a_restart(seed: int, max_pending: int) -> None:
    """Line by line, checkpointed at random and restarted from the checkpoint,
    the stream's last lines are those ``classify`` takes from the file."""
    rng = random.Random(seed)
    log = generate_log(rng.randint(5, 200), error_fraction=0.0, seed=seed)
    lines = split_lines(log)  # what a shipper sends: no phantom line after the final newline
    table: dict = {}
    env = Envelope(app_id=APP, text="", container_id="container_1", role="driver")
    live = LiveStreams(table.get, max_pending=max_pending, max_age=1e9)

    def fold(n: int) -> None:
        for checkpoint in live.fold(Envelope(app_id=APP, text=lines[n], container_id="container_1", role="driver"),
                                    n, 0, n, 0.0):
            if checkpoint.stored is not None:
                table[checkpoint.key] = checkpoint.stored

    restart = rng.randrange(len(lines))
    for n in range(restart):
        fold(n)
    # the in-memory streams are lost; the checkpoint and Kafka's redelivery of the rest remain
    live = LiveStreams(table.get, max_pending=live.max_pending, max_age=1e9)
    for n in range(table[env.stream_key]["offset"] + 1 if env.stream_key in table else 0, len(lines)):
        fold(n)
    (closing,) = live.finish(APP, [env.stream_key])
    first, expected = tail_of(log)
    assert closing.last == tail_event(expected, first, app_id=APP, container_id="container_1", role="driver")


def test_a_stream_tail_takes_several_lines_at_once() -> None:
    tail = Tail()
    tail.add("a\r\nb")
    tail.add("c")
    assert tail.to_list() == ["a", "b", "c"]
    tail.add("d\n" + "x" * 5000)  # a long line is cut, in a batch too
    assert tail.to_list() == ["a", "b", "c", "d", "x" * MAX_TAIL_LINE]


def test_tails_keep_each_line_whole_and_number_it_as_the_assembler_does() -> None:
    from logtext.lastlines import TAIL_LINES, Tail, tail_of

    exactly = "\n".join(f"line {n} X" for n in range(1, TAIL_LINES + 1)) + "\n"
    first, lines = tail_of(exactly)
    assert (first, len(lines), lines[0], lines[-1]) == (1, TAIL_LINES, "line 1 X", f"line {TAIL_LINES} X")
    first, lines = tail_of("\n" + "\n".join(f"l{n}" for n in range(1, TAIL_LINES + 3)))  # an empty first line
    assert (first, lines[0]) == (4, "l3"), "l3 is the log's fourth line"
    tail = Tail()
    tail.add("\n".join(f"b{n} X\r" for n in range(TAIL_LINES + 5)))  # a batch longer than the tail
    assert tail.to_list() == [f"b{n} X" for n in range(5, TAIL_LINES + 5)]


def test_last_lines_events_carry_where_they_come_from() -> None:
    from logtext.lastlines import last_lines_events

    log = "24/03/12 10:11:12 INFO Client: Application report for application_1_0001 (state: FAILED)\n"
    (plain,) = last_lines_events(log, app_id="application_1_0001")
    assert (plain.app_id, plain.attempt, plain.container_id, plain.role, plain.host) == \
        ("application_1_0001", 1, None, "unknown", None)
    (placed,) = last_lines_events(log, app_id="application_1_0001", attempt=3, container_id="c-7", role="driver",
                                  host="node-3")
    assert (placed.attempt, placed.container_id, placed.role, placed.host) == (3, "c-7", "driver", "node-3")


def test_a_tail_event_numbers_its_first_kept_line_and_keeps_indentation() -> None:
    from logtext.lastlines import tail_event

    event = tail_event(["", "  indented line  ", "last"], 7, app_id="application_1_0001")
    assert (event.line, event.text, event.excerpt) == (8, "  indented line\nlast", ("  indented line", "last"))
    assert (event.app_id, event.attempt, event.container_id, event.role, event.host) == \
        ("application_1_0001", 1, None, "unknown", None)
    assert tail_event(["", "  "], 1, app_id="application_1_0001") is None
