"""The dashboards' questions, answered in SQL (no Streamlit here).

Every function aggregates in the database (GROUP BY, COUNT, LIMIT) and
returns a small pandas frame, so a page stays fast with millions of stored
diagnoses; the pages cache these frames. Only *current* diagnoses count
(``superseded IS NULL``): relabelled history shows what today's rules say.
Times are the applications' end times, in UTC.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa

from classifiers.masking import mask
from sparktriage.store import schema as t
from sparktriage.taxonomy import UNKNOWN

D, A, E = t.diagnoses, t.applications, t.exception_events
#: Categories the infra page follows per host and queue.
HOST_CATEGORIES = ("shuffle_fetch_failed", "executor_lost", "disk_full", "shuffle_auth_timeout", "network_error")


@dataclass(frozen=True)
class Window:
    """The filters every page shares; ``end`` is exclusive."""

    start: dt.datetime
    end: dt.datetime
    team: str | None = None
    category: str | None = None
    user: str | None = None
    project: str | None = None


def _day(engine: sa.Engine, column: Any) -> Any:
    return sa.func.date(column) if engine.dialect.name == "sqlite" else sa.cast(column, sa.Date)


def _current(query: sa.Select, w: Window) -> sa.Select:
    """Join applications to their current diagnosis, within the window and filters."""
    query = query.select_from(D.join(A, sa.and_(A.c.app_id == D.c.app_id, A.c.attempt == D.c.attempt))).where(
        D.c.superseded.is_(None), A.c.ended >= w.start, A.c.ended < w.end)
    if w.team:
        query = query.where(A.c.team == w.team)
    if w.category:
        query = query.where(sa.or_(D.c.top_category == w.category, D.c.category == w.category))
    if w.user:
        query = query.where(A.c.user == w.user)
    if w.project:
        query = query.where(A.c.wf_project == w.project)
    return query


def _frame(engine: sa.Engine, query: sa.Select) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(query)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def data_range(engine: sa.Engine) -> tuple[dt.date, dt.date] | None:
    """First and last day with a diagnosed application (the default window ends at the last)."""
    with engine.connect() as conn:
        low, high = conn.execute(sa.select(sa.func.min(A.c.ended), sa.func.max(A.c.ended))).one()
    if high is None:
        return None
    return (pd.Timestamp(low).date(), pd.Timestamp(high).date())


def daily(engine: sa.Engine, w: Window, by: str = "top_category") -> pd.DataFrame:
    """Failed applications per day and ``by`` (top_category, domain, source)."""
    key = D.c[by]
    day = _day(engine, A.c.ended).label("day")
    frame = _frame(engine, _current(sa.select(day, key.label("key"), sa.func.count().label("n")), w)
                   .group_by(day, key).order_by(day))
    frame["day"] = pd.to_datetime(frame["day"])
    return frame


def totals(engine: sa.Engine, w: Window, by: str = "top_category") -> pd.DataFrame:
    key = D.c[by]
    return _frame(engine, _current(sa.select(key.label("key"), sa.func.count().label("n")), w)
                  .group_by(key).order_by(sa.func.count().desc()))


def week_over_week(engine: sa.Engine, end: dt.datetime, team: str | None = None) -> pd.DataFrame:
    """Top categories in the 7 days before ``end`` against the 7 days before those."""
    week = dt.timedelta(days=7)
    this = totals(engine, Window(end - week, end, team)).rename(columns={"n": "this_week"})
    last = totals(engine, Window(end - 2 * week, end - week, team)).rename(columns={"n": "last_week"})
    frame = this.merge(last, on="key", how="outer").fillna(0)
    frame[["this_week", "last_week"]] = frame[["this_week", "last_week"]].astype(int)
    frame["change"] = frame["this_week"] - frame["last_week"]
    return frame.rename(columns={"key": "category"}).sort_values("this_week", ascending=False, ignore_index=True)


def teams(engine: sa.Engine, w: Window) -> pd.DataFrame:
    """Per team: failures, and how many were user, data, infra and platform causes."""
    cols = [sa.func.sum(sa.case((D.c.domain == d, 1), else_=0)).label(d) for d in ("user", "data", "infra", "platform")]
    frame = _frame(engine, _current(sa.select(A.c.team, sa.func.count().label("failures"), *cols), w)
                   .group_by(A.c.team).order_by(sa.func.count().desc()))
    for d in ("user", "data", "infra", "platform"):
        frame[d] = frame[d].astype(int)
    return frame


def failing_jobs(engine: sa.Engine, w: Window, limit: int = 15) -> pd.DataFrame:
    """The workflow jobs that fail most, with their most frequent category."""
    job = (A.c.wf_project, A.c.wf_flow, A.c.wf_job)
    counts = _frame(engine, _current(sa.select(*job, D.c.top_category, sa.func.count().label("n")), w)
                    .group_by(*job, D.c.top_category))
    if counts.empty:
        return pd.DataFrame(columns=["project", "flow", "job", "failures", "usual_cause"])
    counts = counts.rename(columns={"wf_project": "project", "wf_flow": "flow", "wf_job": "job"})
    keys = ["project", "flow", "job"]
    usual = counts.sort_values("n", ascending=False).drop_duplicates(keys)[[*keys, "top_category"]]
    out = counts.groupby(keys, as_index=False, dropna=False)["n"].sum().merge(usual, on=keys)
    out = out.rename(columns={"n": "failures", "top_category": "usual_cause"})
    return out.sort_values("failures", ascending=False, ignore_index=True).head(limit)


def spikes(frame: pd.DataFrame, window: int = 7, factor: float = 3.0, floor: int = 5) -> pd.DataFrame:
    """Days far above their own trailing median: ``daily`` rows with a ``spike`` flag.

    A day is a spike when its count is at least ``floor`` and more than
    ``factor`` times the median of the ``window`` days before it (the zero
    days included, so a rare category's first burst counts). The first
    ``window`` days have no baseline and are never flagged.
    """
    if frame.empty:
        return frame.assign(spike=pd.Series(dtype=bool), baseline=pd.Series(dtype=float))
    full = frame.pivot_table(index="day", columns="key", values="n", fill_value=0)
    full = full.reindex(pd.date_range(full.index.min(), full.index.max(), freq="D"), fill_value=0)
    baseline = full.shift(1).rolling(window, min_periods=window).median()  # NaN until a full week is known
    flags = (full >= floor) & baseline.notna() & (full > factor * baseline.clip(lower=1))
    out = full.stack().rename("n").to_frame()
    out["baseline"] = baseline.stack()
    out["spike"] = flags.stack()
    out = out.reset_index().rename(columns={"level_0": "day"})
    return out[out["n"] > 0].reset_index(drop=True)


def involved(engine: sa.Engine, w: Window, column: str, limit: int = 10) -> pd.DataFrame:
    """Hosts (from the events) or queues most involved in the infra categories that point at machines."""
    if column == "host":
        key = E.c.host
        query = sa.select(key.label("key"), sa.func.count(sa.distinct(E.c.app_id)).label("applications")).join_from(
            D, E, sa.and_(E.c.app_id == D.c.app_id, E.c.attempt == D.c.attempt))
        query = _current(query, w).where(key.is_not(None))
    else:
        key = A.c.queue
        query = _current(sa.select(key.label("key"), sa.func.count().label("applications")), w)
    query = query.where(D.c.top_category.in_(HOST_CATEGORIES)).group_by(key)
    return _frame(engine, query.order_by(sa.text("applications DESC")).limit(limit))


def applications(engine: sa.Engine, w: Window, limit: int = 200) -> pd.DataFrame:
    """The newest failed applications matching the filters (the Explorer's list)."""
    cols = (A.c.ended, A.c.app_id, A.c.attempt, A.c.team, A.c.user, A.c.wf_project, A.c.wf_flow, A.c.wf_job,
            D.c.category, D.c.source, D.c.rule_id, D.c.confidence)
    return _frame(engine, _current(sa.select(*cols), w).order_by(A.c.ended.desc()).limit(limit))


def application(engine: sa.Engine, app_id: str, attempt: int) -> dict[str, Any] | None:
    """One application's exceptions tab: its current diagnosis and the ones it superseded."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(D).where(D.c.app_id == app_id, D.c.attempt == attempt)
                            .order_by(D.c.id.desc())).mappings().all()
        app = conn.execute(sa.select(A).where(A.c.app_id == app_id, A.c.attempt == attempt)).mappings().first()
    current = [r for r in rows if r["superseded"] is None]
    if not current:
        return None
    return {"app": dict(app or {}), "diagnosis": dict(current[0]),
            "history": [dict(r) for r in rows if r["superseded"] is not None]}


def options(engine: sa.Engine, column: str) -> list[str]:
    """Distinct values for a filter (teams, users, projects)."""
    col = {"team": A.c.team, "user": A.c.user, "project": A.c.wf_project}[column]
    with engine.connect() as conn:
        return [v for (v,) in conn.execute(sa.select(col).where(col.is_not(None)).distinct().order_by(col))]


def confidence_histogram(engine: sa.Engine, w: Window) -> pd.DataFrame:
    bucket = sa.func.floor(D.c.confidence * 10).label("bucket")
    frame = _frame(engine, _current(sa.select(D.c.source, bucket, sa.func.count().label("n")), w)
                   .group_by(D.c.source, bucket))
    frame["confidence"] = (frame["bucket"].astype(float).clip(upper=9) / 10).round(1)
    return frame.groupby(["source", "confidence"], as_index=False)["n"].sum()


def rule_hits(engine: sa.Engine, w: Window, limit: int = 30) -> pd.DataFrame:
    query = _current(sa.select(D.c.rule_id, D.c.category, sa.func.count().label("applications")), w)
    return _frame(engine, query.where(D.c.rule_id.is_not(None)).group_by(D.c.rule_id, D.c.category)
                  .order_by(sa.func.count().desc()).limit(limit))


def unknown_templates(engine: sa.Engine, w: Window, limit: int = 20) -> pd.DataFrame:
    """What nothing classifies, grouped by exception class and masked message, with an example."""
    query = sa.select(E.c.exc_class, E.c.message, sa.func.count().label("n")).join_from(
        D, E, sa.and_(E.c.app_id == D.c.app_id, E.c.attempt == D.c.attempt))
    query = _current(query, w).where(D.c.category == UNKNOWN).group_by(E.c.exc_class, E.c.message)
    counts: Counter[tuple[str, str]] = Counter()
    example: dict[tuple[str, str], str] = {}
    with engine.connect() as conn:
        for exc_class, message, n in conn.execute(query.order_by(sa.text("n DESC")).limit(5000)):
            key = (exc_class or "", mask(message or "")[:200])
            counts[key] += n
            example.setdefault(key, message or "")
    rows = [{"exception": k[0], "template": k[1], "count": n, "example": example[k]}
            for k, n in counts.most_common(limit)]
    return pd.DataFrame(rows, columns=["exception", "template", "count", "example"])


def relabel_runs(engine: sa.Engine, limit: int = 20) -> pd.DataFrame:
    r = t.relabel_runs
    frame = _frame(engine, sa.select(r.c.id, r.c.who, r.c.started, r.c.finished, r.c.status, r.c.rule_pack_version,
                                     r.c.counts).order_by(r.c.id.desc()).limit(limit))
    frame["changed"] = [c.get("changed", 0) if isinstance(c, dict) else 0 for c in frame["counts"]]
    frame["scanned"] = [c.get("scanned", 0) if isinstance(c, dict) else 0 for c in frame["counts"]]
    return frame.drop(columns=["counts"])
