"""Exception events: what is kept, the cause chain, frames, excerpt; and the
fast path of extract_events giving exactly the events of a full assembly."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from logtext.assembly import assemble
from logtext.events import candidate_offsets, extract_events, interesting_records, segment_at, to_event
from logtext.pastes import unpaste
from logtext.signals import DEFAULT_SIGNALS, Signals
from rules.engine import RuleEngine
from rules.loader import Rule, load_packs
from tests.conftest import loghub
from tests.loggen import generate_log
from tests.test_assembly import AGGREGATED, JAVA, POOL, PY4J, PYTHON

LOGHUB_FILES = ["Spark_2k.log", "Hadoop_2k.log", "HDFS_2k.log", "Zookeeper_2k.log"]
WHERE = dict(app_id="application_1700000000000_0042", container_id="c3", role="executor", host="node-1")


def event_of(lines: list[str]):
    (rec,) = assemble("\n".join(lines))
    return to_event(rec, **WHERE)


def test_java_chain_frames_and_excerpt() -> None:
    ev = event_of(JAVA[1:10])
    assert ev.exc_class == "org.apache.spark.SparkException"
    assert [c.exc_class for c in ev.causes] == ["org.apache.spark.SparkException", "java.io.FileNotFoundException"]
    assert ev.causes[1].message == "/data/tmp/blockmgr-7/0c/shuffle_3_7_0.data (Too many open files)"
    assert ev.root_class == "java.io.FileNotFoundException"  # Suppressed is not a cause
    assert "at com.acme.etl.Writer.write(Writer.scala:88)" in ev.frames
    assert not any("BufferedOutputStream" in f for f in ev.frames)  # suppressed frames skipped
    assert ev.excerpt[0] == JAVA[1] and JAVA[5] in ev.excerpt
    assert (ev.line, ev.level, ev.logger, ev.role, ev.host) == (1, "ERROR", "Executor", "executor", "node-1")


def test_exception_inside_the_log_message() -> None:
    ev = event_of([
        "24/03/12 10:11:14 WARN TaskSetManager: Lost task 0.0 in stage 4.0 (TID 9) (10.0.0.5 executor 2): "
        "org.apache.spark.shuffle.FetchFailedException: Failed to connect to worker-5/10.0.0.5:7337",
        "\tat org.apache.spark.storage.ShuffleBlockFetcherIterator.next(ShuffleBlockFetcherIterator.scala:90)",
        "Caused by: java.net.ConnectException: Connection refused",
    ])
    assert ev.exc_class == "org.apache.spark.shuffle.FetchFailedException"
    assert ev.root_class == "java.net.ConnectException"


def test_exception_repeated_under_its_header_is_one_cause() -> None:
    ev = event_of([
        "24/03/12 10:11:14 ERROR ApplicationMaster: User class threw exception: "
        "java.lang.IllegalStateException: partition column missing",
        "java.lang.IllegalStateException: partition column missing",
        "\tat com.acme.jobs.Daily.run(Daily.scala:40)",
    ])
    assert [c.exc_class for c in ev.causes] == ["java.lang.IllegalStateException"]


def test_python_chain_is_outermost_first() -> None:
    ev = event_of(PYTHON[:11])
    assert [c.exc_class for c in ev.causes] == ["ValueError", "KeyError"]
    assert ev.message == "config has no region" and ev.level is None
    assert 'File "/opt/app/daily.py", line 52, in <module>' in ev.frames


def test_py4j_chain_reaches_the_java_root() -> None:
    ev = event_of(PY4J)
    assert [c.exc_class for c in ev.causes] == [
        "py4j.protocol.Py4JJavaError", "org.apache.spark.SparkException", "java.lang.ArrayIndexOutOfBoundsException"]
    assert ev.frames[0] == 'File "/opt/app/report.py", line 12, in <module>'
    assert ev.frames[1].startswith('File "/opt/spark/python/lib/py4j')  # the frame that raised is kept
    assert sum("/pyspark/" in f or "/py4j/" in f for f in ev.frames) == 1  # other library frames are cut


@pytest.mark.parametrize("line,kept", [
    ("24/03/12 10:11:12 INFO BlockManager: Removing RDD 12", False),
    ("24/03/12 10:11:12 DEBUG Executor: task metrics updated", False),
    ("24/03/12 10:11:12 WARN BlockManagerMasterEndpoint: No more replicas available for rdd_5_1 !", True),
    ("24/03/12 10:11:12 INFO YarnAllocator: Container killed by YARN for exceeding memory limits. "
     "5.5 GB of 5.5 GB physical memory used.", True),
    ("Container exited with a non-zero exit code 137. Killed by external signal", True),
    ("2024-03-12 10:11:12,001 INFO org.apache.hadoop.yarn.server.nodemanager.ContainerExecutor: "
     "Exit status: 1", True),
])
def test_noise_is_dropped_signals_are_kept(line: str, kept: bool) -> None:
    assert (event_of([line]) is not None) == kept


def test_excerpt_is_capped() -> None:
    lines = [JAVA[1]] + [f"Caused by: java.lang.IllegalStateException: level {i}" for i in range(50)]
    ev = event_of(lines)
    assert len(ev.excerpt) == 30 and len(ev.causes) == 50


def test_aggregated_yarn_log_is_split_per_container() -> None:
    evs = extract_events(AGGREGATED, app_id="application_1700000000000_0042")
    assert [(e.container_id[-6:], e.role, e.host, e.line, e.attempt) for e in evs] == [
        ("000001", "driver", "worker-3.example.com", 1, 1),
        ("000002", "executor", "worker-5.example.com", 2, 1),
    ]
    assert evs[0].exc_class == "java.lang.RuntimeException"


def full_pass(text: str, signals: Signals = DEFAULT_SIGNALS) -> list[dict]:
    """Every record assembled and read, after the same undoing of a paste's marks that extract_events does first
    (``logtext.yarn.sections``): the fast path is compared with the full assembly, not with the paste steps."""
    events = (to_event(r, **WHERE, signals=signals) for r in assemble(unpaste(text)))
    return [e.to_dict() for e in events if e is not None]


#: the signals a classifier with the built-in rules uses
RULE_ENGINE = RuleEngine(load_packs().rules)
RULE_SIGNALS = Signals.for_rules(RULE_ENGINE.required_runs(), RULE_ENGINE.fires)
NO_HYPERSCAN = property(lambda self: None)


MIXED = "\n".join(JAVA + ["stdout noise"] * 3 + PYTHON + PY4J + ["24/03/12 10:12:00 INFO Executor: done", "ünïcode ERROR line"] + JAVA)


@pytest.mark.parametrize("use_hyperscan", [True, False])
@pytest.mark.parametrize("source", LOGHUB_FILES + ["generated", "generated-dense", "mixed"])
def test_fast_path_equals_full_assembly(source: str, use_hyperscan: bool, monkeypatch) -> None:
    text = {
        "generated": lambda: generate_log(20_000, 0.01, seed=3),
        "generated-dense": lambda: generate_log(5_000, 0.3, seed=4),
        "mixed": lambda: MIXED,
    }.get(source, lambda: loghub(source).read_text())()
    if not use_hyperscan:
        monkeypatch.setattr(Signals, "hyperscan_db", NO_HYPERSCAN)
    fast = [e.to_dict() for e in extract_events(text, **WHERE)]
    assert fast == full_pass(text)
    with_rules = [e.to_dict() for e in extract_events(text, **WHERE, signals=RULE_SIGNALS)]
    assert with_rules == full_pass(text, RULE_SIGNALS)
    assert bool(fast) == bool(re.search("WARN|ERROR|Exception", text))  # Spark_2k.log is all INFO


MR_INPUT = r"org\.apache\.hadoop\.mapred(?:uce\.lib\.input)?\.InvalidInputException"
RETRYING = r"Retrying connect to server: \S+\. Already tried [4-9] time"


@pytest.mark.parametrize("use_hyperscan", [True, False])
def test_a_pattern_adds_a_candidate_word_only_where_none_of_its_literals_holds_a_default_word(
        use_hyperscan: bool, monkeypatch) -> None:
    """Any literal every match needs gates a pattern. ``org.apache.hadoop.mapred``, the longest of the first,
    is in every line a MapReduce logger writes; its ``.InvalidInputException`` holds ``Exception``, so it
    adds no word and those lines are not candidates. A pattern with no such literal adds its longest."""
    if not use_hyperscan:
        monkeypatch.setattr(Signals, "hyperscan_db", NO_HYPERSCAN)
    engine = RuleEngine([Rule("mr-input", "input_missing", (MR_INPUT,), "", ""),
                         Rule("retrying", "network_error", (RETRYING,), "", "")], backend="re")
    signals = Signals.for_rules(engine.required_runs(), engine.fires)
    assert (signals.words, signals.caseless) == (("Retrying connect to server: ",), ())
    mr = "2015-10-18 18:01:48,963 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created MRAppMaster\n"
    assert list(candidate_offsets(mr * 3, signals=signals)) == []
    text = (mr + "2015-10-18 18:01:49,001 INFO [main] org.apache.hadoop.mapred.FileInputFormat: "
            "org.apache.hadoop.mapred.InvalidInputException: Input path does not exist: hdfs://nn/in\n"
            "2015-10-18 18:01:50,002 INFO [main] org.apache.hadoop.ipc.Client: Retrying connect to server: "
            "nn/10.0.0.1:8020. Already tried 5 time(s)\n")
    events = extract_events(text, **WHERE, signals=signals)
    assert [e.line for e in events] == [2, 3] and [e.to_dict() for e in events] == full_pass(text, signals)


SPARK4_ERROR = (
    '{"ts":"2025-03-12T10:11:14.120Z","level":"ERROR","msg":"Exception in task 2.0 in stage 5.0 (TID 31)",'
    '"context":{"task_name":"task 2.0 in stage 5.0 (TID 31)"},"exception":{"class":"java.lang.ArithmeticException",'
    '"msg":"/ by zero","stacktrace":[{"class":"com.acme.Ratios","method":"compute","file":"Ratios.scala","line":17},'
    '{"class":"org.apache.spark.executor.Executor$TaskRunner","method":"run","file":"Executor.scala","line":620}]},'
    '"logger":"org.apache.spark.executor.Executor"}'
)
SPARK4_INFO = ('{"ts":"2025-03-12T10:11:13.001Z","level":"INFO","msg":"Running task 2.0 in stage 5.0 (TID 31)",'
               '"context":{"task_name":"task 2.0 in stage 5.0 (TID 31)"},"logger":"org.apache.spark.executor.Executor"}')


def test_spark4_structured_json_log() -> None:
    recs = assemble("\n".join([SPARK4_INFO, SPARK4_ERROR]))
    assert [r.level for r in recs] == ["INFO", "ERROR"]
    assert to_event(recs[0], **WHERE) is None
    ev = to_event(recs[1], **WHERE)
    assert (ev.exc_class, ev.message, ev.logger, ev.line) == (
        "java.lang.ArithmeticException", "/ by zero", "org.apache.spark.executor.Executor", 2)
    assert ev.frames[0] == "at com.acme.Ratios.compute(Ratios.scala:17)"
    assert ev.ts == pytest.approx(1741774274.12)


NOISE = [SPARK4_INFO, SPARK4_ERROR, "24/03/12 10:11:12 INFO Executor: Finished task 1.0 in stage 2.0 (TID 7). 2417 bytes result sent to driver",
         "2024-03-12 10:11:12,345 INFO [main] org.apache.hadoop.yarn.client.RMProxy: Connecting to ResourceManager",
         "stdout: rows written 1200", "\tat com.acme.Loop.run(Loop.java:3)", "", "  indented note"]


#: diagnostics that carry no error word: only a rule's own literal makes them events
DIAGNOSTICS = [
    "24/03/12 10:11:20 INFO ExecutorPodsAllocator: Warning  FailedScheduling  default-scheduler  "
    "0/3 nodes are available: 3 Insufficient cpu.",
    "2024-03-12 10:11:12,345 INFO [main] Client: client token: N/A diagnostics: [Tue Mar 12 10:11:12 +0000 2024] "
    "Application is added to the scheduler and is not yet activated. Queue's AM resource limit exceeded.",
]
#: a rule's literal without its rule's match: a candidate, but not an event
NEAR_MISS = "2024-03-12 10:11:13,001 INFO [main] Client: Application report for application_1_0001 (state: ACCEPTED)"
#: candidates after multi-byte characters: Hyperscan's byte offsets must map back to characters
WIDE = ["24/03/12 10:11:14 INFO Client: Auftrag für ‘Kunde’ — Application 7 angenommen ✓",
        "24/03/12 10:11:15 ERROR Läufer: Fehler beim Schreiben ✗ Exception: ünïcode"]


#: a double-spaced trace (a paste's mark, undone before either path reads it): found by a run of the test below
DOUBLED_FRAME = "\tat org.apache.spark.sql.execution.datasources.FileFormatWriter$.executeTask(FileFormatWriter.scala:500)"


@settings(max_examples=150, deadline=None)
@given(parts=st.lists(st.sampled_from(POOL + NOISE + DIAGNOSTICS + [NEAR_MISS] + WIDE), max_size=80), crlf=st.booleans(),
       hs=st.booleans(), rules=st.booleans())
@example(parts=["24/03/12 10:11:14 ERROR Executor: Exception in task 3.0 in stage 7.0 (TID 41)", "", DOUBLED_FRAME, "",
                DOUBLED_FRAME], crlf=False, hs=False, rules=False)
def test_fast_path_equals_full_assembly_on_any_mix(parts: list[str], crlf: bool, hs: bool, rules: bool) -> None:
    text = ("\r\n" if crlf else "\n").join(parts)
    signals = RULE_SIGNALS if rules else DEFAULT_SIGNALS
    with pytest.MonkeyPatch.context() as mp:
        if not hs:
            mp.setattr(Signals, "hyperscan_db", NO_HYPERSCAN)
        assert [e.to_dict() for e in extract_events(text, **WHERE, signals=signals)] == full_pass(text, signals)


def test_rule_literals_keep_diagnostics_without_error_words() -> None:
    text = "\n".join(NOISE[2:4] + DIAGNOSTICS + [NEAR_MISS])
    assert extract_events(text, **WHERE) == []
    kept = extract_events(text, **WHERE, signals=RULE_SIGNALS)
    assert [e.line for e in kept] == [3, 4]
    assert list(candidate_offsets(NEAR_MISS, signals=RULE_SIGNALS)), "the near miss is a candidate line"
    assert extract_events(NOISE[2], **WHERE, signals=RULE_SIGNALS) == []


def test_bare_python_exception_names_its_class() -> None:
    ev = event_of(["Traceback (most recent call last):", '  File "job.py", line 3, in <module>',
                   "Exception: Java gateway process exited before sending its port number"])
    assert (ev.exc_class, ev.message) == ("Exception", "Java gateway process exited before sending its port number")


def test_candidates_after_much_multibyte_text_are_found() -> None:
    """Hyperscan reports byte offsets: unmapped, they would point lines past the diagnostic."""
    quiet = "24/03/12 10:11:14 INFO Zähler: ✓✓✓✓✓✓✓✓✓✓ ünïcödé ✓✓✓✓✓✓✓✓✓✓"
    text = "\n".join([quiet] * 40 + DIAGNOSTICS[:1] + [NOISE[2]] * 5)
    fast = [e.to_dict() for e in extract_events(text, **WHERE, signals=RULE_SIGNALS)]
    assert fast == full_pass(text, RULE_SIGNALS) and [e["line"] for e in fast] == [41]


def test_spark4_json_records_without_logger_message_or_with_a_string_stack_trace() -> None:
    """Rendered as the classic layout prints them: "-" for no logger, the class alone for no message,
    and a stringified trace's frames after its first line (which repeats the exception)."""
    no_msg = ('{"ts":"2025-03-12T10:11:14.120Z","level":"ERROR","msg":"Task failed",'
              '"exception":{"class":"java.lang.NullPointerException","stacktrace":"java.lang.NullPointerException\\n'
              '\\tat com.acme.Ratios.compute(Ratios.scala:17)\\n\\n\\tat com.acme.Main.run(Main.scala:3)"}}')
    (rec,) = assemble(no_msg)
    ev = to_event(rec, **WHERE)
    assert ev.text.split("\n") == ["2025-03-12T10:11:14.120Z ERROR -: Task failed", "java.lang.NullPointerException",
                                   "\tat com.acme.Ratios.compute(Ratios.scala:17)", "\tat com.acme.Main.run(Main.scala:3)"]
    assert (ev.exc_class, ev.frames) == ("java.lang.NullPointerException",
                                         ("at com.acme.Ratios.compute(Ratios.scala:17)", "at com.acme.Main.run(Main.scala:3)"))


def test_offsets_in_text_beyond_ascii_are_character_offsets() -> None:
    """Hyperscan scans bytes; the offsets it gives back count characters, as those of the same text in ASCII."""
    assert DEFAULT_SIGNALS.hyperscan_db is not None, "the byte-scanning path is the one under test"
    plain = "cafe ERROR x\nnaive line\n\tat zz\njava.io.IOException: boom over \n"
    wide = "café ERROR x\nnaïve line\n\tat zz\njava.io.IOException: boom ôver \n"
    assert len(plain) == len(wide) and not wide.isascii()
    expected = list(candidate_offsets(plain))
    assert len(expected) >= 2
    assert list(candidate_offsets(wide)) == expected


def test_the_literal_pattern_matches_exactly_its_words() -> None:
    """Built once per signal set (a cached property), so it is tested here directly."""
    from logtext.signals import _trie_pattern

    words = ["Exception", "Exceptional", "Error", "ERROR", "a.b", "x", "pq", "pr"]
    pattern = re.compile(_trie_pattern(words))
    assert [w for w in words if pattern.fullmatch(w)] == words
    assert [w for w in ("Excep", "Exceptio", "Err", "a-b", "axb", "", "xy", "Exceptions") if pattern.fullmatch(w)] == []


def test_a_segment_is_the_hits_record_up_to_the_next_prefixed_line() -> None:
    """The fast path assembles each segment alone, so it must start where the hit's record starts: on its
    prefixed line (not an earlier record's, which would assemble the noise before it; not one character in,
    where a bracketed timestamp still reads as a prefix), or at the handled boundary ``done_upto``."""
    lines = ["24/03/12 10:11:10 INFO A: one", "24/03/12 10:11:11 INFO A: two", "24/03/12 10:11:12 ERROR A: boom",
             "\tat x.Y.z(Y.java:1)", "24/03/12 10:11:13 INFO A: after"]
    text = "\n".join(lines)
    starts = [text.index(line) for line in lines]
    for hit in (text.index("ERROR"), text.index("x.Y.z")):
        start, end, header = segment_at(text, hit)
        assert (start, end, header.group("level")) == (starts[2], starts[4], "ERROR")
    start, end, header = segment_at(text, text.index("one"))  # in the first line, nothing handled yet
    assert (start, end, header.group("msg")) == (0, starts[1], "one")
    assert segment_at(text, text.index("x.Y.z"), done_upto=starts[3]) == (starts[3], starts[4], None)
    bracketed = "stdout noise\n[2024-03-12 10:11:12,001] ERROR A: boom"
    start, end, header = segment_at(bracketed, bracketed.index("ERROR"))
    assert (start, end, header.group(0)[:1]) == (bracketed.index("["), len(bracketed), "[")
    structured = "stdout noise\n" + SPARK4_ERROR  # a JSON record's prefix, found where the segment starts
    start, end, header = segment_at(structured, structured.index("ERROR"))
    assert (start, end, header.group("level")) == (structured.index("{"), len(structured), "ERROR")


def test_a_java_event_keeps_the_first_frames_of_each_cause_and_user_frames_but_not_suppressed_ones() -> None:
    lines = [
        "24/03/12 10:11:14 ERROR Executor: Exception in task 3.0 in stage 7.0 (TID 41)",
        "org.apache.spark.SparkException: Task failed while writing rows.",
        "\tat org.apache.spark.A.a(A.scala:1)",  # the first three frames after a cause, library or not
        "\tat org.apache.spark.B.b(B.scala:2)",
        "\tat java.lang.Thread.run(Thread.java:3)",
        "\tat org.apache.spark.C.c(C.scala:4)",  # a fourth library frame: dropped
        "\tat com.acme.etl.Writer.write(Writer.scala:88)",  # a user frame: kept anywhere
        "\tat scala.D.d(D.scala:5)",
        "Caused by: org.apache.hadoop.ipc.RemoteException(java.io.FileNotFoundException): File /x does not exist",
        "\tat org.apache.hadoop.E.e(E.java:6)",
        "\t... 12 more",
        "\tSuppressed: java.io.IOException: Stream closed",
        "\t\tat com.acme.Closer.close(Closer.java:9)",  # under Suppressed: not a frame of the chain
        "Caused by: java.lang.IllegalStateException: inner",
        "\tat com.acme.Inner.run(Inner.java:1)",
    ]
    ev = event_of(lines)
    assert [(c.exc_class, c.message) for c in ev.causes] == [
        ("org.apache.spark.SparkException", "Task failed while writing rows."),
        ("org.apache.hadoop.ipc.RemoteException", "File /x does not exist"),
        ("java.io.FileNotFoundException", "File /x does not exist"),  # the remote class is the cause
        ("java.lang.IllegalStateException", "inner"),
    ]
    assert ev.frames == tuple(lines[i].strip() for i in (2, 3, 4, 6, 9, 14))
    assert ev.excerpt == tuple(lines[i] for i in (0, 1, 2, 3, 4, 6, 8, 9, 11, 13, 14))
    assert (ev.exc_class, ev.message, ev.root_class) == (
        "org.apache.spark.SparkException", "Task failed while writing rows.", "java.lang.IllegalStateException")
    assert (ev.text, ev.line, ev.ts, ev.level, ev.logger) == ("\n".join(lines), 1, 1710238274.0, "ERROR", "Executor")
    assert (ev.app_id, ev.attempt, ev.container_id, ev.role, ev.host) == (
        WHERE["app_id"], 1, WHERE["container_id"], WHERE["role"], WHERE["host"])


def test_a_python_event_keeps_user_frames_and_the_library_frame_that_raised() -> None:
    lines = [
        "Traceback (most recent call last):",
        '  File "/opt/app/job.py", line 5, in <module>',
        "    main()",
        '  File "/usr/lib/python3.11/site-packages/lib/a.py", line 9, in f',  # library, not the last: dropped
        "    g()",
        '  File "/usr/lib/python3.11/site-packages/lib/b.py", line 12, in g',  # library, where it was raised
        '    raise ValueError("bad")',
        "ValueError: bad",
    ]
    ev = event_of(lines)
    assert ev.frames == (lines[1].strip(), lines[5].strip())
    assert ev.excerpt == tuple(lines[i] for i in (0, 1, 5, 7))
    assert (ev.exc_class, ev.message, ev.level, ev.logger, ev.ts) == ("ValueError", "bad", None, None, None)


def test_frames_are_capped_and_a_record_without_an_exception_keeps_its_message() -> None:
    lines = ["java.lang.StackOverflowError"] + [f"\tat com.acme.Rec.f{i}(Rec.java:{i})" for i in range(30)]
    ev = event_of(lines)
    assert ev.frames == tuple(line.strip() for line in lines[1:21])
    ev = event_of(["24/03/12 10:11:12 WARN TaskSetManager: Stage 3 contains a task of very large size (1 MB)"])
    assert (ev.exc_class, ev.causes, ev.frames) == (None, (), ())
    assert ev.message == "Stage 3 contains a task of very large size (1 MB)"


def test_a_structured_record_keeps_the_lines_printed_under_it() -> None:
    """A JSON record's first line is rendered in the classic layout; lines a library printed under it without
    a prefix stay part of its text."""
    (rec,) = assemble(SPARK4_ERROR + "\nnative: corrupted block 7\n\tat com.acme.Native.read(Native.java:3)")
    ev = to_event(rec, **WHERE)
    assert ev.text.split("\n")[-2:] == ["native: corrupted block 7", "\tat com.acme.Native.read(Native.java:3)"]
    assert ev.text.split("\n")[1] == "java.lang.ArithmeticException: / by zero"


def test_where_an_event_comes_from_is_what_the_caller_said_or_the_defaults() -> None:
    (rec,) = assemble("24/03/12 10:11:14 ERROR Executor: Lost executor 3: java.lang.OutOfMemoryError")
    ev = to_event(rec, app_id="application_1_2")
    assert (ev.app_id, ev.attempt, ev.container_id, ev.role, ev.host) == ("application_1_2", 1, None, "unknown", None)
    ev = to_event(rec, app_id="application_1_2", attempt=3, container_id="c9", role="driver", host="n7")
    assert (ev.attempt, ev.container_id, ev.role, ev.host) == (3, "c9", "driver", "n7")
    # an exception named in the message, without a message of its own, is the outermost cause
    assert [(c.exc_class, c.message) for c in ev.causes] == [("java.lang.OutOfMemoryError", "")]
    ev = event_of(["24/03/12 10:11:14 WARN TaskSetManager: Lost task 0.0 (TID 9): java.io.IOException:  disk gone ",
                   "java.lang.StackOverflowError"])
    assert [(c.exc_class, c.message) for c in ev.causes] == [
        ("java.io.IOException", "disk gone"), ("java.lang.StackOverflowError", "")]


def test_secrets_are_redacted_from_the_text_excerpt_and_message() -> None:
    ev = event_of(["24/03/12 10:11:14 ERROR Db: connect failed password=hunter2",
                   "java.sql.SQLException: login failed password=hunter2"])
    assert "hunter2" not in ev.text and "hunter2" not in "".join(ev.excerpt) and "hunter2" not in ev.message
    assert ev.text.split("\n") == ["24/03/12 10:11:14 ERROR Db: connect failed password=[REDACTED]",
                                   "java.sql.SQLException: login failed password=[REDACTED]"]
    assert ev.causes[0].message == "login failed password=[REDACTED]"
    ev = event_of(["24/03/12 10:11:14 WARN Db: retrying with password=hunter2"])
    assert ev.message == "retrying with password=[REDACTED]"


def test_python_chains_keep_their_joining_lines_in_the_excerpt() -> None:
    ev = event_of(PYTHON[:11])
    assert ev.excerpt == tuple(PYTHON[i] for i in (0, 1, 3, 5, 7, 8, 10))
    direct = [PYTHON[0], PYTHON[1], PYTHON[3], "", "The above exception was the direct cause of the following exception:",
              "", PYTHON[7], PYTHON[8], PYTHON[10]]
    ev = event_of(direct)
    assert ev.excerpt == tuple(direct[i] for i in (0, 1, 2, 4, 6, 7, 8))
    assert [c.exc_class for c in ev.causes] == ["ValueError", "KeyError"]


def test_a_deep_python_traceback_keeps_twenty_frames_and_no_raising_frame_beyond_them() -> None:
    lines = ["Traceback (most recent call last):"]
    lines += [f'  File "/opt/app/m{i}.py", line {i}, in f{i}' for i in range(20)]
    lines += ['  File "/usr/lib/python3.11/site-packages/lib/b.py", line 12, in g', "ValueError: deep"]
    ev = event_of(lines)
    assert ev.frames == tuple(line.strip() for line in lines[1:21])


def test_a_candidate_at_the_very_start_and_a_blank_first_line() -> None:
    bare = 'Exception in thread "main" java.lang.IllegalStateException: boom\n\tat com.acme.Main.main(Main.java:9)'
    (ev,) = extract_events(bare, **WHERE)
    assert (ev.line, ev.text) == (1, bare)
    (ev,) = extract_events("\n24/03/12 10:11:14 ERROR Executor: boom", **WHERE)
    assert ev.line == 2


def test_extract_events_says_where_each_comes_from() -> None:
    text = "24/03/12 10:11:14 ERROR Db: boom"  # a logger that names no role
    (ev,) = extract_events(text, app_id="application_1_2")
    assert (ev.app_id, ev.attempt, ev.container_id, ev.role, ev.host) == ("application_1_2", 1, None, "unknown", None)
    (ev,) = extract_events(text, app_id="application_1_2", attempt=2, container_id="c5", role="driver", host="n1")
    assert (ev.attempt, ev.container_id, ev.role, ev.host) == (2, "c5", "driver", "n1")


def test_the_fast_path_applies_the_callers_caps() -> None:
    lines = ["24/03/12 10:11:14 ERROR Executor: boom", "java.lang.StackOverflowError"] + ["\tat a.B.c(B.java:1)"] * 5
    (rec,) = interesting_records("\n".join(lines), max_record_lines=3)
    assert (rec.lines, rec.omitted) == (lines[:3], 4)


@pytest.mark.parametrize("use_hyperscan", [True, False])
def test_candidate_offsets_fall_in_their_lines(use_hyperscan: bool) -> None:
    """A word ending its line, and text holding a lone surrogate (undecodable input kept by the envelope)."""
    lines = ["first line", "java.lang.StackOverflowError", "next line", "caf\udce9 ERROR x", "last"]
    text = "\n".join(lines)
    hits = list(candidate_offsets(text, use_hyperscan=use_hyperscan))
    assert hits and {text.count("\n", 0, hit) for hit in hits} == {1, 3}


@pytest.mark.parametrize("last", ["…", "é", "✓", "😀"])
def test_a_candidate_last_line_ending_in_a_multibyte_character(last: str) -> None:
    """Hyperscan reports the last line's match at the text's last byte, inside a character of 2-4 bytes;
    it maps to that character, and the event is the one a full pass finds."""
    text = "24/03/12 10:11:14 INFO Main: start\norg.example.HttpClientErrorException: 401 validation failed" + last
    hits = list(candidate_offsets(text))
    assert hits == [len(text) - 1]
    fast = [e.to_dict() for e in extract_events(text, **WHERE, signals=RULE_SIGNALS)]
    assert fast == full_pass(text, RULE_SIGNALS) and [e["exc_class"] for e in fast] == ["org.example.HttpClientErrorException"]


def test_causes_after_a_second_message_line_are_found() -> None:
    """log4j prints a message's extra lines before its throwable, unindented."""
    ev = event_of(["24/03/12 10:11:14 ERROR Writer: commit failed", "table: sales, partition: 2024-03-12",
                   "java.io.IOException: rename failed", "\tat com.acme.Commit.run(Commit.java:7)"])
    assert [c.exc_class for c in ev.causes] == ["java.io.IOException"]


def test_a_candidate_line_is_reported_once_and_its_compiled_words_are_kept(tmp_path, monkeypatch) -> None:
    """With Hyperscan, each candidate line is one offset (its newline, or its last character at the end),
    however many words it holds; the database (about a second to compile for a classifier's words) is kept
    in ``cache_dir`` and read back at the next start; a damaged file is compiled again."""
    import hyperscan

    text = "first\n24/03/12 10:11:14 ERROR x: java.io.IOException: a\nplain words\nWARN, Exception, Error\nlast ERROR"
    newlines = [i for i, ch in enumerate(text) if ch == "\n"]
    expected = newlines[1:4] + [len(text) - 1]
    assert list(candidate_offsets(text, signals=Signals(words=("plain",), cache_dir=tmp_path))) == expected
    (kept,) = tmp_path.glob("*.signals")

    def compiled_again() -> None:
        raise AssertionError("compiled again")

    with monkeypatch.context() as mp:
        mp.setattr(hyperscan, "Database", compiled_again)
        assert list(candidate_offsets(text, signals=Signals(words=("plain",), cache_dir=tmp_path))) == expected
    kept.write_bytes(b"damaged")
    assert list(candidate_offsets(text, signals=Signals(words=("plain",), cache_dir=tmp_path))) == expected
    assert list(candidate_offsets(text, signals=Signals(words=("other",), cache_dir=tmp_path))) == \
        newlines[1:2] + newlines[3:4] + [len(text) - 1], "other words: another database"
