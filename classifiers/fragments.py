"""Fragments that show no failure: what the model is not asked about, or not believed on.

People paste parts of logs. Two shapes of part hold no root cause, whatever their words suggest, and
the model, which reads words, answers on them all the same:

* **A stack without its exception**: lines that are all JVM frames (``at a.b.C.m(C.java:12)``), the
  exception and its message cut off above, or a Python traceback cut before its exception line. The frames
  say where something was thrown, not what: on the real corpus's train split all 37 texts that are JVM
  frames only are labelled ``unknown`` (a metastore's frames, an Iceberg commit's, a writer's), and so are
  both in which the model would read a cut traceback (the generic Python rule is not made on one either).
  Such an event is not read by the model
  (``classifiers.core.model_candidates``).
* **No exception the job's code threw**, where the model answers ``user_code_error``. That answer is as
  generic as the generic rules' (``rootcause.is_generic``: it only says the job threw), and those rules
  are not made where the text does not show the job throwing: a Python traceback cut before its exception
  line, a wrapper (``PythonException``, ``Py4JJavaError``, ``SparkException``) whose carried exception is
  cut, an exception the platform threw (``rootcause.thrown_by_platform``: Spark's JSON or CSV reader
  throwing ``MatchError`` or ``IllegalArgumentException``), or an exception logged as a warning the
  application survived (``rootcause.survived``). The model's ``user_code_error`` is held to the same test
  (``job_threw``); where it fails, the diagnosis stays ``unknown`` with the model's guess as its hint. On
  the train split the model's own ``user_code_error`` answers that stand name an exception class the job
  reached (a ``ClassCastException`` in a job server's JSON reply, an ``sbt`` console's
  ``NullPointerException`` under the job's frames, ``None.get`` under a library's): all three pass.
* **A broken connection Spark's transport handlers report** (``rootcause.is_echo``), where the model answers
  ``network_error``: a network rule does not decide on such a record (a peer went away, not why), and the
  model's answer reads the same words. Cross-validated by thread on the train split (``bench.modelcv``'s
  folds, the rules beside), the model answered ``network_error`` on three such records and all three texts
  are labelled ``unknown`` (an executor removed, a shutdown, a closed channel after the job finished).

``held_back`` says why the model's answer for an event may not decide (None: it may).
"""

from __future__ import annotations

import re

from classifiers.rootcause import is_echo, survived, thrown_by_platform
from sparktriage.records import ExceptionEvent
from sparktriage.taxonomy import top_level

#: a JVM frame or the line that stands for the frames left out, indented or not (pasted stacks lose their tabs),
#: with the jar logback and log4j2 print after a frame (``~[hadoop-common-3.2.1.jar:?]``).
_FRAME_LINE = re.compile(r"\s*(?:at [\w.$<>/-]+\(.*\)(?:\s+~?\[[^\]\n]*\])?|\.\.\. \d+ (?:more|elided))\s*")
#: the first line of a Python traceback; its exception line, unindented, closes it.
_TRACEBACK = "Traceback (most recent call last):"
#: an exception class named anywhere: dotted (``java.lang.X``, ``pyspark.sql.utils.X``) or, as Python prints
#: the last line of a traceback, bare at the start of a line followed by its message or nothing.
_EXCEPTION_CLASS = re.compile(r"(?:\b[a-z_][\w$]*\.)+([A-Z][\w$]*(?:Exception|Error))\b"
                              r"|^([A-Z][\w$]*(?:Exception|Error))(?::|$)", re.MULTILINE)
#: exceptions that only carry another one (Python's in the JVM, the JVM's in Python, a task's in a job's):
#: naming one alone says nothing of what was thrown.
_WRAPPERS = frozenset({"PythonException", "Py4JJavaError", "SparkException", "ExecutionException",
                       "InvocationTargetException", "UndeclaredThrowableException"})


def only_frames(text: str) -> bool:
    """Whether ``text`` is a stack without its exception: every line that is not blank a JVM frame, or a Python
    traceback's header with only its indented frames and code lines under it (cut before its exception line)."""
    lines = [line for line in text.split("\n") if line.strip()]
    if lines and lines[0].lstrip().startswith(_TRACEBACK):
        return all(line[0] in " \t" for line in lines[1:])
    return bool(lines) and all(_FRAME_LINE.fullmatch(line) for line in lines)


def job_threw(event: ExceptionEvent) -> bool:
    """Whether ``event`` shows an exception that the job's code may have thrown: one that is not only a
    wrapper, not thrown by the platform, in a record that is not a warning the application survived (see
    the module docstring)."""
    if survived(event):
        return False
    lines = event.text.split("\n")
    thrown = [n for n, line in enumerate(lines)
              for m in _EXCEPTION_CLASS.finditer(line) if (m.group(1) or m.group(2)) not in _WRAPPERS]
    return bool(thrown) and not any(thrown_by_platform(lines, n) for n in thrown)


def held_back(event: ExceptionEvent, category: str) -> str | None:
    """Why the model's ``category`` for ``event`` may not decide, in words for the diagnosis (see the module
    docstring), or None where it may: its ``user_code_error`` needs an exception the job's code threw, its
    ``network_error`` a record that is not a transport handler's echo."""
    kind = top_level(category)
    if kind == "user_code_error" and not job_threw(event):
        return "no exception the job's code threw (a cut traceback, a wrapper alone, one the platform threw)"
    if kind == "network_error" and is_echo(event):
        return "a connection Spark's transport handlers saw break, which says a peer went away, not why"
    return None
