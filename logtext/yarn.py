"""YARN naming and layout: container ids, container log paths, aggregated logs.

Both the envelope parser (a shipper tailing ``.../container_.../stderr``) and
``extract_events`` (a whole ``yarn logs -applicationId`` dump) need to turn
YARN names into an application id, an attempt and a role, so that knowledge
lives here once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from logtext.pastes import unpaste
from logtext.roles import role_from_loggers

# container_[e<epoch>_]<cluster ts>_<app id>_<attempt>_<container number>
CONTAINER_RE = re.compile(r"container_(?:e(\d+)_)?(\d+)_(\d+)_(\d+)_(\d+)")
APPLICATION_RE = re.compile(r"application_(\d+)_(\d+)")

# Header of one section in ``yarn logs`` output (Hadoop 2.x and 3.x spellings).
_SECTION_CONTAINER = re.compile(r"^Container: (container_\S+) on (\S+)\s*$")
_SECTION_LOGTYPE = re.compile(r"^LogType:\s*(\S+)\s*$")
_SECTION_CONTENTS = re.compile(r"^Log ?Contents:\s*$")
_SECTION_END = re.compile(r"^End of LogType:\s*(\S+)")
_PORT = re.compile(r"[_:]\d+$")  # "host_8041" (Hadoop 2) or "host:8041" (Hadoop 3)
AGGREGATED_RE = re.compile(r"^Container: container_\S+ on \S+\s*$", re.MULTILINE)
UNKNOWN_LOGTYPE = "unknown"  # a section whose LogType: line is missing


@dataclass(frozen=True, slots=True)
class ContainerId:
    """The parts of a YARN container id that say whose log it is."""

    container_id: str
    app_id: str
    attempt: int
    number: int

    @property
    def role(self) -> str:
        """Container 1 of an attempt is the ApplicationMaster, which holds the
        Spark driver in cluster mode; every other container is an executor."""
        return "driver" if self.number == 1 else "executor"


def parse_container_id(text: str | None) -> ContainerId | None:
    """The first YARN container id in ``text`` (an id, a path, a pod name), or None."""
    if not text:
        return None
    m = CONTAINER_RE.search(text)
    if m is None:
        return None
    _epoch, cluster_ts, app, attempt, number = m.groups()
    return ContainerId(
        container_id=m.group(0),
        app_id=f"application_{cluster_ts}_{app}",
        attempt=int(attempt),
        number=int(number),
    )


def app_id_from_path(path: str | None) -> str | None:
    """The application id named in a YARN log path such as
    ``/var/log/hadoop-yarn/containers/application_1_2/container_.../stderr``."""
    if not path:
        return None
    m = APPLICATION_RE.search(path)
    if m is not None:
        return m.group(0)
    cid = parse_container_id(path)
    return cid.app_id if cid else None


@dataclass(frozen=True, slots=True)
class AggregatedSection:
    """One (container, log type) section of an aggregated YARN log."""

    container_id: str
    host: str | None
    logtype: str
    text: str


def is_aggregated(text: str) -> bool:
    """Whether ``text`` looks like ``yarn logs`` output (a ``Container: ... on ...``
    header near the top and ``LogType:`` sections)."""
    m = AGGREGATED_RE.search(text, 0, 4096)
    return m is not None and "LogType:" in text[m.end() : m.end() + 4096]


def split_yarn_aggregated(text: str) -> list[AggregatedSection]:
    """Split ``yarn logs`` output into its (container, log type) sections.

    Lines are taken from ``LogContents:`` up to ``End of LogType:``; when the
    end marker is missing (a truncated dump) the section runs to the next
    ``Container:`` or ``LogType:`` header, so no content line is dropped.

    A section whose ``LogType:`` line is missing (a dump cut or edited by hand,
    a header line lost in a copy) is kept with the log type ``unknown``: the
    log type only names the file (stderr, stdout, syslog), while the container
    header, which is there, says whose lines they are, so they are still that
    container's evidence and a user expects its error to be read, not dropped.
    A log type names one section only: the next section does not inherit it.
    """
    sections: list[AggregatedSection] = []
    container: str | None = None
    host: str | None = None
    logtype: str | None = None
    body: list[str] | None = None

    def close() -> None:
        nonlocal body, logtype
        if body is not None and container is not None:
            sections.append(AggregatedSection(container, host, logtype or UNKNOWN_LOGTYPE, "\n".join(body)))
            logtype = None
        body = None

    for line in text.split("\n"):
        line = line.rstrip("\r")
        if body is not None:
            end = _SECTION_END.match(line)
            if end is not None:
                close()
                continue
            if _SECTION_CONTAINER.match(line) is None and _SECTION_LOGTYPE.match(line) is None:
                body.append(line)
                continue
            close()
        m = _SECTION_CONTAINER.match(line)
        if m is not None:
            container, host, logtype = m.group(1), _PORT.sub("", m.group(2)), None
            continue
        m = _SECTION_LOGTYPE.match(line)
        if m is not None:
            logtype = m.group(1)
            continue
        if _SECTION_CONTENTS.match(line) is not None and container is not None:
            body = []
    close()
    return sections


def sections(text: str, *, attempt: int, container_id: str | None, role: str,
             host: str | None) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each container log in ``text`` with where it comes from (attempt,
    container, role, host): the sections of a ``yarn logs`` dump, each with its
    own container id and role (container 1 = driver), else ``text`` itself. A log whose role
    nothing names gets the one its loggers say (``logtext.roles``). A pasted excerpt first loses the marks of
    its paste (``logtext.pastes``); a log file is read as it is."""
    text = unpaste(text)
    if not is_aggregated(text):
        yield text, dict(attempt=attempt, container_id=container_id, role=role_from_loggers(text, role), host=host)
        return
    for section in split_yarn_aggregated(text):
        cid = parse_container_id(section.container_id)
        yield section.text, dict(attempt=cid.attempt if cid else attempt, container_id=section.container_id,
                                 role=cid.role if cid else role_from_loggers(section.text, role), host=section.host)
