"""Root cause, not last words: deepest known cause within an exception, the
start of the cascade across an application, honest confidence, grouped exceptions."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from classifiers.core import diagnose
from classifiers.pastwarnings import went_on_past
from classifiers.rootcause import (DEFAULT_RANK, GENERIC_RANK, Finding, _cause_depths, choose_root, findings_for,
                                   is_generic)
from rules.engine import RuleEngine
from rules.loader import Rule, load_packs
from sparktriage.records import AppInfo, ExceptionEvent
from sparktriage.taxonomy import top_level
from tests.packs import SMALL_PACK, write_pack

APP = AppInfo(app_id="application_1700000000000_0042", final_status="FAILED")


@pytest.fixture()
def engine(tmp_path: Path) -> RuleEngine:
    packs = load_packs(write_pack(tmp_path), builtin=False)
    return RuleEngine(packs.rules, packs.version)


def ev(text: str, ts: float, role: str = "executor", container: str = "c2", exc: str | None = None) -> ExceptionEvent:
    return ExceptionEvent(app_id=APP.app_id, text=text, ts=ts, role=role, container_id=container,
                          exc_class=exc, excerpt=tuple(text.split("\n")), line=int(ts))


KILL = ("WARN TaskSetManager: Lost task 3.0 in stage 2.0 (TID 14): ExecutorLostFailure (executor 2 exited "
        "caused by one of the running tasks) Reason: Container killed by YARN for exceeding physical memory limits.")
LOST = "WARN TaskSetManager: Lost task 1.0: ExecutorLostFailure (executor 5 exited caused by one of the running tasks)"
FETCH = ("ERROR TaskSetManager: org.apache.spark.shuffle.FetchFailedException: Failed to connect to host-7:7337\n"
         "\tat org.apache.spark.storage.ShuffleBlockFetcherIterator.throwFetchFailedException(Shuffle.scala:1)")
WRAPPED = ("ERROR SparkContext: Job 3 cancelled because SparkContext was shut down\n"
           "\tat org.apache.spark.scheduler.DAGScheduler.cleanUp(DAGScheduler.scala:1)\n"
           "Caused by: org.apache.hadoop.security.AccessControlException: Permission denied: user=etl, access=READ\n"
           "\tat org.apache.hadoop.hdfs.DFSClient.open(DFSClient.java:1)")


def test_cascade_start_beats_its_consequences_whatever_the_order(engine: RuleEngine) -> None:
    events = [ev(FETCH, 10), ev(LOST, 20), ev(KILL, 30), ev(FETCH, 40)]
    d = diagnose(events, app=APP, engine=engine)
    assert (d.category, d.rule_id, d.source) == ("container_killed_memory", "yarn-kill", "rule")
    assert d.domain == "user"
    assert d.evidence[0].line == 30 and "Container killed by YARN" in d.evidence[0].excerpt
    assert d.rule_pack_version == "testpack@7" and d.final_status == "FAILED"


def test_deepest_known_cause_beats_its_wrapper(engine: RuleEngine) -> None:
    d = diagnose([ev(WRAPPED, 5, role="driver")], app=APP, engine=engine)
    assert d.category == "access_denied"


# The wrapper's rule (fetch-failed, priority 60) outranks the cause's (executor-lost, 40):
# only the depth can make the cause win.
FETCH_OF_LOST = ("ERROR Executor: org.apache.spark.shuffle.FetchFailedException: Failed to connect to host-7:7337\n"
                 "\tat org.apache.spark.storage.ShuffleBlockFetcherIterator.next(Shuffle.scala:1)\n"
                 "Caused by: org.apache.spark.SparkException: ExecutorLostFailure (executor 5 exited caused by "
                 "one of the running tasks)\n"
                 "\tat org.apache.spark.scheduler.TaskSetManager.handleFailedTask(TaskSetManager.scala:1)")


def test_depth_beats_priority_within_one_exception(engine: RuleEngine) -> None:
    found = findings_for(ev(FETCH_OF_LOST, 5), 0, engine)
    assert [(f.rule.id, f.depth, f.line_index) for f in found] == [("executor-lost", 1, 2), ("fetch-failed", 0, 0)]
    assert diagnose([ev(FETCH_OF_LOST, 5)], app=APP, engine=engine).category == "executor_lost"


# A fallback (job-killed, priority 30: a symptom many causes share) deeper than a specific wrapper (fetch-failed).
FETCH_OF_SHUTDOWN = ("ERROR Executor: org.apache.spark.shuffle.FetchFailedException: Failed to connect to host-7:7337\n"
                     "\tat org.apache.spark.storage.ShuffleBlockFetcherIterator.next(Shuffle.scala:1)\n"
                     "Caused by: org.apache.spark.SparkException: Job 3 cancelled because SparkContext was shut down\n"
                     "\tat org.apache.spark.scheduler.DAGScheduler.cleanUp(DAGScheduler.scala:1)")


def test_a_fallback_deeper_in_the_exception_does_not_beat_a_specific_wrapper(engine: RuleEngine) -> None:
    found = findings_for(ev(FETCH_OF_SHUTDOWN, 5), 0, engine)
    assert [(f.rule.id, f.depth) for f in found] == [("fetch-failed", 0), ("job-killed", 1)]
    assert diagnose([ev(FETCH_OF_SHUTDOWN, 5)], app=APP, engine=engine).category == "shuffle_fetch_failed"


def test_at_the_same_depth_priority_decides(engine: RuleEngine) -> None:
    text = "org.apache.spark.shuffle.FetchFailedException (ExecutorLostFailure (executor 5 exited))"
    assert [f.rule.id for f in findings_for(ev(text, 5), 0, engine)] == ["fetch-failed", "executor-lost"]


def test_python_prints_the_cause_first_so_earlier_tracebacks_are_deeper() -> None:
    """Python's "During handling of the above exception" and "The above exception was the direct
    cause" put the earlier exception above: the last traceback is the outermost. Java's
    ``Caused by:`` lines count deeper within their own traceback."""
    lines = ["Traceback (most recent call last):", "ValueError: a", "",
             "During handling of the above exception, another exception occurred:", "", "KeyError: b",
             "The above exception was the direct cause of the following exception:", "RuntimeError: c",
             "  Caused by: java.io.IOException: d"]
    assert [_cause_depths(lines)[i] for i in (1, 5, 7, 8)] == [3, 2, 0, 1]
    java = ["org.apache.spark.SparkException: a", "\tat x.y(Z.java:1)", "Caused by: java.io.IOException: b",
            "Caused by: java.lang.OutOfMemoryError: c"]
    assert _cause_depths(java) == [0, 0, 1, 2]


# The later exception (raised while handling the first) carries the higher-priority rule:
# only reading Python's chain the right way round makes the earlier one, its cause, win.
HANDLING = ("Traceback (most recent call last):\n"
            '  File "job.py", line 12, in <module>\n'
            "py4j.protocol.Py4JJavaError: An error occurred while calling o81.save.\n"
            ": org.apache.spark.SparkException: ExecutorLostFailure (executor 5 exited caused by one of the "
            "running tasks)\n\n"
            "During handling of the above exception, another exception occurred:\n\n"
            "Traceback (most recent call last):\n"
            '  File "job.py", line 14, in <module>\n'
            "RuntimeError: org.apache.spark.shuffle.FetchFailedException: Failed to connect to host-7:7337")


def test_in_a_python_chain_the_exception_handled_first_is_the_cause(engine: RuleEngine) -> None:
    found = findings_for(ev(HANDLING, 5), 0, engine)
    assert [(f.rule.id, f.depth) for f in found] == [("executor-lost", 1), ("fetch-failed", 0)]
    assert diagnose([ev(HANDLING, 5)], app=APP, engine=engine).category == "executor_lost"


def test_same_rank_earliest_wins(engine: RuleEngine) -> None:
    oom = "java.lang.OutOfMemoryError: Java heap space"
    denied = "org.apache.hadoop.security.AccessControlException: Permission denied: user=etl"
    first = diagnose([ev(denied, 1), ev(oom, 2, role="driver")], app=APP, engine=engine)
    second = diagnose([ev(denied, 3), ev(oom, 2, role="driver")], app=APP, engine=engine)
    assert first.category == "access_denied" and second.category == "driver_oom"


def test_confidence_is_lower_with_rivals_and_for_experimental_rules(engine: RuleEngine) -> None:
    alone = diagnose([ev(KILL, 1), ev(KILL, 2)], app=APP, engine=engine).confidence
    rivalled = diagnose([ev(KILL, 1), ev("AccessControlException: Permission denied", 2)], app=APP, engine=engine)
    weak = diagnose([ev("Job 1 cancelled because SparkContext was shut down", 1)], app=APP, engine=engine)
    assert 0 < rivalled.confidence < alone <= 0.99
    assert weak.category == "killed" and weak.confidence < rivalled.confidence


def test_unknown_when_no_rule_matches(engine: RuleEngine) -> None:
    d = diagnose([ev("java.lang.IllegalStateException: odd", 1, exc="java.lang.IllegalStateException")],
                 app=APP, engine=engine)
    assert (d.category, d.source, d.confidence, d.rule_id) == ("unknown", "none", 0.0, None)
    assert d.evidence and "IllegalStateException" in d.evidence[0].excerpt


def test_exceptions_are_grouped_with_counts(engine: RuleEngine) -> None:
    events = [ev(FETCH, 10, exc="org.apache.spark.shuffle.FetchFailedException", container=f"c{n}") for n in range(4)]
    events.append(ev(KILL, 3))
    d = diagnose(events, app=APP, engine=engine)
    top = d.exceptions[0]
    assert (top.exc_class, top.count, top.category) == ("org.apache.spark.shuffle.FetchFailedException", 4,
                                                        "shuffle_fetch_failed")
    assert sum(g.count for g in d.exceptions) == 5


BROADCAST_OOM = """24/03/11 10:20:03 ERROR FileFormatWriter: Aborting job 5d1c.
org.apache.spark.SparkException: Exception thrown in awaitResult:
\tat org.apache.spark.util.ThreadUtils$.awaitResult(ThreadUtils.scala:310)
\tat org.apache.spark.sql.execution.exchange.BroadcastExchangeExec.doExecuteBroadcast(BroadcastExchangeExec.scala:194)
Caused by: java.lang.OutOfMemoryError: Java heap space
\tat org.apache.spark.sql.execution.joins.LongToUnsafeRowMap.grow(HashedRelation.scala:622)
\tat org.apache.spark.sql.execution.joins.HashedRelationBroadcastMode.transform(HashedRelation.scala:1106)
\tat org.apache.spark.sql.execution.exchange.BroadcastExchangeExec.$anonfun$relationFuture$1(BroadcastExchangeExec.scala:132)
\t... 3 more"""


def test_a_rule_spanning_lines_is_located_where_its_match_starts() -> None:
    """A frame-based rule (the OOM line and the driver-only frames under it) sits at the
    ``Caused by`` depth of its first line, so it beats a one-line rule on the same cause."""
    packs = load_packs()
    engine = RuleEngine(packs.rules, packs.version)
    rule = engine.by_id["driver-oom-in-driver-only-frames"]
    assert engine.locate(rule, BROADCAST_OOM) == 4
    d = diagnose([ev(BROADCAST_OOM, 1, role="unknown")], app=APP, engine=engine)
    assert (d.category, d.rule_id) == ("driver_oom", rule.id)


def _rule(category: str, priority: int, status: str = "stable") -> Rule:
    return Rule(id=f"{category}-{priority}", category=category, patterns=("x",), explain="", remediation="",
                priority=priority, status=status)


def test_a_finding_holds_its_event_its_order_and_its_line(engine: RuleEngine) -> None:
    event = ev(FETCH_OF_LOST, 5)
    found = findings_for(event, 9, engine)
    assert all(f.event is event and f.order == 9 for f in found)
    assert [f.line_index for f in found] == [2, 0]
    assert findings_for(ev("nothing known here", 1), 0, engine) == []


def test_a_caught_exception_warned_about_is_gone_past_unless_a_later_event_names_it() -> None:
    """Logged as a warning with its exception and not a task's failure, with events after it: gone past,
    unless a later event carries its exception class or a finding of its category. An ERROR, a task's
    failure, a warning without an exception, or the log's last word is never gone past."""
    text = "WARN FileStreamSink: Assume no metadata directory.\njava.io.FileNotFoundException: /in/2021"
    warned = replace(ev(text, 1), level="WARN", exc_class="java.io.FileNotFoundException")
    root = Finding(_rule("input_missing", 50), warned, 0, 1, 0)
    other = replace(ev("ERROR Executor: Exception in task 0.0\njava.lang.IllegalStateException: x", 2), level="ERROR")
    assert went_on_past(root, [(other, None)]) and went_on_past(root, [(other, "user_code_error")])
    assert not went_on_past(root, [(other, "input_missing/path")]), "a later finding of its category"
    carried = replace(other, text=other.text + "\nCaused by: java.io.FileNotFoundException: /in/2021")
    assert not went_on_past(root, [(carried, None)]), "a later event carries its exception"
    assert not went_on_past(root, []), "the log's last word"
    for kept in (replace(warned, level="ERROR"), replace(warned, exc_class=None),
                 replace(warned, text="WARN TaskSetManager: Lost task 0.0 in stage 1.0: " + text)):
        assert not went_on_past(replace(root, event=kept), [(other, None)])


def test_deprecated_rules_are_seen_but_never_decide(tmp_path: Path) -> None:
    text = (SMALL_PACK.replace("    priority: 90\n", "    priority: 90\n    status: deprecated\n", 1))
    packs = load_packs(write_pack(tmp_path, text), builtin=False)
    engine = RuleEngine(packs.rules, packs.version)
    assert [r.id for r in engine.match(KILL, "executor")] == ["yarn-kill", "executor-lost"]
    assert [f.rule.id for f in findings_for(ev(KILL, 1), 0, engine)] == ["executor-lost"]


def test_only_low_priority_user_code_errors_are_generic() -> None:
    assert is_generic(_rule("user_code_error", 39)) and is_generic(_rule("user_code_error/python", 10))
    assert not is_generic(_rule("user_code_error", 40)) and not is_generic(_rule("killed", 5))


def test_the_cascade_key_ranks_then_times_then_orders_then_priority() -> None:
    event = ev("x", 7.0)
    assert Finding(_rule("executor_oom/heap", 60), event, 3, 0, 0).cascade_key() == (0, 7.0, 3, -60)
    assert Finding(_rule("not_in_the_cascade", 50), event, 0, 0, 0).rank == DEFAULT_RANK
    assert Finding(_rule("user_code_error", 20), event, 0, 0, 0).cascade_key()[0] == GENERIC_RANK
    untimed = Finding(_rule("killed", 20), replace(event, ts=None), 0, 0, 0)
    assert untimed.cascade_key()[:2] == (5, float("inf")), "no time: last"
    assert choose_root([]) is None


# ScalaTest's StringReporter prints a failed test's exception indented under the test's name, and each
# of its causes as ``Cause: <class>: <message>`` (its ``DetailsCause`` label), not the JVM's ``Caused by:``.
SCALATEST = ("- reads back the table *** FAILED ***\n"
             "  org.apache.spark.shuffle.FetchFailedException: Failed to connect to host-7:7337\n"
             "  at org.apache.spark.storage.ShuffleBlockFetcherIterator.next(Shuffle.scala:1)\n"
             "  ...\n"
             "  Cause: org.apache.spark.SparkException: ExecutorLostFailure (executor 5 exited caused by one of the "
             "running tasks)\n"
             "  at org.apache.spark.scheduler.TaskSetManager.handleFailedTask(TaskSetManager.scala:1)")


def test_a_scalatest_cause_line_is_deeper_like_caused_by(engine: RuleEngine) -> None:
    assert _cause_depths(SCALATEST.split("\n")) == [0, 0, 0, 0, 1, 1]
    assert _cause_depths(["java.io.IOException: a", "Cause: the disk was full", "Caused by: java.io.IOException: b"]) \
        == [0, 0, 1], "a message that says Cause: without an exception class is not a cause line"
    assert diagnose([ev(SCALATEST, 5)], app=APP, engine=engine).category == "executor_lost"


def test_indented_chain_lines_count_like_unindented_ones() -> None:
    lines = ["RuntimeError: a", "  The above exception was the direct cause of the following exception:",
             "KeyError: b", "   Caused by: java.io.IOException: c"]
    assert _cause_depths(lines) == [2, 0, 0, 1], "a separator opens the traceback below it"


def test_a_broken_connection_logged_by_a_transport_handler_is_an_echo_not_a_cause() -> None:
    packs = load_packs()
    engine = RuleEngine(packs.rules, packs.version)
    text = ("WARN TransportChannelHandler: Exception in connection from /10.1.2.8:52858\n"
            "java.io.IOException: Connection reset by peer\n\tat sun.nio.ch.FileDispatcherImpl.read0(Native Method)")
    echo = replace(ev(text, 1.0), logger="TransportChannelHandler")
    assert findings_for(echo, 0, engine) == []
    assert diagnose([echo], app=APP, engine=engine).category == "unknown"
    # the same reset logged by anyone else is a network error, and the echo hides no other cause
    assert findings_for(replace(echo, logger="org.apache.spark.rpc.netty.Outbox"), 0, engine)[0].category == "network_error"
    oom = replace(ev(text + "\njava.lang.OutOfMemoryError: Java heap space", 1.0), logger="TransportRequestHandler")
    assert {f.category.split("/")[0] for f in findings_for(oom, 0, engine)} == {"executor_oom"}


NETWORK_PACK = SMALL_PACK + '''\
  - id: reset
    category: network_error/reset
    priority: 50
    patterns: ['Connection reset by peer']
    explain: A peer dropped the connection.
    remediation: Look at the peer.
    examples:
      match: ["java.io.IOException: Connection reset by peer"]
      no_match: ["Connection closed"]
'''


@pytest.mark.parametrize("logger", ["org.apache.spark.network.server.TransportChannelHandler",
                                    "org.apache.spark.network.server.TransportRequestHandler",
                                    "TransportResponseHandler"])
def test_each_transport_handler_by_its_full_name_logs_echoes(tmp_path: Path, logger: str) -> None:
    packs = load_packs(write_pack(tmp_path, NETWORK_PACK), builtin=False)
    engine = RuleEngine(packs.rules, packs.version)
    reset = "java.io.IOException: Connection reset by peer"
    assert findings_for(replace(ev(reset, 1), logger=logger), 0, engine) == []
    assert [f.rule.id for f in findings_for(replace(ev(reset, 1), logger=logger + "Other"), 0, engine)] == ["reset"]
    assert [f.rule.id for f in findings_for(ev(reset, 1), 0, engine)] == ["reset"], "no logger: no echo"


# Spark 3's BroadcastExchangeExec: the driver's OOM as the cause of its own message.
BROADCAST_BUILD = """org.apache.spark.sql.execution.OutOfMemorySparkException: Not enough memory to build and broadcast the table to all worker nodes. As a workaround, you can either disable broadcast by setting spark.sql.autoBroadcastJoinThreshold to -1 or increase the spark driver memory by setting spark.driver.memory to a higher value.
\tat org.apache.spark.sql.errors.QueryExecutionErrors$.notEnoughMemoryToBuildAndBroadcastTableError(QueryExecutionErrors.scala:2112)
Caused by: java.lang.OutOfMemoryError: GC overhead limit exceeded
\tat java.util.Arrays.copyOf(Arrays.java:3236)"""
BARE_OOM = "java.lang.OutOfMemoryError: Java heap space\n\tat java.util.Arrays.copyOf(Arrays.java:3236)"
PY4J_OOM = ("py4j.protocol.Py4JJavaError: An error occurred while calling o84.collectToPython.\n"
            ": java.lang.OutOfMemoryError: Java heap space\n\tat java.util.Arrays.copyOf(Arrays.java:3236)")


@pytest.fixture(scope="module")
def shipped() -> RuleEngine:
    packs = load_packs()
    return RuleEngine(packs.rules, packs.version)


def test_an_oom_that_names_the_process_beats_a_deeper_one_that_cannot(shipped: RuleEngine) -> None:
    found = findings_for(ev(BROADCAST_BUILD, 1, role="unknown"), 0, shipped)
    assert found[0].depth == 0 and found[0].names_process, "the outer message names the driver"
    assert any(f.undecided_process and f.depth == 1 for f in found), "the inner OOM alone cannot tell"
    assert diagnose([ev(BROADCAST_BUILD, 1, role="unknown")], app=APP, engine=shipped).category == "driver_oom"
    # without a finding that names the process, depth decides as before
    assert findings_for(ev(BARE_OOM, 1, role="unknown"), 0, shipped)[0].undecided_process


@pytest.mark.parametrize("times", [(1.0, 2.0), (2.0, 1.0)])
def test_across_events_an_oom_that_names_the_process_wins_in_either_order(shipped: RuleEngine, times) -> None:
    """A pasted console: the JVM's bare OOM line and the py4j error that says it was the driver's."""
    events = [ev(BARE_OOM, times[0], role="unknown"), ev(PY4J_OOM, times[1], role="unknown")]
    d = diagnose(events, app=APP, engine=shipped)
    assert (d.category, d.rule_id) == ("driver_oom", "driver-oom-in-driver-only-frames")
    assert d.confidence == 0.96, "the bare OOM backs it: 0.95 + 0.01, no rival's penalty"
    lone = diagnose([ev(BARE_OOM, 1.0, role="unknown")], app=APP, engine=shipped)
    assert lone.category == "executor_oom/driver_or_executor"


# Two uncaught exceptions that a log without timestamps ran into one event (the JVM's default handler prints each
# under its own header): the heap ran out in one thread, then a class whose static initializer that left failed is
# reported in another. The class's rule outranks the OOM's in priority; only reading them as two exceptions, in
# the cascade's order, makes the first one the root.
THREAD_OOM = ('Exception in thread "DataStreamer for file /tmp/job.jar" '
              'java.lang.OutOfMemoryError: GC overhead limit exceeded')
INIT_FAILED = ('Exception in thread "ResponseProcessor for block blk_1" java.lang.NoClassDefFoundError: '
               'Could not initialize class org.apache.hadoop.hdfs.protocol.proto.DataTransferProtos')


@pytest.mark.parametrize(("first", "second", "expected"), [(THREAD_OOM, INIT_FAILED, "driver_oom"),
                                                          (INIT_FAILED, THREAD_OOM, "dependency_error")])
def test_uncaught_exceptions_run_into_one_event_are_read_in_the_cascade_order(shipped: RuleEngine, first: str,
                                                                            second: str, expected: str) -> None:
    text = f"INFO FlowStep: starting step\n{first}\n{second}"
    assert top_level(diagnose([ev(text, 1, role="unknown")], app=APP, engine=shipped).category) == expected
    # one uncaught exception: depth then priority decide inside it, as before (the class's rule, at the same depth)
    lone = f"{INIT_FAILED}\n\tat org.apache.hadoop.hdfs.DataStreamer.run(DataStreamer.java:1)"
    assert diagnose([ev(lone, 1, role="unknown")], app=APP, engine=shipped).category == "dependency_error"
