"""``sparktriage classify``: diagnose log files the same way the worker does.

Inputs are one application's logs: files (plain or ``.gz``), directories of
its container logs (each file one container; YARN container ids in the path
give the role), ``yarn logs`` dumps, Spark event logs (``sparktriage.tools.eventlogs``:
plain, lz4, snappy, zstd, rolling ``eventlog_v2_*`` directories), or stdin.
How the application ended, where its logs say (``ingest.endings``), is its
final status. ``--jsonl`` instead reads one
application per line, ``{"id": ..., "text": ...}``, and answers one line each.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ingest.endings import EndWatch
from ingest.eventlog import read_event_log
from logtext.events import extract_events
from logtext.lastlines import last_lines_events, last_words
from logtext.runs import EventRun, EventRuns, extract_runs
from logtext.signals import DEFAULT_SIGNALS, Signals
from logtext.yarn import app_id_from_path, parse_container_id, sections
from sparktriage.tools.logfiles import LogFiles
from sparktriage.payload import build_payload
from sparktriage.records import AppInfo, Diagnosis, ExceptionEvent

if TYPE_CHECKING:  # the classifier's modules load when the inputs have been checked
    from classifiers.core import Classifier

#: How much of the end of each log is read for how the application ended (its shutdown, its final status).
END_TAIL_CHARS = 1_000_000


def role_of(name: str) -> str:
    cid = parse_container_id(name)
    if cid is not None:
        return cid.role
    lowered = Path(name).name.lower()
    if "driver" in lowered:
        return "driver"
    if "executor" in lowered:
        return "executor"
    return "unknown"


def runs_of_paths(paths: Iterable[str] | LogFiles, app_id: str | None = None,
                  signals: Signals = DEFAULT_SIGNALS) -> tuple[AppInfo, EventRuns]:
    """Assemble the events of one application's logs, in the order given, records repeated but for
    their timestamp folded into runs (``logtext.runs``); the logs' last lines when none has an event
    (``logtext.lastlines``). Logs that hold no line at all are a BadInput, not an ``unknown``."""
    events = EventRuns()
    tails: list[ExceptionEvent] = []
    found_app = app_id
    watch = EndWatch()
    files = paths if isinstance(paths, LogFiles) else LogFiles(paths, event_logs=True)
    for name, text in files:
        cid = parse_container_id(name)
        found_app = found_app or (cid.app_id if cid else None) or app_id_from_path(name)
        where = dict(app_id=found_app or "local", attempt=cid.attempt if cid else 1,
                     container_id=cid.container_id if cid else Path(name).name, role=role_of(name))
        if isinstance(text, list):  # an event log
            found, log_watch, _ = read_event_log(text, app_id=where["app_id"], signals=signals)
            first = events.count
            events += [EventRun.single(event, first + n) for n, event in enumerate(found)]
            if log_watch.current is not None:
                watch.offer(log_watch.current)
            continue
        events += extract_runs(text, **where, signals=signals, first_order=events.count, ascii=files.ascii)
        for body, place in sections(text, **{k: where[k] for k in ("attempt", "container_id", "role")}, host=None):
            watch.fold_text(body[-END_TAIL_CHARS:], place["role"], place["attempt"])
        if not events:  # read only while it may still be needed
            tails += last_lines_events(text, **where)
    if files.blank:
        raise files.nothing_to_read()
    ending = watch.current
    return AppInfo(app_id=found_app or "local", final_status=ending.status if ending else None), \
        events or EventRuns.of(last_words(tails))


def events_of_paths(paths: Iterable[str] | LogFiles, app_id: str | None = None,
                    signals: Signals = DEFAULT_SIGNALS) -> tuple[AppInfo, list[ExceptionEvent]]:
    """The same, every record its own event."""
    app, runs = runs_of_paths(paths, app_id, signals)
    return app, runs.events()


def classify_paths(classifier: Classifier, paths: Iterable[str] | LogFiles, app_id: str | None = None) -> Diagnosis:
    with collector_paused():
        app, runs = runs_of_paths(paths, app_id, classifier.signals)
        diagnosis = classifier.diagnose(runs, app)
        del runs  # freed while the collector is off: back on, its first collection walked every event (50 ms)
    return diagnosis


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a whole log is read, on again after (as it was).

    A million-line log makes hundreds of thousands of objects (runs, their occurrences, events) that all
    live until the diagnosis and form no cycles; every few thousand of them the collector walked all of
    them again: 10-15 % of ``classify``'s time on the noisy bench's log, for nothing to collect."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def events_of_text(text: str, app_id: str, signals: Signals = DEFAULT_SIGNALS) -> list[ExceptionEvent]:
    """The events of one application's logs given as one text; its last lines when it has none."""
    events = extract_events(text, app_id=app_id, signals=signals)
    return events or last_words(last_lines_events(text, app_id=app_id))


def classify_text(classifier: Classifier, text: str, app_id: str) -> Diagnosis:
    """One application's log excerpt (a JSONL line's ``text``)."""
    return classifier.diagnose(events_of_text(text, app_id, classifier.signals), AppInfo(app_id=app_id))


def document(diagnosis: Diagnosis, item_id: Any = None) -> dict[str, Any]:
    """The diagnosis document (``sparktriage.payload``) of logs read here: ``--json``, and each ``--jsonl``
    answer with its input's ``id``. Nothing is known of the application beyond its id and how its logs say
    it ended: no end time."""
    app = AppInfo(app_id=diagnosis.app_id, attempt=diagnosis.attempt, final_status=diagnosis.final_status)
    return build_payload(app, diagnosis, item_id=item_id)


def classify_jsonl(classifier: Classifier, lines: Iterable[str], out: TextIO) -> tuple[int, int]:
    """Answer one JSON line per input line; returns (answered, rejected).

    A line that is not a JSON object with ``text`` gets an ``error`` line
    with its reason (and its id when it has one) so no input is lost silently.
    """
    answered = rejected = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            item = {"error": f"malformed JSON: {exc}"}
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            error = item.get("error") if isinstance(item, dict) else None
            item_id = item.get("id") if isinstance(item, dict) else None
            reason = error or "expected an object with a string `text`"
            out.write(json.dumps({"id": item_id, "line": number, "error": reason}) + "\n")
            rejected += 1
            continue
        item_id = item.get("id", number)
        diagnosis = classify_text(classifier, item["text"], app_id=str(item_id))
        out.write(json.dumps(document(diagnosis, item_id)) + "\n")
        answered += 1
    return answered, rejected


def render(diagnosis: Diagnosis) -> str:
    """Human output: category, explanation, remediation, evidence excerpts."""
    lines = [
        f"root cause: {diagnosis.category}  (domain {diagnosis.domain}, confidence {diagnosis.confidence:.2f}, "
        f"{diagnosis.source}{': ' + diagnosis.rule_id if diagnosis.rule_id else ''})",
        f"why:        {diagnosis.explain}",
    ]
    if diagnosis.final_status:
        lines.append(f"ended:      {diagnosis.final_status} (as its logs say)")
    if diagnosis.remediation:
        lines.append(f"fix:        {diagnosis.remediation}")
    if diagnosis.hint:
        lines.append(f"best guess: {diagnosis.hint}")
    for note in diagnosis.notes:
        lines.append(f"note:       {note}")
    for n, ev in enumerate(diagnosis.evidence, 1):
        where = ", ".join(x for x in (ev.role, ev.container_id, ev.host, f"line {ev.line}") if x)
        lines.append(f"\nevidence {n} ({where}):")
        lines.extend("  | " + line for line in ev.excerpt.split("\n"))
    if diagnosis.exceptions:
        lines.append("\nexceptions seen:")
        for group in diagnosis.exceptions[:15]:
            what = group.exc_class or " ".join(filter(None, (group.level, group.logger))) or "log record"
            lines.append(f"  {group.count:>5} x {what}: {group.message[:120]}")
    return "\n".join(lines)
