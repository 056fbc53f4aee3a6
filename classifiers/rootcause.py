"""Root cause, not last words: choosing the finding that started the cascade.

A failed application leaves many exceptions. Two orders decide among them:

1. **Within one exception**, the deepest ``Caused by`` carrying a known
   signature beats its wrappers: the finding is located at the cause depth
   of the line its rule matched, and deeper wins, then higher priority.
   Python prints a chain the other way round (the exception "above" is the
   cause of the one below), so there the earliest traceback is the deepest.
2. **Across the application**, categories have a cascade rank
   (``CASCADE_RANK``): a container killed for memory makes executors go
   away, which makes reducers fail to fetch shuffle blocks, which aborts the
   job. A lower rank is further upstream. Findings are ordered by rank, then
   by time (earliest first), then by rule priority.

**A generic match never hides a known cause.** The generic rules (a user
exception rethrown by the driver, a bare Python traceback, a generic JVM
exception: ``user_code_error`` below priority ``GENERIC_BELOW``) only say
"something in the job threw". Within one exception, any specific finding
beats them whatever the nesting: a ``PythonException`` traceback wrapping
``ModuleNotFoundError`` is a dependency problem, and a specific outer
message over a generic inner one (``Python worker exited unexpectedly``
around a bare traceback) keeps the outer cause. Across the application a
generic finding counts as ``GENERIC_RANK``: causes of rank 2 or less beat
it, consequences further downstream (lost executors, refused connections,
a SparkContext shut down) do not, since a user exception often causes them.
Where a generic finding is still the root, the model's confident answer for
a specific cause is a specific signal too, and wins (``classifiers.core``).

**An exception Spark itself threw is not the job's.** A generic JVM rule reads a runtime exception class
(``NullPointerException``, ``IllegalArgumentException``, ``ClassCastException``: any code may throw
them) that says the job's code threw only when the job's code is where it was thrown. Where the frames under the matched line,
past the JDK's and Scala's own, start in Spark's internals (Spark 1.x's built-in sources too), py4j, Hadoop
or the file formats' own libraries (``BufferHolder.grow``, ``ChunkedByteBuffer`` behind ``Predef.require``, py4j's
reflection, Avro's ``GenericData``, Parquet's column writers), the platform threw it: a bug or
a misuse that the text does not pin on the job, which people label ``unknown``. The generic finding
is then not made; a specific rule or the model still decides. Without frames the rule still decides.
Nor is it made on an exception logged as a warning that is not a task's failure (``Lost task``): Spark
caught it and went on (a query listener's ``MatchError``, a reader's ``close()``, a block put that is
computed again), so it did not fail the job. A specific finding in such a warning, with the log going on
past it, does not decide either (``classifiers.pastwarnings``).

**Nor does a fallback hide a specific cause in the same exception.** Any rule below ``GENERIC_BELOW``
is a fallback: it reads a symptom many causes share (a refused or reset connection, a futures timeout,
a lost executor, a stopped SparkContext). Where the exception that holds it names a specific cause, that
cause decides at any depth: Spark wraps its own waits' timeouts with what waited (``Could not execute
broadcast in 1200 secs`` around ``Caused by: ... Futures timed out after [1200 seconds]``), and a
``FetchFailedException`` around the ``Connection timed out`` of the fetch is a failed fetch. Between two
specific findings, or two fallbacks, the deepest still wins. Across the application the cascade ranks
decide as before: a fallback only yields inside its own exception.

**An out-of-memory error that does not say which process ran out yields to one that does.**
``java.lang.OutOfMemoryError: Java heap space`` alone (``*/driver_or_executor``) names no
process; the thread, the frames or the message around an OOM often do (``driver_oom`` /
``executor_oom`` from a rule that decides the process). Spark wraps the driver's OOM in its
own message (``Not enough memory to build and broadcast the table`` with the OOM as its
``Caused by``), and a pasted console shows the bare OOM line before the py4j error that says
it was the driver: in one exception and across the application, the finding that names the
process wins over the one that cannot tell, whatever the depth or the order. And the driver's
log reports its executors' failures: in an exception where the text names an executor's OOM
(``Lost task ... executor 2): ... Caused by: java.lang.OutOfMemoryError``), a ``driver_oom``
that only the role of the log gave (a rule scoped to the driver) does not decide.

**Several uncaught exceptions run into one event are several exceptions.** The JVM's default handler prints
each uncaught exception under its own ``Exception in thread "NAME"`` header; a log without timestamps (a pasted
console, a client's stderr) gives the assembler no line to start a new event at, so one event can hold several,
one after another. Between them the order across the application applies (cascade rank, then the earliest),
and the deepest cause only inside each: a heap that ran out in one thread, then a class whose initializer that
left failed (``NoClassDefFoundError: Could not initialize class``) in another, is an out-of-memory error, not a
missing class. A fallback still yields to any specific finding of the event, as in one exception.

**A broken connection reported by Spark's transport handlers is an echo.**
``TransportChannelHandler`` / ``TransportRequestHandler`` / ``TransportResponseHandler``
log every connection that breaks (``Exception in connection from``, ``Error sending
result ... closing connection``), which happens whenever an executor is removed or
the application shuts down: such a record says a peer went away, not why, so a network
rule does not decide on it (any other rule still does).

The ranks are data, not nested ifs, so a new category only needs a line here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from logtext.shapes import digit_key
from rules.engine import RuleEngine
from rules.loader import Rule
from sparktriage.records import ExceptionEvent
from sparktriage.taxonomy import top_level

#: category -> cascade rank; lower is further upstream (more likely the root).
CASCADE_RANK: dict[str, int] = {
    # Causes that stand on their own: the job's code, data, identity, memory.
    "driver_oom": 0,
    "executor_oom": 0,
    "container_killed_memory": 0,
    "result_size_exceeded": 0,
    "stack_overflow": 0,
    "input_missing": 0,
    "access_denied": 0,
    "auth_failure": 0,
    "disk_full": 0,
    "schema_mismatch": 0,
    "corrupt_data": 0,
    "sql_analysis_error": 0,
    "dependency_error": 0,
    "serialization_error": 0,
    "resource_unavailable": 0,
    "metastore_error": 1,
    "storage_throttled": 1,
    "user_code_error": 1,  # often a wrapper-ish consequence of bad data or a missing input
    "python_worker_crashed": 2,  # usually follows an OOM kill of the Python process
    "shuffle_auth_timeout": 2,
    "executor_lost": 3,  # follows container kills, OOMs, node loss
    "broadcast_timeout": 3,
    "network_error": 4,  # follows lost executors and overloaded services
    "shuffle_fetch_failed": 4,  # follows lost executors
    "killed": 5,  # the last word when something else went wrong first
}
DEFAULT_RANK = 3
#: rules below this priority are fallbacks: in one exception they never hide a specific cause (user_code_error
#: ones are generic too: across the application they stand at ``GENERIC_RANK``).
GENERIC_BELOW = 40
#: where a generic finding stands in the cascade: below every cause of rank <= 2.
GENERIC_RANK = 2.5
#: the sub-category of an out-of-memory finding whose text does not say which process ran out.
EITHER_PROCESS = "driver_or_executor"
#: the categories that name the process that ran out of memory.
OOM_CATEGORIES = ("driver_oom", "executor_oom")


def is_generic(rule: Rule) -> bool:
    """A fallback that only says the job threw (see the module docstring)."""
    return top_level(rule.category) == "user_code_error" and rule.priority < GENERIC_BELOW


@dataclass(frozen=True)
class Finding:
    """What one rule says about one event, and where in the event it said it."""

    rule: Rule
    event: ExceptionEvent
    order: int  # position of the event in the application's stream
    line_index: int  # index into event.text lines of the matching line
    depth: int  # cause depth of that line: 0 = header, 1 = first Caused by, ...

    @property
    def category(self) -> str:
        return self.rule.category

    @property
    def rank(self) -> int:
        return CASCADE_RANK.get(top_level(self.rule.category), DEFAULT_RANK)

    @property
    def generic(self) -> bool:
        return is_generic(self.rule)

    @property
    def fallback(self) -> bool:
        """A rule that reads a symptom many causes share: in its own exception any specific finding beats it."""
        return self.rule.priority < GENERIC_BELOW

    @property
    def undecided_process(self) -> bool:
        """An out-of-memory finding that cannot tell the driver from an executor (see the module docstring)."""
        return self.rule.category.endswith("/" + EITHER_PROCESS)

    @property
    def driver_by_role(self) -> bool:
        """A driver OOM that only the role of the log says (a rule scoped to the driver's logs)."""
        return self.rule.scope == "driver" and top_level(self.rule.category) == "driver_oom"

    @property
    def names_process(self) -> bool:
        """An out-of-memory finding whose rule says which process ran out."""
        return top_level(self.rule.category) in OOM_CATEGORIES and not self.undecided_process

    def cascade_key(self) -> tuple[float, float, int, int]:
        ts = self.event.ts if self.event.ts is not None else float("inf")
        return (GENERIC_RANK if self.generic else self.rank, ts, self.order, -self.rule.priority)


#: Python's chain separators: the exception printed *above* one is the cause (or the context) of the one below.
_PY_CHAIN = ("During handling of the above", "The above exception")
#: A cause line: the JVM's ``Caused by:``, and ScalaTest's ``Cause: x.y.Z: msg``, which its StringReporter
#: prints for each ``getCause`` under a failed test (``Resources("DetailsCause") + ": " + className``).
_CAUSE_LINE = re.compile(r"Caused by:|Cause: (?:[A-Za-z_$][\w$]*\.)+[A-Z]")


def _cause_depths(lines: Sequence[str]) -> list[int]:
    """How deep each line sits in the exception's chain of causes: 0 = the outermost exception.

    Java prints the outermost exception first and each ``Caused by:`` deeper (ScalaTest: ``Cause:``).
    Python prints the other way round: "During handling of the above exception,
    another exception occurred" and "The above exception was the direct cause of
    the following exception" mean the exception *above* came first, so the last
    traceback is the outermost and the first the deepest. Depth counts the causes
    in the order ``logtext.events`` lists them (outermost first): every traceback
    below the line's own, each with its ``Caused by:`` lines, then the
    ``Caused by:`` lines of its own traceback up to the line. One pass for all
    lines: several rules matching one event ask about several of them.
    """
    segments: list[int] = [0]  # Caused by lines per Python traceback, top to bottom
    places: list[tuple[int, int]] = []  # per line: its traceback (index into segments), Caused by lines up to it
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith(_PY_CHAIN):
            segments.append(0)
        elif _CAUSE_LINE.match(stripped) is not None:
            segments[-1] += 1
        places.append((len(segments) - 1, segments[-1]))
    below = [0] * len(segments)  # per traceback: the causes of every traceback below it
    for k in range(len(segments) - 2, -1, -1):
        below[k] = below[k + 1] + 1 + segments[k + 1]
    return [below[own] + before for own, before in places]


#: A JVM frame line (indented ``at``), its class and method in group 1.
_FRAME = re.compile(r"[ \t]+at (?:[\w.$-]+/+)?([\w.$<>]+)\(")
#: frames of the runtime a job's code and Spark's both call into: skipped to find who threw.
_RUNTIME = ("java.", "javax.", "jdk.", "sun.", "com.sun.", "scala.")
#: where the first frame past the runtime's means the platform threw: Spark's internals (not its ``sql``
#: namespace at large, which connectors share: ``org.apache.spark.sql.hbase``), py4j, Hadoop, the file formats'
#: libraries (the job's data, not its code, reaches them).
_PLATFORM = tuple(f"org.apache.spark.{p}" for p in (
    "util.", "storage.", "scheduler.", "executor.", "memory.", "shuffle.", "network.", "io.", "serializer.",
    "broadcast.", "rpc.", "unsafe.", "internal.", "deploy.", "status.", "api.python.", "rdd.", "sql.catalyst.",
    "sql.execution.", "sql.internal.", "sql.errors.", "sql.types.", "sql.json.", "sql.parquet.", "sql.sources.",
    "sql.columnar.", "SparkContext")) + ("py4j.", "org.apache.hadoop.", "org.apache.avro.", "org.apache.parquet.", "org.apache.orc.")


#: an exception class of the runtime (any code may throw it), as a generic JVM rule reads it.
_RUNTIME_THROWABLE = re.compile(r"\b(?:java|scala)\.(?:[\w$]+\.)*[A-Z][\w$]*(?:Exception|Error)\b")


def thrown_by_platform(lines: Sequence[str], index: int) -> bool:
    """Whether the runtime exception at ``lines[index]`` was thrown by Spark, py4j or Hadoop (see the module
    docstring): the first frame under it that is not the JDK's or Scala's is theirs. An exception Spark throws
    to report the job's failure (``[FAILED_EXECUTE_UDF]``, from Spark's error helpers) or no frame: False."""
    if _RUNTIME_THROWABLE.search(lines[index]) is None:
        return False
    for line in lines[index + 1:]:
        frame = _FRAME.match(line)
        if frame is None:
            return False
        where = frame.group(1)
        if not where.startswith(_RUNTIME):
            return where.startswith(_PLATFORM)
    return False


#: a task's failure, which Spark logs at WARN and retries (the job fails on it after the last attempt).
_LOST_TASK = "Lost task "


def survived(event: ExceptionEvent) -> bool:
    """An exception logged as a warning that is not a task's failure: one Spark caught and went on from
    (a query listener's error, a reader's ``close()``, a block put that is recomputed)."""
    return event.level in ("WARN", "WARNING") and _LOST_TASK not in event.text


#: the JVM's default handler's header of an uncaught exception (``ThreadGroup.uncaughtException``).
_UNCAUGHT = 'Exception in thread "'


def _uncaught_exceptions(text: str) -> list[int] | None:
    """Per line of ``text``, which of its uncaught exceptions (``_UNCAUGHT`` headers) the line belongs to, the
    lines before the first header with the first; None where the text holds fewer than two."""
    if text.count(_UNCAUGHT) < 2:
        return None
    which, seen = [], 0
    for line in text.split("\n"):
        if _UNCAUGHT in line:
            seen += 1
        which.append(max(seen - 1, 0))
    return which


#: Spark's transport handlers log every connection that breaks, whichever side went away first.
_ECHO_LOGGERS = ("TransportChannelHandler", "TransportRequestHandler", "TransportResponseHandler")


def is_echo(event: ExceptionEvent) -> bool:
    """A broken connection as Spark's transport handlers report it: a peer went away, not why (module docstring)."""
    return bool(event.logger) and event.logger.rsplit(".", 1)[-1] in _ECHO_LOGGERS


def findings_for(event: ExceptionEvent, order: int, engine: RuleEngine) -> list[Finding]:
    """Every deciding rule that matches ``event``: specific before fallback, then deepest cause, then priority."""
    return _found(event, order, engine, _deciding(event, engine))


def _deciding(event: ExceptionEvent, engine: RuleEngine) -> list[Rule]:
    rules = [r for r in engine.match(event.text, event.role) if r.decides]
    if is_echo(event):
        rules = [r for r in rules if top_level(r.category) != "network_error"]
    return rules


def _found(event: ExceptionEvent, order: int, engine: RuleEngine, rules: list[Rule],
           shape: _Shape | None = None) -> list[Finding]:
    """The findings of ``rules`` on ``event``; a rule that reads no digit whose line ``shape`` (that of a
    text identical but for its digits) holds is not searched again."""
    if not rules:
        return []
    depths = shape.depths if shape is not None else _cause_depths(event.text.split("\n"))
    lines = event.text.split("\n") if any(is_generic(r) for r in rules) else []
    went_on = survived(event)
    found = []
    for rule in rules:
        index = shape.lines.get(rule.id) if shape is not None else None
        if index is None:
            index = max(engine.locate(rule, event.text), 0)
        if not (lines and is_generic(rule) and (went_on or thrown_by_platform(lines, index))):
            found.append(Finding(rule, event, order, index, depths[index]))
    if not found:
        return []
    named = any(f.names_process for f in found)
    reported = any(f.names_process and top_level(f.category) == "executor_oom" for f in found)
    uncaught = _uncaught_exceptions(event.text) if len(found) > 1 else None

    def cascade(f: Finding) -> tuple[float, int]:  # between uncaught exceptions run into one event: rank, then order
        return (f.cascade_key()[0], uncaught[f.line_index]) if uncaught else (0, 0)

    found.sort(key=lambda f: (f.fallback, named and f.undecided_process, reported and f.driver_by_role,
                              cascade(f), -f.depth, -f.rule.priority, f.rule.id))
    return found


@dataclass
class _Shape:
    """What texts identical but for their digits share: each line's cause depth, where the rules that read
    no digit matched (rule id -> line), and the first finding (None: none) per list of deciding rules and
    lines where those of them that read digits matched."""

    depths: list[int]
    lines: dict[str, int] = field(default_factory=dict)
    firsts: dict[tuple[tuple[str, ...], tuple[int, ...]], Finding | None] = field(default_factory=dict)


_UNSEEN = object()


class FirstFindings:
    """Each event's first finding (``findings_for``'s), shared by events identical but for their digits.

    The same trace with other task ids, ports or sizes has the same lines at the same cause depths, and a
    rule that reads no digit (``RuleEngine.reads_digits``: ``exit code 137`` does, ``Failed to connect to
    \\S+:7337`` too) matches it at the same line. Each text is still asked of the rules (one Hyperscan
    scan); only the rules that read digits are searched for where they match, and with the deciding rules
    of a text before it, matched where they were, its first finding is that text's: ``_found`` reads
    nothing else of a text that its digits could change (its level, ``Lost task``, the frames under a
    generic rule's line, its uncaught exceptions' headers; ``tests/test_repeats.py``). The finding
    returned may hold another event: its event and order are the caller's to put in
    (``classifiers.core.diagnose`` does).
    """

    def __init__(self, engine: RuleEngine) -> None:
        self.engine = engine
        self._by_shape: dict[bytes, _Shape] = {}  # text with digits as 0 -> what such texts share

    def __call__(self, event: ExceptionEvent, order: int) -> Finding | None:
        engine = self.engine
        rules = _deciding(event, engine)
        if not rules:
            return None
        digits = digit_key(event.text)
        shape = self._by_shape.get(digits) if digits is not None else None
        if shape is None:
            shape = _Shape(_cause_depths(event.text.split("\n")))
            if digits is not None:
                self._by_shape[digits] = shape
        key = (tuple(r.id for r in rules),
               tuple(max(engine.locate(r, event.text), 0) for r in rules if engine.reads_digits(r)))
        first = shape.firsts.get(key, _UNSEEN)
        if first is not _UNSEEN:
            return first  # type: ignore[return-value]
        found = _found(event, order, engine, rules, shape)
        shape.lines.update((f.rule.id, f.line_index) for f in found if not engine.reads_digits(f.rule))
        if digits is not None:
            shape.firsts[key] = found[0] if found else None
        return found[0] if found else None  # none: only generic rules, on an exception the platform threw


def choose_root(per_event: Sequence[Finding]) -> Finding | None:
    """Among each event's best finding, the one that started the cascade; an out-of-memory
    finding that cannot tell the process gives way to one of the application's that can."""
    root = min(per_event, key=Finding.cascade_key, default=None)
    if root is not None and root.undecided_process:
        return min((f for f in per_event if f.names_process), key=Finding.cascade_key, default=root)
    return root
