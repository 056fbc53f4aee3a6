"""What a diagnosis shows of an event: its excerpt, with the lines the deciding rule matched always in it.

The exceptions tab and the webhook show at most ``MAX_EXCERPT_LINES`` lines of
an event; the line a rule matched must be among them, or the evidence would
not show why the rule decided.
"""

from __future__ import annotations

from collections.abc import Sequence

from classifiers.rootcause import Finding
from rules.engine import RuleEngine
from sparktriage.records import Evidence, ExceptionEvent

MAX_EXCERPT_LINES = 30


def excerpt(event: ExceptionEvent, needed: Sequence[int] = ()) -> str:
    """The event's excerpt (header, causes, frames that matter), with the lines of
    its text at ``needed`` (what the deciding rule matched) always among them, in
    log order; at most MAX_EXCERPT_LINES, the needed ones kept first."""
    text = event.text.split("\n")
    if not event.excerpt:
        picked = list(range(len(text)))
    else:  # the excerpt is a subsequence of the text's lines: find where each one is
        picked, want = [], iter(event.excerpt)
        expected = next(want, None)
        for i, line in enumerate(text):
            if expected is not None and line == expected:
                picked.append(i)
                expected = next(want, None)
    must = [i for i in needed if 0 <= i < len(text)]
    rest = [i for i in picked if i not in must]
    keep = sorted(must[:MAX_EXCERPT_LINES] + rest[: max(0, MAX_EXCERPT_LINES - len(must))])
    return "\n".join(text[i] for i in keep)


def evidence(event: ExceptionEvent, rule_id: str | None, needed: Sequence[int] = ()) -> Evidence:
    return Evidence(
        excerpt=excerpt(event, needed), container_id=event.container_id, role=event.role,
        host=event.host, line=event.line, ts=event.ts, rule_id=rule_id,
    )


def rule_evidence(finding: Finding, engine: RuleEngine) -> Evidence:
    """The evidence of a rule's finding: its event's excerpt with the lines the rule matched."""
    return evidence(finding.event, finding.rule.id, engine.matched_lines(finding.rule, finding.event.text))
