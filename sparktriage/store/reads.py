"""The store's read side: current diagnoses joined to their applications, filtered by a window.

Shared by the dashboards (``dashboard/queries.py`` aggregates on top of it)
and the read API (``sparktriage/delivery/api.py``), so that a filter means the same
on a page and in a request. Only *current* diagnoses count
(``superseded IS NULL``); times are the applications' end times, in UTC.
Every filter reads the applications table, which carries its current
diagnosis's category and domain (``sql.make_current``): a list walks one of
its indexes, joining only the page's diagnoses; a summary never joins.
Only failures count as failures (``sparktriage.status``): an application that
ended with no known status, went quiet with no known end, succeeded (a note),
or is still running but stalled is listed only when asked for by status.
Listing pages by keyset (the last row's end time and id), never by offset,
so page 1,000 costs what page 1 does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from sparktriage.records import AppInfo, Workflow
from sparktriage.status import FAILURES
from sparktriage.store import schema as t

D, A = t.diagnoses, t.applications


@dataclass(frozen=True)
class Window:
    """The filters every page and request shares; ``end`` is exclusive.

    ``teams`` restricts to a set of teams (an API token's scope) on top of
    ``team``; None means every team.
    """

    start: dt.datetime
    end: dt.datetime
    team: str | None = None
    category: str | None = None
    user: str | None = None
    project: str | None = None
    domain: str | None = None
    teams: Collection[str] | None = None


def joined(query: sa.Select) -> sa.Select:
    """Join applications to their current diagnosis."""
    return query.select_from(D.join(A, sa.and_(A.c.app_id == D.c.app_id, A.c.attempt == D.c.attempt))).where(
        D.c.superseded.is_(None))


def failed() -> sa.ColumnElement[bool]:
    """The applications that count as failed (rows from before final statuses were known did)."""
    return sa.or_(A.c.final_status.is_(None), A.c.final_status.in_(FAILURES))


def current(query: sa.Select, w: Window, statuses: tuple[str, ...] | None = None) -> sa.Select:
    """Join applications to their current diagnosis, within the window and filters: the failed ones,
    or those whose status is in ``statuses``."""
    status = A.c.final_status.in_(statuses) if statuses else failed()
    query = joined(query).where(status, A.c.ended >= w.start, A.c.ended < w.end)
    return filtered(query, w)


def filtered(query: sa.Select, w: Window) -> sa.Select:
    """The window's filters but time and status, on the applications table alone (its copy of the current
    diagnosis's category and domain), so one of its indexes can serve them."""
    if w.team:
        query = query.where(A.c.team == w.team)
    if w.teams is not None:
        query = query.where(A.c.team.in_(sorted(w.teams)))
    if w.category:  # a top-level id matches its subcategories too
        query = query.where(A.c.category == w.category if "/" in w.category else A.c.top_category == w.category)
    if w.user:
        query = query.where(A.c.user == w.user)
    if w.project:
        query = query.where(A.c.wf_project == w.project)
    if w.domain:
        query = query.where(A.c.domain == w.domain)
    return query


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes: they are UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def app_info(row: Any) -> AppInfo:
    """The application of a row that holds the applications table's columns."""
    started, ended = utc(row["started"]), utc(row["ended"])
    return AppInfo(
        app_id=row["app_id"], attempt=row["attempt"], team=row["team"], user=row["user"], queue=row["queue"],
        workflow=Workflow(row["wf_project"], row["wf_flow"], row["wf_job"], row["wf_execution"]),
        started=None if started is None else started.timestamp(),
        ended=None if ended is None else ended.timestamp(), final_status=row["final_status"],
    )


_APP_COLUMNS = (A.c.team, A.c.user, A.c.queue, A.c.wf_project, A.c.wf_flow, A.c.wf_job, A.c.wf_execution,
                A.c.started, A.c.ended, A.c.final_status)
#: A page's position: the last row's (ended, app_id, attempt).
Key = tuple[dt.datetime, str, int]


def page(engine: sa.Engine, w: Window, *, after: Key | None, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` current diagnoses with their application columns, newest end first, after ``after``."""
    order = (A.c.ended, A.c.app_id, A.c.attempt)
    query = current(sa.select(D, *_APP_COLUMNS), w)
    if after is not None:
        query = query.where(sa.tuple_(*order) < sa.tuple_(*after))
    query = query.order_by(*(c.desc() for c in order)).limit(limit)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def application(engine: sa.Engine, app_id: str, teams: Collection[str] | None = None) -> list[dict[str, Any]]:
    """Every diagnosis of every attempt of ``app_id`` (current and superseded), newest first per attempt.

    With ``teams``, only attempts of those teams: to a team's token another
    team's application does not exist.
    """
    query = (sa.select(D, *_APP_COLUMNS).join(A, sa.and_(A.c.app_id == D.c.app_id, A.c.attempt == D.c.attempt))
             .where(D.c.app_id == app_id).order_by(D.c.attempt, D.c.id.desc()))
    if teams is not None:
        query = query.where(A.c.team.in_(sorted(teams)))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def counts(engine: sa.Engine, w: Window) -> list[tuple[str, str, int]]:
    """Failed applications in the window per (top-level category, domain), largest first.

    Counted from the applications' copy of their current diagnosis, so a week
    of a million-application store is one index-only scan, not a join.
    """
    n = sa.func.count().label("n")
    query = filtered(sa.select(A.c.top_category, A.c.domain, n), w).where(
        A.c.top_category.is_not(None), failed(), A.c.ended >= w.start, A.c.ended < w.end)
    query = query.group_by(A.c.top_category, A.c.domain).order_by(n.desc(), A.c.top_category)
    with engine.connect() as conn:
        return [(r.top_category, r.domain, r.n) for r in conn.execute(query)]
