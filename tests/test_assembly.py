"""Multi-line assembly: log prefixes, Java traces, Python tracebacks, YARN
aggregated layout, bounded serializable state, and chunking invariance."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logtext.assembly import CUT_MARK, CUT_SEEN, Assembler, assemble, cut_line, parse_log_ts
from logtext.yarn import is_aggregated, sections, split_yarn_aggregated

JAVA = [
    "24/03/12 10:11:12 INFO Executor: Running task 3.0 in stage 7.0 (TID 41)",
    "24/03/12 10:11:14 ERROR Executor: Exception in task 3.0 in stage 7.0 (TID 41)",
    "org.apache.spark.SparkException: Task failed while writing rows.",
    "\tat org.apache.spark.sql.execution.datasources.FileFormatWriter$.executeTask(FileFormatWriter.scala:500)",
    "\tat com.acme.etl.Writer.write(Writer.scala:88)",
    "Caused by: java.io.FileNotFoundException: /data/tmp/blockmgr-7/0c/shuffle_3_7_0.data (Too many open files)",
    "\tat java.io.FileOutputStream.open0(Native Method)",
    "\t... 12 more",
    "\tSuppressed: java.io.IOException: Stream closed",
    "\t\tat java.io.BufferedOutputStream.flush(BufferedOutputStream.java:140)",
    "24/03/12 10:11:15 INFO CoarseGrainedExecutorBackend: Got assigned task 42",
]

PYTHON = [
    "Traceback (most recent call last):",
    '  File "/opt/app/daily.py", line 31, in load',
    "    return mapping[key]",
    "KeyError: 'region'",
    "",
    "During handling of the above exception, another exception occurred:",
    "",
    "Traceback (most recent call last):",
    '  File "/opt/app/daily.py", line 52, in <module>',
    "    load(cfg)",
    "ValueError: config has no region",
    "cleaning up temp dir /tmp/spark-1",
]

PY4J = [
    "Traceback (most recent call last):",
    '  File "/opt/app/report.py", line 12, in <module>',
    '    df.write.mode("overwrite").parquet(out)',
    '  File "/opt/spark/python/lib/py4j-0.10.9.7-src.zip/py4j/protocol.py", line 326, in get_return_value',
    "py4j.protocol.Py4JJavaError: An error occurred while calling o71.parquet.",
    ": org.apache.spark.SparkException: Job aborted due to stage failure: Task 0 in stage 2.0 failed 4 times",
    "\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages(DAGScheduler.scala:2672)",
    "Caused by: java.lang.ArrayIndexOutOfBoundsException: Index 7 out of bounds for length 7",
]


def lines_of(records) -> list[str]:
    return [line for r in records for line in r.lines]


def test_java_trace_is_one_record_with_its_position() -> None:
    recs = assemble("\n".join(JAVA) + "\n")
    assert [r.line for r in recs] == [1, 2, 11]
    err = recs[1]
    assert err.level == "ERROR" and err.logger == "Executor"
    assert err.lines == JAVA[1:10]
    assert err.ts == parse_log_ts("24/03/12 10:11:14") == 1710238274.0


def test_frames_pasted_without_indentation_stay_with_their_exception() -> None:
    pasted = [
        'Exception in thread "main" org.apache.spark.SparkException: Job aborted due to stage failure',
        "at org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages(DAGScheduler.scala:2454)",
        "at org.apache.spark.SparkContext.runJob(SparkContext.scala:2238)",
        "Caused by: java.lang.NullPointerException",
        "at com.acme.etl.Orders$.parse(Orders.scala:41)",
        "at least one record was skipped",
    ]
    recs = assemble("\n".join(pasted))
    assert [len(r.lines) for r in recs] == [5, 1]
    assert recs[0].lines[1] == "\t" + pasted[1] and recs[0].lines[4] == "\t" + pasted[4]
    assert recs[1].lines == [pasted[5]]


def test_log_prefix_forms() -> None:
    samples = {
        "2024-03-12 10:11:12,345 ERROR [dispatcher-event-loop-3] org.apache.spark.scheduler.TaskSchedulerImpl: Lost executor 2":
            ("ERROR", "org.apache.spark.scheduler.TaskSchedulerImpl", 1710238272.345),
        "2024-03-12T10:11:12.345Z WARN  BlockManagerMasterEndpoint: No more replicas available for rdd_5_1":
            ("WARN", "BlockManagerMasterEndpoint", 1710238272.345),
        "2015-07-29 19:04:29,071 - WARN  [SendWorker:188978561024:QuorumCnxManager$SendWorker@688] - Send worker leaving":
            ("WARN", None, 1438196669.071),
        "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 terminating":
            ("INFO", "dfs.DataNode$PacketResponder", 1226262975.0),
        # Airflow task logs (1.x/2.0, then 2.2+), and Python logging's "asctime - name - levelname - message"
        "[2021-09-20 14:15:34,615] {taskinstance.py:1235} ERROR - Received SIGTERM. Terminating subprocesses.":
            ("ERROR", None, 1632147334.615),
        "[2021-11-22, 17:37:57 UTC] {kerberos.py:103} ERROR - Couldn't reinit from keytab! `kinit' exited with 1.":
            ("ERROR", None, 1637602677.0),
        "2017-08-31 23:13:39,942 - py4j.java_gateway - ERROR - An error occurred while trying to connect":
            ("ERROR", None, 1504221219.942),
    }
    for line, (level, logger, ts) in samples.items():
        (rec,) = assemble(line)
        assert (rec.level, rec.logger) == (level, logger), line
        assert abs(rec.ts - ts) < 1e-3, line


def test_another_logging_format_s_lines_are_records_and_keep_their_traceback() -> None:
    """Airflow's and Python logging's prefixes start records like log4j's: each line its own record (not one
    plain record of every line), the message after the prefix, and ``logging.exception``'s traceback under it."""
    lines = [
        "[2021-05-08 19:48:35,385] {timeout.py:36} ERROR - Process timed out, PID: 10082",
        "[2021-05-08 19:48:35,391] {taskinstance.py:630} DEBUG - Refreshed TaskInstance",
        "2023-01-05 10:00:01,250 - etl.load - ERROR - Load failed",
        "Traceback (most recent call last):",
        '  File "load.py", line 3, in <module>',
        "KeyError: 'id'",
    ]
    records = assemble("\n".join(lines))
    assert [(r.line, r.level, r.message, len(r.lines)) for r in records] == [
        (1, "ERROR", "Process timed out, PID: 10082", 1),
        (2, "DEBUG", "Refreshed TaskInstance", 1),
        (3, "ERROR", "Load failed", 4),
    ]


def test_python_chained_traceback_then_plain_line_starts_a_new_record() -> None:
    recs = assemble("\n".join(PYTHON))
    assert [len(r.lines) for r in recs] == [11, 1]
    assert recs[1].line == 12 and recs[0].level is None


def test_py4j_error_keeps_its_java_continuation() -> None:
    (rec,) = assemble("\n".join(PY4J))
    assert rec.lines[-1].startswith("Caused by: java.lang.ArrayIndexOutOfBoundsException")


def test_traceback_joins_its_error_header_but_not_an_info_record() -> None:
    logged = ["24/03/12 10:11:12 ERROR root: load failed"] + PYTHON[:4]
    assert len(assemble("\n".join(logged))) == 1
    info = ["24/03/12 10:11:12 INFO Executor: Finished task", "some stdout"] + PYTHON[:4]
    assert [len(r.lines) for r in assemble("\n".join(info))] == [2, 4]


def test_bare_stderr_trace() -> None:
    text = 'Exception in thread "main" java.lang.IllegalStateException: boom\n\tat com.acme.Main.main(Main.java:9)\nbye'
    assert [len(r.lines) for r in assemble(text)] == [2, 1]


GCS_429 = [  # what Google's API client puts in the message after the status, then the frames
    "Caused by: com.google.api.client.googleapis.json.GoogleJsonResponseException: 429 Too Many Requests",
    "POST https://storage.googleapis.com/upload/storage/v1/b/etl-out/o?uploadType=multipart",
    "{",
    '  "code" : 429,',
    '  "errors" : [ {',
    '    "domain" : "usageLimits",',
    '    "reason" : "rateLimitExceeded"',
    "  } ]",
    "}",
    "\tat com.google.api.client.googleapis.json.GoogleJsonResponseException.from(GoogleJsonResponseException.java:146)",
]


def test_an_http_error_response_in_a_bare_exception_s_message_stays_with_it() -> None:
    """The body's ``reason`` is what tells throttling from a refusal: split off, no rule sees it with the class."""
    without_request = GCS_429[:1] + GCS_429[2:]
    for lines in (GCS_429, without_request, ['Exception in thread "main" a.b.CException: 403'] + GCS_429[2:]):
        assert [len(r.lines) for r in assemble("\n".join(lines + ["bye"]))] == [len(lines), 1]
    cut = GCS_429[:6] + ["java.lang.IllegalStateException: next"]  # a body cut short ends at a line of its own
    assert [len(r.lines) for r in assemble("\n".join(cut))] == [6, 1]
    for lines in (["plain stdout line"] + GCS_429[1:3], ["a.b.CException: boom", "", "{"]):  # no exception right above
        assert len(assemble("\n".join(lines))) > 1


@pytest.mark.parametrize("message", [
    "ERROR Utils: Uncaught exception in thread task-result-getter-1",  # a paste without timestamps
    "10:11:12.345 [Executor task launch worker for task 0.0] ERROR org.apache.spark.executor.Executor - Exception in task 0.0",
    "Uncaught exception in thread Thread[Executor task launch worker for task 12,5,main]",  # no prefix at all
    "uncaught error in thread spark-listener-group-appStatus, stopping SparkContext",
])
def test_a_bare_message_logged_with_its_throwable_keeps_it(message: str) -> None:
    """log4j prints the throwable on the line under its message; split from it, the thread is lost."""
    text = f"{message}\njava.lang.OutOfMemoryError: Java heap space\n\tat java.util.Arrays.copyOf(Arrays.java:3332)\nbye"
    assert [len(r.lines) for r in assemble(text)] == [3, 1]


def test_a_bare_line_that_announces_nothing_does_not_take_the_exception_under_it() -> None:
    text = "Running the nightly load\njava.lang.IllegalStateException: boom\n\tat com.acme.Main.main(Main.java:9)"
    assert [len(r.lines) for r in assemble(text)] == [1, 2]
    two = "ERROR a: one\nsecond line\njava.lang.IllegalStateException: boom"  # only right under the message
    assert [len(r.lines) for r in assemble(two)] == [1, 1, 1]


def test_interleaved_containers_assemble_like_separate_logs() -> None:
    a, b = JAVA, PY4J
    asms = {"c1": Assembler(), "c2": Assembler()}
    got: dict[str, list] = {"c1": [], "c2": []}
    for i in range(max(len(a), len(b))):  # one partition: lines of both alternate
        for cid, src in (("c1", a), ("c2", b)):
            if i < len(src):
                got[cid] += asms[cid].feed([src[i]])
    for cid in asms:
        got[cid] += asms[cid].flush()
    assert [r.to_dict() for r in got["c1"]] == [r.to_dict() for r in assemble("\n".join(a))]
    assert [r.to_dict() for r in got["c2"]] == [r.to_dict() for r in assemble("\n".join(b))]


def test_caps_bound_the_state() -> None:
    lines = ["24/03/12 10:11:14 ERROR Executor: boom", "java.lang.StackOverflowError"]
    lines += ["\tat com.acme.Rec.f(Rec.java:1)"] * 300 + ["x" * 20_000]
    asm = Assembler(max_record_lines=200, max_line_chars=1000)
    (rec,) = asm.feed(lines) + asm.flush()
    assert len(rec.lines) == 200 and rec.omitted == len(lines) - 200
    asm = Assembler(max_line_chars=1000)
    (rec,) = asm.feed(["y" * 5000]) + asm.flush()
    (line,) = rec.lines
    assert len(line) < 1100 and line.startswith("y" * 250) and line.endswith("y" * 125) and CUT_SEEN in line


POOL = JAVA + PYTHON + PY4J + GCS_429 + ["plain stdout line", "", "\t... 3 more", 'Caused by: java.lang.Error: x']


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.sampled_from(POOL), max_size=60),
    cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=8),
    roundtrip=st.booleans(),
)
def test_no_line_lost_or_duplicated_however_chunked(lines: list[str], cuts: list[int], roundtrip: bool) -> None:
    reference = assemble("\n".join(lines) + "\n") if lines else []
    asm = Assembler()
    got = []
    bounds = sorted({0, len(lines), *(c for c in cuts if c <= len(lines))})
    for lo, hi in zip(bounds, bounds[1:]):
        got += asm.feed(lines[lo:hi])
        if roundtrip:  # the stream app keeps the state in a table between records
            asm = Assembler.from_dict(json.loads(json.dumps(asm.to_dict())))
    got += asm.flush()
    assert [r.to_dict() for r in got] == [r.to_dict() for r in reference]
    assert lines_of(got) == lines
    assert [r.line for r in got] == sorted(r.line for r in got)


AGGREGATED = """Container: container_e05_1700000000000_0042_01_000001 on worker-3.example.com_8041
LogAggregationType: AGGREGATED
=====================================================================================
LogType:stderr
LogLastModifiedTime:Tue Mar 12 10:12:00 +0000 2024
LogLength:142
LogContents:
24/03/12 10:11:14 ERROR ApplicationMaster: User class threw exception: java.lang.RuntimeException: bad input
\tat com.acme.Job.main(Job.scala:20)
End of LogType:stderr
***********************************************************************

Container: container_e05_1700000000000_0042_01_000002 on worker-5.example.com_8041
LogAggregationType: AGGREGATED
=====================================================================================
LogType:stdout
LogLastModifiedTime:Tue Mar 12 10:12:00 +0000 2024
LogLength:5
LogContents:
hello
End of LogType:stdout
LogType:stderr
LogLength:80
LogContents:
24/03/12 10:11:13 INFO Executor: Running task 0.0 in stage 1.0 (TID 1)
24/03/12 10:11:14 ERROR Executor: Exception in task 0.0 in stage 1.0 (TID 1)
"""


def test_split_yarn_aggregated_per_container_and_type() -> None:
    assert is_aggregated(AGGREGATED) and not is_aggregated("\n".join(JAVA))
    parts = split_yarn_aggregated(AGGREGATED)
    assert [(p.container_id[-6:], p.host, p.logtype) for p in parts] == [
        ("000001", "worker-3.example.com", "stderr"),
        ("000002", "worker-5.example.com", "stdout"),
        ("000002", "worker-5.example.com", "stderr"),  # no End marker: runs to the end
    ]
    assert parts[0].text.splitlines()[1] == "\tat com.acme.Job.main(Job.scala:20)"
    assert parts[2].text.splitlines()[1].endswith("(TID 1)")


def test_split_hadoop2_aggregated_spelling() -> None:
    text = (
        "Container: container_1700000000000_0042_02_000003 on worker-9:45454\n"
        "=======================================================================\n"
        "LogType:stderr\n"
        "Log Upload Time:Tue Mar 12 10:12:00 +0000 2024\n"
        "LogLength:120\n"
        "Log Contents:\n"
        "24/03/12 10:11:14 ERROR CoarseGrainedExecutorBackend: RECEIVED SIGNAL TERM\n"
        "End of LogType:stderr\n"
    )
    (part,) = split_yarn_aggregated(text)
    assert (part.container_id, part.host, part.logtype) == (
        "container_1700000000000_0042_02_000003", "worker-9", "stderr")
    assert part.text == "24/03/12 10:11:14 ERROR CoarseGrainedExecutorBackend: RECEIVED SIGNAL TERM"


def test_a_crlf_dump_and_a_section_cut_by_the_next_logtype() -> None:
    """Windows line ends are dropped, not kept in the text; a section without its end marker stops at the
    next ``LogType:`` header of the same container, keeping every line before it."""
    text = ("Container: container_1700000000000_0042_01_000001 on worker-1_8041\r\n"
            "LogType:stdout\r\nLogContents:\r\n\r\n  hello\r\n"
            "LogType:stderr\r\nLogContents:\r\nERROR boom\r\nEnd of LogType:stderr\r\n")
    out, err = split_yarn_aggregated(text)
    assert (out.logtype, out.text, out.host) == ("stdout", "\n  hello", "worker-1")
    assert (err.logtype, err.text) == ("stderr", "ERROR boom")
    assert split_yarn_aggregated("LogType:stderr\nLogContents:\norphan line\n") == [], "no container: nothing"


def test_a_section_without_its_logtype_line_is_kept_as_unknown() -> None:
    """A lost ``LogType:`` header does not lose the section: its lines stay the container's (role and
    attempt from its id) under the log type ``unknown``, and the next untyped section does not take the
    type of the one before it."""
    text = ("Container: container_1700000000000_0042_01_000002 on worker-1_8041\n"
            "LogType:stdout\nLogContents:\nhello\nEnd of LogType:stdout\n"
            "LogLength:80\nLogContents:\nERROR Executor: boom\nEnd of LogType:stderr\n"
            "Container: container_1700000000000_0042_02_000001 on worker-2_8041\n"
            "LogContents:\nERROR ApplicationMaster: User class threw exception")
    typed, untyped, driver = split_yarn_aggregated(text)
    assert (typed.logtype, typed.text) == ("stdout", "hello")
    assert (untyped.container_id[-6:], untyped.logtype, untyped.text) == ("000002", "unknown", "ERROR Executor: boom")
    assert (driver.logtype, driver.host, driver.text) == ("unknown", "worker-2",
                                                          "ERROR ApplicationMaster: User class threw exception")
    where = [(t, m["attempt"], m["role"]) for t, m in sections(text, attempt=0, container_id=None, role="unknown",
                                                                host=None)]
    assert where[1:] == [("ERROR Executor: boom", 1, "executor"),
                         ("ERROR ApplicationMaster: User class threw exception", 2, "driver")]


@pytest.mark.parametrize(("path", "app_id"), [
    ("/var/log/hadoop-yarn/containers/application_1700000000000_0042/container_1700000000000_0042_01_000002/stderr",
     "application_1700000000000_0042"),
    ("/mnt/yarn/logs/container_e07_1700000000000_0043_01_000002.log", "application_1700000000000_0043"),
    ("/var/log/spark/driver.log", None), ("", None), (None, None),
])
def test_the_application_named_in_a_log_path(path: str | None, app_id: str | None) -> None:
    from logtext.yarn import app_id_from_path

    assert app_id_from_path(path) == app_id


def test_a_restart_at_any_line_resumes_the_same_records() -> None:
    """The state saved after any line (inside a traceback, between chained ones, inside a Java trace)
    resumes to exactly the records of an uninterrupted pass, with the limits it was made with."""
    lines = PYTHON + JAVA + PY4J + PYTHON
    reference = [r.to_dict() for r in assemble("\n".join(lines) + "\n")]
    for cut in range(len(lines) + 1):
        asm = Assembler()
        got = asm.feed(lines[:cut])
        asm = Assembler.from_dict(json.loads(json.dumps(asm.to_dict())))
        got += asm.feed(lines[cut:]) + asm.flush()
        assert [r.to_dict() for r in got] == reference, f"restarted after line {cut}"
    small = Assembler.from_dict(json.loads(json.dumps(Assembler(max_record_lines=3, max_line_chars=1000).to_dict())))
    trace = ["24/03/12 10:11:12 ERROR Executor: boom", "\tat a.b(c:1)", "\tat " + "y" * 5000] + ["\tat d.e(f:2)"] * 3
    (rec,) = small.feed(trace) + small.flush()
    assert (len(rec.lines), rec.omitted) == (3, 3) and len(rec.lines[2]) < 1100


def test_a_section_s_lines_are_kept_as_written_but_for_the_carriage_return() -> None:
    dump = ("Container: container_e05_1700000000000_0042_01_000001 on worker-3.example.com_8041\r\n"
            "LogType:stdout\r\nLogContents:\r\nrow  X  \r\n  indented X\r\nEnd of LogType:stdout\r\n")
    (part,) = split_yarn_aggregated(dump)
    assert part.text == "row  X  \n  indented X"


@pytest.mark.parametrize(("text", "epoch"), [
    ("24/03/12 10:11:14", 1710238274.0),
    ("24/03/12 10:11:14.5", 1710238274.5),  # a fraction after either separator
    ("24/03/12 10:11:14,250", 1710238274.25),
    ("69/01/01 00:00:00", -31536000.0),  # two-digit years as strptime reads them: 69-99 -> 19xx
    ("99/12/31 23:59:59", 946684799.0),
    ("00/01/01 00:00:00", 946684800.0),
    ("68/12/31 23:59:59", 3124223999.0),  # 0-68 -> 20xx
    ("081109 203615", 1226262975.0),  # HDFS, with or without the thread number
    ("081109 203615 148", 1226262975.0),
    ("151119 203615", 1447965375.0),  # every field of its own two digits
    ("2024-03-12T10:11:12+02:00", 1710231072.0),  # a zone is honoured; none is read as UTC
    ("2024-03-12 10:11:12,345Z", 1710238272.345),
    ("2024-03-12T10:11:12.5", 1710238272.5),
    ("2021-11-22, 17:37:57 UTC", 1637602677.0),  # Airflow 2.2+
    ("24/03/1", None),  # cut short, a field out of range, not a timestamp, nothing: no time rather than an error
    ("24/03/12 10:11:1x", None),
    ("2024-13-12 10:11:12", None),
    ("24/13/12 10:11:12", None),
    ("x", None),
    ("", None),
    (None, None),
])
def test_log_timestamps_read_as_epoch_seconds(text: str | None, epoch: float | None) -> None:
    assert parse_log_ts(text) == (None if epoch is None else pytest.approx(epoch, abs=1e-6))


def test_a_long_line_keeps_its_head_tail_and_each_distinct_failure_word_in_context() -> None:
    """limit 1000: a head of 250, a tail of 125, and 240 characters each side of each failure word not seen
    before, while the budget that head and tail leave (625) lasts; each gap says how many characters it dropped."""
    line = ("h" * 250 + "x" * 500 + "refused" + "y" * 1500 + "refused" + "y" * 300 + "denied" + "y" * 10
            + "t" * 125)
    assert cut_line(line, len(line)) == line
    assert cut_line(line, 1000) == (
        "h" * 250 + CUT_MARK.format(n=260) + "x" * 240 + "refused" + "y" * 240
        + CUT_MARK.format(n=1_327) + "y" * 240 + "denied" + "y" * 10 + "t" * 125  # clipped to, and joining, the tail
    )
    assert "1,327 characters cut" in CUT_MARK.format(n=1_327)
    # a window clipped to the head joins it, overlapping windows join, and once the budget is spent
    # (625 - 252 - 489 < 0) a third word is not kept
    line = ("h" * 250 + "x" * 6 + "denied" + "z" * 400 + "timed out" + "z" * 600 + "not found" + "q" * 900
            + "t" * 125)
    assert cut_line(line, 1000) == line[:911] + CUT_MARK.format(n=1_269) + "t" * 125
    line = "h" * 250 + "x" * 1000 + "t" * 60 + "refused" + "t" * 58  # a word in the tail is kept by the tail alone
    assert cut_line(line, 1000) == "h" * 250 + CUT_MARK.format(n=1_000) + line[-125:]


def test_each_rule_of_the_grammar_on_one_log() -> None:
    """One log through every mode (see the module docstring), with the record each line lands in."""
    lines = [
        "24/03/12 10:11:12 ERROR root: load failed",  # 1: a prefixed alert...
        "Traceback (most recent call last):",  # ...takes the traceback right under it
        '  File "/opt/app/a.py", line 3, in <module>  ',  # trailing blanks are kept
        "",  # a blank line inside the frames
        "KeyError: 'x'",  # the final exception line
        "",
        "During handling of the above exception, another exception occurred:",
        "Traceback (most recent call last):",  # a chained traceback joins
        '  File "/opt/app/a.py", line 5, in <module>',
        "ValueError: y",
        "Traceback (most recent call last):",  # 11: an unchained one does not
        '  File "b.py", line 1',
        "OSError: z",
        "Traceback (most recent call last):",  # 14: nor does the next one, even right after it
        "RuntimeError: w",
        "bare stdout line",  # 16: not a continuation: a plain record...
        "\tat com.acme.X.y(X.java:1)",  # ...which takes continuation lines only
        "Caused by: java.lang.Error: q",
        "another bare line, class X",  # 19
        "24/03/12 10:11:13 INFO x: starting",  # 20: a prefixed record takes any line...
        "not a continuation, still this record's",
        "Traceback (most recent call last):",  # 22: ...but a traceback only right under an alert
        "24/03/12 10:11:14 WARN y: z\r",  # 23
        "Traceback (most recent call last):",
    ]
    asm = Assembler()
    recs = asm.feed(["\n".join(lines[:5])] + lines[5:]) + asm.flush()
    assert [(r.line, len(r.lines)) for r in recs] == [
        (1, 10), (11, 3), (14, 2), (16, 3), (19, 1), (20, 2), (22, 1), (23, 2)]
    assert [r.lines[0] for r in recs] == [lines[i - 1].rstrip("\r") for i in (1, 11, 14, 16, 19, 20, 22, 23)]
    assert [(r.level, r.logger, r.message) for r in recs] == [
        ("ERROR", "root", "load failed"), (None, None, lines[10]), (None, None, lines[13]), (None, None, "bare stdout line"),
        (None, None, "another bare line, class X"), ("INFO", "x", "starting"), (None, None, lines[21]), ("WARN", "y", "z"),
    ]
    assert recs[0].lines == lines[:10] and recs[0].ts_text == "24/03/12 10:11:12"


def test_the_default_caps() -> None:
    """200 lines a record (the rest counted), 8,192 characters a line (a longer one is cut)."""
    asm = Assembler()
    (rec,) = asm.feed(["java.lang.StackOverflowError"] + ["\tat a.B.c(B.java:1)"] * 205) + asm.flush()
    assert (len(rec.lines), rec.omitted) == (200, 6)
    asm = Assembler()
    recs = asm.feed(["x" * 8192, "y" * 8193]) + asm.flush()
    assert recs[0].lines == ["x" * 8192] and recs[0].message == "x" * 8192
    assert CUT_SEEN in recs[1].lines[0] and CUT_SEEN in recs[1].message and len(recs[1].lines[0]) < 8192


def test_what_reads_as_a_yarn_logs_dump() -> None:
    """A ``Container: ... on ...`` header in the first 4 KiB with a ``LogType:`` after it; one section is enough."""
    one = AGGREGATED[: AGGREGATED.index("\nContainer: container_e05_1700000000000_0042_01_000002")]
    assert is_aggregated(one) and [s.container_id[-6:] for s in split_yarn_aggregated(one)] == ["000001"]
    assert not is_aggregated(one.replace("LogType:", "Log type:"))
    deep = "24/03/12 10:11:14 INFO Client: waiting\n" * 120 + one  # quoted deep inside an ordinary log
    assert len(deep) - len(one) > 4096 and not is_aggregated(deep)


def test_a_section_whose_container_id_does_not_parse_keeps_what_the_caller_said() -> None:
    dump = "Container: container_unknown on worker-9_8041\nLogType:stderr\nLogContents:\n" + JAVA[1]
    ((body, where),) = sections(dump, attempt=4, container_id=None, role="unknown", host=None)
    assert body == JAVA[1]
    assert where == dict(attempt=4, container_id="container_unknown", role="executor", host="worker-9")
    ((_, where),) = sections(dump, attempt=4, container_id=None, role="driver", host=None)
    assert where["role"] == "driver"


def test_a_timestamp_without_a_zone_is_utc_whatever_the_machine_s_zone(monkeypatch) -> None:
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert parse_log_ts("24/03/12 10:11:14") == 1710238274.0
        assert parse_log_ts("2024-03-12T10:11:14") == 1710238274.0
    finally:
        monkeypatch.undo()
        time.tzset()
