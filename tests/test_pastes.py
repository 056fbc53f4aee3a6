"""Pasted excerpts: the marks of a paste (quotes, tags, indentation, fences, escaped or flattened traces,
a wrapped message) no longer hide the exception from ingest; log files are read as they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from logtext.events import extract_events
from logtext.lastlines import last_lines_events
from logtext.pastes import unpaste
from logtext.runs import extract_runs
from tests.loggen import generate_log

LOGHUB = Path(__file__).resolve().parents[2] / "shared" / "data" / "loghub"


def only_event(text: str):
    """The one event with an exception class that ``text`` gives (by both whole-text paths)."""
    events = [e for e in extract_events(text, app_id="paste") if e.exc_class]
    assert len(events) == 1, [(e.exc_class, e.text) for e in events]
    assert [e.to_dict() for e in extract_runs(text, app_id="paste").events() if e.exc_class] == [events[0].to_dict()]
    return events[0]


def classes(event) -> list[str]:
    return [c.exc_class for c in event.causes]


PY4J = (
    "Py4JJavaError: An error occurred while calling o4134.collectToPython.\n"
    ": org.apache.spark.SparkException: Python worker exited unexpectedly (crashed)\n"
    "\tat org.apache.spark.api.python.BasePythonRunner$ReaderIterator.read(PythonRunner.scala:711)"
)


@pytest.mark.parametrize("paste", [
    "\n".join("> " + line for line in PY4J.split("\n")),  # a markdown quote
    "\n".join(">" + line for line in PY4J.split("\n")),  # a quote marker without its space
    "\r\n".join("> " + line for line in PY4J.split("\n")),  # ... pasted from Windows
    "\n".join("    " + line for line in PY4J.split("\n")),  # a markdown code block (indented)
    "\n".join("[error] " + line for line in PY4J.split("\n")),  # sbt
    "\n".join("app_1  | " + line for line in PY4J.split("\n")),  # docker compose
    "\n".join(f"2020-10-12T23:26:25.41763{n}Z " + line for n, line in enumerate(PY4J.split("\n"))),  # kubectl, CI
    "\n".join("> [info] " + line for line in PY4J.split("\n")),  # a quoted sbt run
    "\n".join("2019-07-06 11:08:12\t" + line for line in PY4J.split("\n")),  # a log viewer's export
    "\n".join("- " + line for line in PY4J.split("\n")),  # a paste bin's or a chat's list, one item a line
    "\n".join("* " + line for line in PY4J.split("\n")),
    "\n".join(f"  {n}. " + line for n, line in enumerate(PY4J.split("\n"), 1)),  # a paste bin's line numbers
    "\n".join(f"{n}.\t" + line for n, line in enumerate(PY4J.split("\n"), 1)),  # a page's numbered code
    "\n".join("#> " + line for line in PY4J.split("\n")),  # R's reprex output
])
def test_a_line_prefix_of_the_paste_is_taken_off(paste):
    event = only_event(paste)
    assert classes(event) == ["Py4JJavaError", "org.apache.spark.SparkException"]
    assert event.frames == ("at org.apache.spark.api.python.BasePythonRunner$ReaderIterator.read(PythonRunner.scala:711)",)
    assert event.text == PY4J


def test_a_timestamp_that_starts_a_log_prefix_is_not_a_tag():
    log = "2019-07-06 11:08:12\tERROR Executor: Exception in task 1.0\n2019-07-06 11:08:13\tINFO Executor: Finished"
    assert unpaste(log) is log


def test_only_frames_keep_their_indentation_and_python_prompts_are_not_quotes():
    frames = "        at a.B.c(B.java:1)\n        at d.E.f(E.java:2)"
    assert unpaste(frames) == frames
    session = ">>> df.count()\nTraceback (most recent call last):\n  File \"<stdin>\", line 1, in <module>\nValueError: bad"
    assert unpaste(session) == session


@pytest.mark.parametrize("paste", [
    "`com.amazonaws.SdkClientException: Unable to execute HTTP request: Timeout waiting for connection from pool`",
    "```com.amazonaws.SdkClientException: Unable to execute HTTP request: Timeout waiting for connection from pool```",
    "**com.amazonaws.SdkClientException: Unable to execute HTTP request: Timeout waiting for connection from pool**",
])
def test_markdown_around_an_exception_is_taken_off(paste):
    event = only_event(paste)
    assert classes(event) == ["com.amazonaws.SdkClientException"]
    assert event.message == "Unable to execute HTTP request: Timeout waiting for connection from pool"


def test_a_trace_kept_as_one_json_string_is_read_as_its_lines():
    paste = ('"name": "Py4JJavaError",\n"message": "An error occurred while calling o84.fit.\\n: '
             'java.lang.OutOfMemoryError: Java heap space\\n\\tat org.apache.spark.unsafe.types.UTF8String'
             '.getBytes(UTF8String.java:258)\\n\\tat org.apache.spark.sql.Dataset.collect(Dataset.scala:3)",')
    event = only_event(paste)
    assert classes(event) == ["java.lang.OutOfMemoryError"]
    assert event.message == "Java heap space"
    assert event.frames[0] == "at org.apache.spark.unsafe.types.UTF8String.getBytes(UTF8String.java:258)"


@pytest.mark.parametrize("paste, cls, message", [
    (  # a repr
        "StreamingQueryException('Job aborted: org.apache.spark.api.python.PythonException: Traceback (most "
        "recent call last):\\n  File \"<stdin>\", line 1, in <lambda>\\nZeroDivisionError: division by zero\\n')",
        "ZeroDivisionError", "division by zero"),
    (  # JSON, whose frames keep their quotes escaped: AWS Glue's exception analysis event
        '{\n    "Event": "GlueETLJobExceptionEvent",\n    "Failure Reason": "Traceback (most recent call '
        'last):\\n  File \\"/tmp/job.py\\", line 40, in <module>\\n    totals[key] += 1\\nKeyError: \'2024_3\'",\n'
        '    "Last Executed Line number": 40\n}',
        "KeyError", "'2024_3'\","),
], ids=["repr", "json"])
def test_a_python_traceback_kept_in_a_string_is_read_as_its_lines(paste: str, cls: str, message: str):
    event = only_event(paste)
    assert classes(event) == [cls]
    assert event.message == message


def test_a_spark4_json_log_line_is_left_to_the_json_reader():
    line = ('{"ts":"2024-05-01T10:00:00.000Z","level":"ERROR","msg":"Task failed","logger":"Executor",'
            '"exception":{"class":"java.lang.IllegalStateException","msg":"boom","stacktrace":'
            '"java.lang.IllegalStateException: boom\\n\\tat a.B.c(B.java:1)"}}')
    assert unpaste(line) is line


def test_a_flattened_trace_gets_its_newlines_back():
    paste = ("java.lang.RuntimeException: java.util.concurrent.TimeoutException: Timeout waiting for task. "
             "at org.spark-project.guava.base.Throwables.propagate(Throwables.java:160) "
             "at org.apache.spark.network.client.TransportClient.sendRpcSync(TransportClient.java:278) "
             "Caused by: java.util.concurrent.TimeoutException: Timeout waiting for task. "
             "at org.spark-project.guava.util.concurrent.AbstractFuture.get(AbstractFuture.java:276) ... 12 more")
    event = only_event(paste)
    assert classes(event) == ["java.lang.RuntimeException", "java.util.concurrent.TimeoutException"]
    assert event.message == "java.util.concurrent.TimeoutException: Timeout waiting for task."
    assert event.text.split("\n")[3:] == [
        "Caused by: java.util.concurrent.TimeoutException: Timeout waiting for task.",
        "\tat org.spark-project.guava.util.concurrent.AbstractFuture.get(AbstractFuture.java:276)",
        "\t... 12 more",
    ]


def test_frames_copied_without_their_at_are_frames_again():
    """A page that prints each ``StackTraceElement`` alone (train: a CSDN post of a broadcast timeout): without
    ``at`` they read as messages, ending the exception at its first line and hiding the frames that say
    what timed out."""
    paste = ("caused by:\n"
             "java.util.concurrent.TimeoutException: Futures timed out after [300 seconds]\n"
             "scala.concurrent.impl.Promise$DefaultPromise.ready(Promise.scala:223)\n"
             "  org.apache.spark.util.ThreadUtils$.awaitResult(ThreadUtils.scala:220)\n"
             "sun.reflect.NativeMethodAccessorImpl.invoke0(Native Method)\n"
             "org.apache.spark.sql.execution.exchange.BroadcastExchangeExec.doExecuteBroadcast(BroadcastExchangeExec.scala:146)")
    event = only_event(paste)
    assert event.text.split("\n")[1:] == [
        "\tat scala.concurrent.impl.Promise$DefaultPromise.ready(Promise.scala:223)",
        "\tat org.apache.spark.util.ThreadUtils$.awaitResult(ThreadUtils.scala:220)",
        "\tat sun.reflect.NativeMethodAccessorImpl.invoke0(Native Method)",
        "\tat org.apache.spark.sql.execution.exchange.BroadcastExchangeExec.doExecuteBroadcast(BroadcastExchangeExec.scala:146)",
    ]
    for text in ("Call Job.run(Job.java:12) again", "java.util.List.size()", "see Promise.ready(Promise.scala:223)"):
        assert unpaste(text) == text, "only a whole line of a qualified method and its source position"


def test_one_frame_in_a_sentence_is_not_a_flattened_trace():
    text = "It runs (nightly) at com.acme.Job.run(Job.java:12) and stops"
    assert unpaste(text) == text


def test_an_exception_message_the_paste_wrapped_is_one_line_again():
    paste = ("java.lang.RuntimeException: file:/data/type.json is not a Parquet file. \n"
             "Expected magic number at tail, but found [109, 101, 34, 125]")
    event = only_event(paste)
    assert event.message == ("file:/data/type.json is not a Parquet file. "
                             "Expected magic number at tail, but found [109, 101, 34, 125]")
    kept = "> java.lang.RuntimeException: boom\n> Expected magic number at tail"  # no trailing space: not wrapped
    assert unpaste(kept) == "java.lang.RuntimeException: boom\nExpected magic number at tail"


def test_the_last_lines_of_a_paste_are_read_without_its_marks():
    (event,) = last_lines_events("> job started\n> job finished", app_id="paste")
    assert event.text == "job started\njob finished"


def test_log_files_are_read_as_they_are():
    """Not a copy that is equal: the text itself, so a log file costs its head's scan and nothing more."""
    logs = [generate_log(20_000, error_fraction=0.05)] + [p.read_text(errors="replace") for p in sorted(LOGHUB.glob("*.log"))]
    for text in logs:
        assert unpaste(text) is text


# Each mark's own rule, stated on the text unpaste gives back (what the events above are read from).

@pytest.mark.parametrize(("paste", "expected"), [
    ("> java.lang.IllegalStateException: a > b", "java.lang.IllegalStateException: a > b"),  # one line; one marker off
    ("see:\n> java.lang.IllegalStateException: boom", "see:\njava.lang.IllegalStateException: boom"),  # half quoted
    ("> step X\r\n> java.lang.IllegalStateException: boom\r\n", "step X\njava.lang.IllegalStateException: boom\n"),
    ("> a reply\nplain 1\nplain 2\nplain 3", "a reply\nplain 1\nplain 2\nplain 3"),  # starts quoted: a quote
])
def test_quote_markers_come_off_a_paste_that_starts_quoted_or_is_half_quoted_or_more(paste, expected):
    assert unpaste(paste) == expected


def test_a_paste_less_than_half_quoted_that_does_not_start_quoted_keeps_its_markers():
    text = "intro\n> x\nmid\n> y\nend"
    assert unpaste(text) == text


@pytest.mark.parametrize(("paste", "expected"), [
    ("The job failed:\n```\njava.lang.IllegalStateException: boom\n```",
     "The job failed:\n\njava.lang.IllegalStateException: boom\n"),  # fences blanked, the lines after kept
    ("```\n```", "\n"),
    ("```java.lang.IllegalStateException: boom```  ", "java.lang.IllegalStateException: boom"),
    ("```**java.lang.IllegalStateException: boom**```", "java.lang.IllegalStateException: boom"),
    ("`java.lang.IllegalStateException: code X`", "java.lang.IllegalStateException: code X"),
    ("`java.lang.IllegalStateException: boom````", "java.lang.IllegalStateException: boom"),  # a fence right after
    ("`24/03/12 10:11:13 ERROR Executor: Exception in task 1.0`",
     "24/03/12 10:11:13 ERROR Executor: Exception in task 1.0"),  # a log line in backticks
    ("`df.count()`", "`df.count()`"),  # code that is neither: left as it is
])
def test_fences_and_markup_around_an_exception_or_a_log_line_come_off(paste, expected):
    assert unpaste(paste) == expected


@pytest.mark.parametrize(("paste", "expected"), [
    ("[error] java.lang.IllegalStateException: boom", "java.lang.IllegalStateException: boom"),
    ("[info] java.lang.IllegalStateException: bad [info] tag\n[info] \tat a.B.c(B.java:1)",
     "java.lang.IllegalStateException: bad [info] tag\n\tat a.B.c(B.java:1)"),  # the tag at the start only
    ("[info] java.lang.IllegalStateException: boom\n\tat a.B.c(B.java:1)",
     "[info] java.lang.IllegalStateException: boom\n\tat a.B.c(B.java:1)"),  # not every line tagged: not a tag
    ("- java.lang.IllegalStateException: boom\n-\n- at a.B.c(B.java:1)",
     "java.lang.IllegalStateException: boom\n\nat a.B.c(B.java:1)"),  # an empty item is a blank line
    ("  1. java.lang.IllegalStateException: boom\n  2. \n  3. at a.B.c(B.java:1)",
     "java.lang.IllegalStateException: boom\n\nat a.B.c(B.java:1)"),  # a numbered empty line
    ("1. read\nthen java.lang.IllegalStateException: boom\n2. retry",
     "1. read\nthen java.lang.IllegalStateException: boom\n2. retry"),  # steps in a sentence's text: kept
    ("Steps:\n- read\n- java.lang.IllegalStateException: boom",
     "Steps:\n- read\n- java.lang.IllegalStateException: boom"),  # a list in a sentence's text: kept
])
def test_a_tag_comes_off_only_when_every_line_carries_it(paste, expected):
    assert unpaste(paste) == expected


@pytest.mark.parametrize(("paste", "expected"), [
    (" java.lang.IllegalStateException: boom\n \tat a.B.c(B.java:1)",
     "java.lang.IllegalStateException: boom\n\tat a.B.c(B.java:1)"),  # one space of indentation
    ("   \n  ", "   \n  "),  # blank lines only
    ("\n Caused by: java.io.IOException: boom\n\tat a.B.c(B.java:1)",
     "\nCaused by: java.io.IOException: boom\n\tat a.B.c(B.java:1)"),  # the first line's own: nothing above it
    ("  24/03/12 10:11:14 ERROR Executor: Exception in task 1.0\njava.io.IOException: boom",
     "24/03/12 10:11:14 ERROR Executor: Exception in task 1.0\njava.io.IOException: boom"),
    ("  see below\njava.io.IOException: boom", "  see below\njava.io.IOException: boom"),  # not an exception: kept
])
def test_a_shared_indentation_comes_off(paste, expected):
    assert unpaste(paste) == expected


def test_the_lines_of_an_escaped_trace_are_read_as_lines_by_the_later_steps():
    """The message the paste wrapped inside the escaped string is joined again like any wrapped message."""
    paste = "java.lang.IllegalStateException: bad \\nvalue\\n\\tat a.B.c(B.java:1)"
    assert unpaste(paste) == "java.lang.IllegalStateException: bad value\n\tat a.B.c(B.java:1)"


@pytest.mark.parametrize(("paste", "expected"), [
    ("java.lang.StackOverflowError  \n\tat a.B.c(B.java:1)  ", "java.lang.StackOverflowError\n\tat a.B.c(B.java:1)"),
    ("java.lang.IllegalStateException: bad  \nvalue  \r\nnext", "java.lang.IllegalStateException: bad\nvalue\nnext"),
    ("java.lang.IllegalStateException: bad  \nvalue\nnext\nlast", "java.lang.IllegalStateException: bad  value\nnext\nlast"),
])
def test_markdown_line_breaks_or_a_terminal_s_padding_come_off_most_lines_padded(paste, expected):
    """Padded, a bare class is no exception line; not joined either (only a paste with fewer padded lines than
    half is read as wrapped)."""
    assert unpaste(paste) == expected


def test_typographic_quotes_around_the_thread_of_an_uncaught_exception_are_ascii_again():
    paste = "Exception in thread \u201ctask-result-getter-2\u201d java.lang.OutOfMemoryError: Java heap space"
    event = only_event(paste)
    assert classes(event) == ["java.lang.OutOfMemoryError"]
    assert event.text == 'Exception in thread "task-result-getter-2" java.lang.OutOfMemoryError: Java heap space'


def test_a_trace_flattened_with_two_frames_gets_its_newlines_back():
    paste = "java.lang.IllegalStateException: boom at a.B.c(B.java:1) at d.E.f(E.java:2)"
    assert unpaste(paste) == "java.lang.IllegalStateException: boom\n\tat a.B.c(B.java:1)\n\tat d.E.f(E.java:2)"


@pytest.mark.parametrize("text", [
    "org.apache.spark.api.python.PythonException: \nTraceback (most recent call last):\n"
    "  File \"<stdin>\", line 1, in <module>\nZeroDivisionError: division by zero",
    "py4j.protocol.Py4JJavaError: An error occurred while calling o84.fit. \n: java.lang.OutOfMemoryError: heap",
    "java.lang.IllegalStateException: bad \n value",  # an indented line is not the rest of a message
])
def test_an_exception_line_ending_in_a_space_is_not_joined_with_what_starts_its_own_line(text):
    assert unpaste(text) == text


def test_the_first_line_that_says_what_a_paste_is_comes_after_its_blank_lines():
    assert unpaste("\n`java.lang.IllegalStateException: boom`") == "\njava.lang.IllegalStateException: boom"
    assert unpaste("\njava.lang.IllegalStateException: bad \nvalue") == "\njava.lang.IllegalStateException: bad value"


@pytest.mark.parametrize("text", [
    "\r\njava.lang.IllegalStateException: boom\r\n\tat a.B.c(B.java:1)\r\n",  # a blank first line
    "path C:\\new\r\nnext\r\n",  # a backslash before an n, Windows line ends
    "the job ran \r\nand stopped\r\n",  # a line ending in a space
])
def test_a_text_without_the_marks_of_a_paste_is_returned_as_it_is(text):
    assert unpaste(text) is text


def test_a_double_spaced_trace_is_read_without_its_blank_lines():
    """A page that copies each line of a trace as a paragraph (train: a Gluten issue): blank lines before the frames
    and the cause. The generic JVM rule reads the frame right under the exception (who threw it); past a blank line
    it would read nothing. Blank lines between paragraphs that are not the trace's stay."""
    paste = ("org.apache.spark.SparkException: Job aborted due to stage failure\n\n\n"
             "    at org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages(DAGScheduler.scala:2)\n\n\n"
             "Caused by: java.lang.IllegalStateException: bad row\n\n\n"
             "    at com.acme.etl.Rows.check(Rows.scala:12)\n\n\n"
             "    ... 20 more\n\n"
             "What should I do?")
    assert unpaste(paste).split("\n") == [
        "org.apache.spark.SparkException: Job aborted due to stage failure",
        "    at org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages(DAGScheduler.scala:2)",
        "Caused by: java.lang.IllegalStateException: bad row",
        "    at com.acme.etl.Rows.check(Rows.scala:12)",
        "    ... 20 more",
        "",
        "What should I do?",
    ]
    # one blank line before a frame is not yet a double-spaced paste
    single = "java.lang.IllegalStateException: boom\n\n\tat a.B.c(B.java:1)\n\tat d.E.f(E.java:2)\n"
    assert unpaste(single) is single


@pytest.mark.parametrize("paint", [("\x1b[0;31m", "\x1b[0m"), ("^[[0;31m", "^[[0m"), ("[0;31m", "[0m")])
def test_a_terminal_s_or_a_notebook_s_colours_come_off(paint):
    """ANSI colour codes around an exception's class (a notebook's output, a colouring shell; the escape kept,
    shown as ``^[`` or dropped by the page) stand between the class and its colon: no rule reads the line."""
    on, off = paint
    paste = (f"{on}AnalysisException{off}                         Traceback (most recent call last)\n"
             f"{on}AnalysisException{off}: Column 'amount' does not exist. Did you mean one of the following? [amt]")
    event = only_event(paste)
    assert event.exc_class == "AnalysisException"
    last = event.text.split("\n")[-1]
    assert last == "AnalysisException: Column 'amount' does not exist. Did you mean one of the following? [amt]"


def test_one_bracketed_number_and_m_is_not_a_colour():
    text = "the stage took [2m] to start, then [0m of it was spent waiting\njava.lang.IllegalStateException: boom"
    assert unpaste(text) is text
