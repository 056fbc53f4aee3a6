"""Runs of repeated records (``logtext.runs``): the same events and the same diagnosis as one event per record.

``classify`` folds records that differ only in their timestamp into runs; the
per-record path (``extract_events``, then ``diagnose`` over the list) is the
reference. Both are compared on the real samples (loghub's noise with injected
failures, as the noisy bench makes it, and every real excerpt of
``dev_real.jsonl``), field by field, diagnosis and exceptions tab included.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.noisy import SAMPLES, noisy_log
from classifiers.core import Classifier, load_classifier
from logtext.events import extract_events
from logtext.runs import EventRuns, extract_runs
from logtext.signals import DEFAULT_SIGNALS
from sparktriage.payload import build_payload
from sparktriage.records import AppInfo, Diagnosis
from sparktriage.settings import Settings
from tests.conftest import loghub, shared
from tests.test_assembly import POOL
from tests.test_events import LOGHUB_FILES, NOISE, RULE_SIGNALS, WHERE

APP = AppInfo(app_id=WHERE["app_id"], final_status="FAILED")
WARN = "2015-10-18 18:01:{s:02d},{ms:03d} WARN [LeaseRenewer] org.apache.hadoop.hdfs.LeaseRenewer: Failed to renew lease"


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return load_classifier(Settings())


def _document(diagnosis: Diagnosis) -> dict:
    return {**build_payload(APP, diagnosis), "diagnosed": None}


def _same_as_per_record(text: str, classifier: Classifier) -> EventRuns:
    """Assert that runs give the per-record events and diagnosis of ``text``; the runs."""
    runs = extract_runs(text, **WHERE, signals=classifier.signals)
    events = extract_events(text, **WHERE, signals=classifier.signals)
    assert runs.count == len(events)
    assert [e.to_dict() for e in runs.events()] == [e.to_dict() for e in events]
    assert _document(classifier.diagnose(runs, APP)) == _document(classifier.diagnose(events, APP))
    return runs


@pytest.mark.parametrize("lines", [3_000, 40_000])
def test_the_noisy_log_gives_the_diagnosis_and_counts_of_one_event_per_record(lines: int, classifier) -> None:
    for name in SAMPLES:  # the noise is loghub's
        loghub(name)
    runs = _same_as_per_record(noisy_log(lines, seed=lines), classifier)
    assert len(runs) < runs.count / (1 if lines < 10_000 else 3), "the repeated warnings are folded"


@pytest.mark.parametrize("name", LOGHUB_FILES)
def test_each_real_sample_alone(name: str, classifier) -> None:
    _same_as_per_record(loghub(name).read_text(errors="replace"), classifier)


def test_every_real_excerpt_and_all_of_them_as_one_log(classifier) -> None:
    texts = [json.loads(line)["text"] for line in shared("dev_real.jsonl").read_text().splitlines() if line]
    for text in texts:
        _same_as_per_record(text, classifier)
    _same_as_per_record("\n".join(texts), classifier)


def test_a_warning_repeated_with_its_own_times_is_one_run_counted_every_time(classifier) -> None:
    text = "\n".join(WARN.format(s=n % 60, ms=n % 1000) for n in range(3_000)) + "\n"
    runs = _same_as_per_record(text, classifier)
    (run,) = runs
    assert len(run) == 3_000 and run.lines == list(range(1, 3_001))
    later = run.occurrence(2_999)
    assert later.text == WARN.format(s=2_999 % 60, ms=2_999 % 1000) and later.line == 3_000
    assert classifier.diagnose(runs, APP).exceptions[0].count == 3_000


FRAME = "\tat org.apache.hadoop.hdfs.LeaseRenewer.run(LeaseRenewer.java:438)"
NOISY_INFO = "2015-10-18 18:02:{s:02d},{ms:03d} INFO [main] org.apache.hadoop.mapred.Task: Task:attempt_{n} is done"


def test_a_repeated_warning_that_a_trace_continues_once_is_that_once_one_record_with_its_trace(classifier) -> None:
    """A warning is folded into its run only where it is a whole record (the next line starts one): the
    occurrence with a frame under it, an INFO record with an exception printed under it among INFO records
    that are not, and one with a line under it equal to the warning but for its timestamp's separators, are
    each assembled with what continues them; every other occurrence is still counted, with its own line."""
    lines = [line for n in range(600) for line in (WARN.format(s=n % 60, ms=n % 1000),
                                                    NOISY_INFO.format(s=n % 60, ms=n % 997, n=n))]
    lines.insert(401, FRAME)  # under warning 200
    lines.insert(801, "java.lang.IllegalStateException: task 399 lost its output")  # under INFO record 399
    lines.insert(1002, WARN.format(s=1, ms=1).replace("-", "/", 2))  # a warning's text under INFO record 499,
    # its timestamp one no layout writes: not a log prefix, though equal to one but for its digits and dashes
    runs = _same_as_per_record("\n".join(lines) + "\n", classifier)
    warnings = max(runs, key=len)
    assert len(warnings) == 599 and 401 not in warnings.lines and warnings.lines[-1] == 1_202
    traced = [run.event for run in runs if FRAME in run.event.text]
    assert [(e.line, e.text.count("\n")) for e in traced] == [(401, 1)]
    info = [run.event for run in runs if run.event.exc_class == "java.lang.IllegalStateException"]
    assert [(e.line, e.level) for e in info] == [(801, "INFO")]
    assert not [run for run in runs if "2015/10/18" in run.event.text], "INFO record 499 with a line of text"
    assert classifier.diagnose(runs, APP).exceptions[0].count == 600, "the traced one is the same warning"


TRACE = ("{ts} WARN TaskSetManager: Lost task 1.0 in stage 2.0 (TID 7): org.apache.spark.shuffle.FetchFailedException: "
         "Failed to connect to host-3/10.0.0.3:7337{pad}\n"
         "\tat org.apache.spark.storage.ShuffleBlockFetcherIterator.throwFetchFailedException(ShuffleBlockFetcherIterator.scala:9)\n"
         "Caused by: java.io.IOException: Failed to connect to host-3/10.0.0.3:7337\n\t... 4 more\n")
STAMPS = ("24/03/12 10:00:{s:02d}", "24/03/12 10:01:{s:02d}.5", "24/03/12 10:02:{s:02d},125")


def test_a_trace_repeated_with_its_own_times_is_one_run_counted_every_time(classifier) -> None:
    """A record of several lines (a header with its trace) repeated but for its timestamp is read once,
    even where the timestamps differ in length; the per-record path gives the same events and diagnosis."""
    text = "".join(TRACE.format(ts=STAMPS[n % 3].format(s=n % 60), pad="") for n in range(300))
    runs = _same_as_per_record(text, classifier)
    (run,) = runs
    assert len(run) == 300 and run.lines == list(range(1, 1 + 4 * 300, 4))
    assert run.occurrence(299).text.startswith(STAMPS[299 % 3].format(s=299 % 60) + " WARN TaskSetManager")
    assert classifier.diagnose(runs, APP).exceptions[0].count == 300


def test_a_trace_whose_first_line_is_cut_is_taken_apart_every_time(classifier) -> None:
    """The cut keeps the head of a long line: with timestamps of different lengths the kept message differs,
    so such records are not folded (and give what one event per record gives)."""
    pad = " " + "x" * 9_000
    text = "".join(TRACE.format(ts=STAMPS[n % 3].format(s=n), pad=pad) for n in range(6))
    runs = _same_as_per_record(text, classifier)
    assert len(runs) == 6


@settings(max_examples=120, deadline=None)
@given(parts=st.lists(st.sampled_from(POOL + NOISE + [WARN.format(s=1, ms=2), WARN.format(s=3, ms=45)]),
                      max_size=60),
       repeat=st.integers(1, 4), crlf=st.booleans(), rules=st.booleans(), read=st.booleans())
def test_runs_equal_per_record_events_on_any_mix(parts: list[str], repeat: int, crlf: bool, rules: bool,
                                                 read: bool) -> None:
    """``read``: an ASCII text comes with its bytes, as a file ``classify`` reads does (``WholeLines``
    masks them)."""
    text = ("\r\n" if crlf else "\n").join(parts * repeat)
    signals = RULE_SIGNALS if rules else DEFAULT_SIGNALS
    runs = extract_runs(text, **WHERE, signals=signals, ascii=text.encode() if read and text.isascii() else None)
    assert [e.to_dict() for e in runs.events()] == [e.to_dict() for e in extract_events(text, **WHERE, signals=signals)]


DENIED = "24/03/12 10:11:{s:02d} ERROR Main: org.apache.hadoop.security.AccessControlException: Permission denied: user=etl"


def test_a_repeated_deciding_line_counts_every_time_and_the_earliest_in_time_is_the_evidence(classifier) -> None:
    text = "\n".join(DENIED.format(s=s) for s in (50, 40, 30, 45, 35)) + "\n"  # written later-first
    runs = _same_as_per_record(text, classifier)
    assert len(runs) == 1
    d = classifier.diagnose(runs, APP)
    assert [e.line for e in d.evidence] == [3, 5, 2], "the earliest three in time, not the first in the log"
    once = classifier.diagnose(extract_runs(DENIED.format(s=30), **WHERE, signals=classifier.signals), APP)
    assert d.confidence > once.confidence, "five occurrences agree more than one"


def test_an_event_log_and_container_logs_keep_one_numbering(tmp_path, classifier) -> None:
    from sparktriage.tools.classify import runs_of_paths
    from tests.test_eventlog import APP as EVENTLOG_APP, LINES

    (tmp_path / f"{EVENTLOG_APP}.json").write_text("\n".join(LINES) + "\n")  # a plain event log: four events
    container = tmp_path / "container_e01_1710230000000_2001_01_000002.log"
    container.write_text("\n".join(DENIED.format(s=s) for s in (10, 20, 30)) + "\n")
    _, runs = runs_of_paths([str(tmp_path / f"{EVENTLOG_APP}.json"), str(container)], signals=classifier.signals)
    assert sorted(order for run in runs for order in run.orders) == list(range(runs.count)) == list(range(7))
    assert [e.container_id for e in runs.events()] == ["eventlog"] * 4 + [container.name.removesuffix(".log")] * 3


@pytest.mark.parametrize("extra", ["", "24/03/12 10:00:01 WARN Client: naïve retry " + "ü" * 300 + "\n"],
                         ids=["ascii", "utf-8"])
def test_a_log_file_gives_the_events_of_its_text(tmp_path, classifier, extra: str) -> None:
    """A file is scanned as the bytes it was read as where it is ASCII (``LogFiles.ascii``), else as its text."""
    from sparktriage.tools.classify import runs_of_paths

    for name in SAMPLES:  # the noise is loghub's
        loghub(name)
    text = extra + noisy_log(3_000, seed=5) + extra
    path = tmp_path / "container_e01_1710230000000_2001_01_000002.log"
    path.write_bytes(text.encode())
    _, runs = runs_of_paths([str(path)], signals=classifier.signals)
    where = dict(app_id="application_1710230000000_2001", container_id=path.name.removesuffix(".log"), role="executor")
    events = extract_events(text, **where, signals=classifier.signals)
    assert len(events) > 100 and [e.to_dict() for e in runs.events()] == [e.to_dict() for e in events]
