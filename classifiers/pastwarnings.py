"""Warnings the application went on past: a finding in one does not decide (``classifiers.core``).

An exception logged
as a warning (not a task's failure) with events after it, none of which carries its exception class or a
finding of its category (``went_on_past``): something caught it and the log goes on (a native library that
did not load and a codec that falls back). The next root is chosen among the rest (a generic one excepted:
the warning's known cause stays the root); with none, the model reads the other events, and nothing found
leaves the diagnosis ``unknown``, the warning's category its hint. A warning that is the log's last word,
that a later event carries again, or that holds no exception (no executor granted) still decides.
"""

from __future__ import annotations

from collections.abc import Sequence

from classifiers.rootcause import Finding, choose_root, survived
from logtext.runs import EventRun
from sparktriage.records import ExceptionEvent
from sparktriage.taxonomy import top_level


def went_on_past(root: Finding, later: Sequence[tuple[ExceptionEvent, str | None]]) -> bool:
    """Whether ``root`` is a warning the application went on past: an exception logged as a warning that is
    not a task's failure (``rootcause.survived``: something caught it), with events logged after it (``later``, each with
    its finding's category or None), none of which names it again (its exception class in their text, or a
    finding of its category). What failed the application, if the log shows it, came later. A warning that is
    the log's last word, that a later event repeats or carries, or that holds no exception (no executor granted,
    a container killed: a state the application waits in or a report, not a throwable caught) may be the cause."""
    if not later or root.event.exc_class is None or not survived(root.event):
        return False
    cls = root.event.root_class
    return not any((cls is not None and cls in event.text)
                   or (category is not None and top_level(category) == top_level(root.category))
                   for event, category in later)


def root_past_warnings(per_event: Sequence[Finding], runs: Sequence[EventRun],
                       categories: Sequence[str | None]) -> tuple[Finding | None, list[Finding]]:
    """The root among the findings that are not warnings the application went on past (``went_on_past``),
    and those warnings (root first): a warning passed over, the next root is chosen among the rest, unless
    that is a generic finding, which never hides a known cause: then the warning stays the root.
    ``runs``: the application's runs of events, ``categories`` their first findings' (one per run)."""
    passed: list[Finding] = []
    root = choose_root(per_event)
    if root is None or not survived(root.event):  # the common case: no warning to pass over, no index built
        return root, passed
    run_of = {order: i for i, run in enumerate(runs) for order in run.orders}  # 23 ms on the noisy bench's log
    while root is not None:
        own = run_of.get(root.order)
        later = [(run.event, category) for i, (run, category) in enumerate(zip(runs, categories))
                 if i != own and run.orders[-1] > root.order]
        if not went_on_past(root, later):
            break
        rest = [f for f in per_event if run_of.get(f.order) != own]
        after = choose_root(rest)
        if after is not None and after.generic:
            break
        passed.append(root)
        root, per_event = after, rest
    return root, passed
