"""Workflow identifiers and team from an application's tags (or pod labels).

Workflow tools put their ids where the cluster manager keeps them: Azkaban's
Hadoop job types tag YARN applications ``azkaban.flow.projectname:P``,
``azkaban.flow.flowid:F``, ``azkaban.job.id:J``, ``azkaban.flow.execid:N``
(``HadoopJobUtils.constructHadoopTags``; YARN lower-cases tags); Oozie tags
its launched jobs ``oozie-<md5 of the action id>``; Airflow labels the pods
it starts ``dag_id``, ``task_id``, ``run_id``, and sites that submit to YARN
from Airflow usually tag ``dag_id:...`` the same way through
``spark.yarn.tags``. Each pattern (``watch_tag_patterns``: field -> regex) is
tried on every tag; its first matching group (or the whole match) is the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sparktriage.errors import ConfigError
from sparktriage.records import Workflow

FIELDS = ("project", "flow", "job", "execution", "team")

DEFAULT_PATTERNS: dict[str, str] = {
    "project": r"^azkaban\.flow\.projectname:(.+)$",
    "flow": r"^(?:azkaban\.flow\.flowid|dag_id):(.+)$",
    "job": r"^(?:azkaban\.job\.id|task_id):(.+)$",
    "execution": r"^(?:azkaban\.flow\.execid|run_id):(.+)$|^(oozie-[0-9a-f]{32})$",
    "team": r"^team:(.+)$",
}


@dataclass(frozen=True)
class TagMapper:
    """Compiled patterns; ``apply`` is pure."""

    patterns: dict[str, re.Pattern[str]]

    @classmethod
    def from_settings(cls, configured: Mapping[str, str]) -> TagMapper:
        """The defaults overridden field by field by ``watch_tag_patterns``; bad ones refuse to start."""
        problems, compiled = [], {}
        for name, pattern in {**DEFAULT_PATTERNS, **configured}.items():
            if name not in FIELDS:
                problems.append(f"watch_tag_patterns: {name!r} is not one of {', '.join(FIELDS)}")
                continue
            if not pattern:
                continue  # an empty pattern switches a default off
            try:
                compiled[name] = re.compile(pattern)
            except re.error as exc:
                problems.append(f"watch_tag_patterns: {name} = {pattern!r} is not a regex ({exc})")
        if problems:
            raise ConfigError(problems)
        return cls(compiled)

    def apply(self, tags: Iterable[str]) -> tuple[Workflow, str | None]:
        """(workflow ids, team) found in ``tags``; the first tag that matches a field wins."""
        found: dict[str, str] = {}
        tags = list(tags)
        for name, pattern in self.patterns.items():
            for tag in tags:
                match = pattern.search(tag)
                if match is None:
                    continue
                value = next((g for g in match.groups() if g), None) if match.groups() else match.group(0)
                if value:
                    found[name] = value
                    break
        team = found.pop("team", None)
        return Workflow.from_dict(found), team

    def annotate(self, record: dict[str, Any], tags: Iterable[str]) -> dict[str, Any]:
        """``record`` with the ``team`` and ``workflow`` its tags give, where they give any."""
        workflow, team = self.apply(tags)
        if team:
            record["team"] = team
        if any(workflow.to_dict().values()):
            record["workflow"] = workflow.to_dict()
        return record
