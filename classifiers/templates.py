"""What nothing classifies, grouped into templates (Drain) so that someone can write the next rule.

Exceptions left ``unknown`` are masked (ids, hosts, numbers...), prefixed
with their class, and clustered by Drain3's fixed-depth tree: messages that
differ only in a few tokens share a template with ``<*>`` in their place.
``sparktriage unknowns`` prints the groups; the dashboard's Quality page
shows them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from drain3 import TemplateMiner
from drain3.template_miner_config import TemplateMinerConfig

from classifiers.masking import mask


@dataclass(frozen=True)
class Template:
    template: str
    count: int
    example: str


def group(items: Iterable[tuple[str | None, str, int]]) -> list[Template]:
    """(exception class, message, count) -> templates, most frequent first, each with a real example."""
    config = TemplateMinerConfig()
    config.profiling_enabled = False
    miner = TemplateMiner(config=config)
    counts: dict[int, int] = {}
    examples: dict[int, str] = {}
    for exc_class, message, count in items:
        line = f"{exc_class or 'no-class'}: {mask(message or '').replace(chr(10), ' ')[:300]}"
        cluster = miner.add_log_message(line)["cluster_id"]
        counts[cluster] = counts.get(cluster, 0) + count
        examples.setdefault(cluster, f"{exc_class or ''}: {message}".strip(": "))
    templates = {c.cluster_id: c.get_template() for c in miner.drain.clusters}
    return sorted((Template(templates[c], n, examples[c]) for c, n in counts.items()), key=lambda t: -t.count)
