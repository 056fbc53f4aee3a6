"""``sparktriage unknowns``: the exceptions nothing classifies, as templates with counts and examples."""

from __future__ import annotations

import json
from collections.abc import Iterable

import sqlalchemy as sa

from classifiers.core import Classifier
from classifiers.templates import Template, group
from sparktriage.tools.classify import events_of_text
from sparktriage.records import AppInfo
from sparktriage.store import schema as t


def from_jsonl(classifier: Classifier, lines: Iterable[str]) -> list[Template]:
    """Classify each ``{"id", "text"}`` line; group the exceptions of those left unknown."""
    items = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        text = json.loads(line).get("text") or ""
        events = events_of_text(text, f"line-{number}", classifier.signals)
        if classifier.diagnose(events, AppInfo(app_id=f"line-{number}")).category == "unknown":
            items += [(e.exc_class, e.message, 1) for e in events if e.exc_class or e.level in ("ERROR", "FATAL")]
    return group(items)


def from_store(engine: sa.Engine) -> list[Template]:
    """The exceptions of every application whose current diagnosis is unknown."""
    d, e = t.diagnoses, t.exception_events
    query = (sa.select(e.c.exc_class, e.c.message, sa.func.count())
             .join(d, sa.and_(d.c.app_id == e.c.app_id, d.c.attempt == e.c.attempt))
             .where(d.c.superseded.is_(None), d.c.category == "unknown").group_by(e.c.exc_class, e.c.message))
    with engine.connect() as conn:
        return group(conn.execute(query).all())


def render(templates: list[Template], limit: int) -> str:
    if not templates:
        return "nothing left unknown"
    lines = [f"{sum(x.count for x in templates):,} exceptions in {len(templates):,} templates; the largest:"]
    for x in templates[:limit]:
        lines += [f"\n{x.count:>6}  {x.template}", f"        e.g. {x.example[:200]}"]
    return "\n".join(lines)
