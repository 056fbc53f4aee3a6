"""The dashboards' questions, answered in SQL (no Streamlit here).

Every function aggregates in the database (GROUP BY, COUNT, LIMIT) and
returns a small pandas frame, so a page stays fast with millions of stored
diagnoses; the pages cache these frames. Only *current* diagnoses count
(``superseded IS NULL``): relabelled history shows what today's rules say.
Times are the applications' end times, in UTC. Only failures count as
failures (``sparktriage.status``): an application that ended with no known
status, went quiet with no known end, or is still running but stalled is
shown apart (``unsure_ends``, ``stalled``), never in the failure counts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pandas as pd
import sqlalchemy as sa

from classifiers.templates import group
from sparktriage.delivery.spikes import HOST_CATEGORIES
from sparktriage.status import RUNNING, UNSURE
from sparktriage.store import schema as t
from sparktriage.store.reads import Window, current, joined
from sparktriage.taxonomy import UNKNOWN

D, A, E = t.diagnoses, t.applications, t.exception_events


def _day(engine: sa.Engine, column: Any) -> Any:
    return sa.func.date(column) if engine.dialect.name == "sqlite" else sa.cast(column, sa.Date)


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


def trend(engine: sa.Engine, w: Window) -> pd.DataFrame:
    """Failed applications per day, category, domain and source: the one query most pages derive from."""
    day = _day(engine, A.c.ended).label("day")
    keys = (D.c.top_category, D.c.domain, D.c.source)
    frame = _frame(engine, current(sa.select(day, *keys, sa.func.count().label("n")), w).group_by(day, *keys))
    frame["day"] = pd.to_datetime(frame["day"])
    frame["domain"] = frame["domain"].replace({"-": UNKNOWN})
    return frame


def per_day(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """``trend`` rows summed per day and ``key`` (columns day, key, n)."""
    return frame.groupby(["day", key], as_index=False)["n"].sum().rename(columns={key: "key"}).sort_values("day")


def total(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """``trend`` rows summed per ``key``, largest first (columns key, n)."""
    out = frame.groupby(key, as_index=False)["n"].sum().rename(columns={key: "key"})
    return out.sort_values("n", ascending=False, ignore_index=True)


def since(frame: pd.DataFrame, start: dt.datetime) -> pd.DataFrame:
    return frame[frame["day"] >= pd.Timestamp(start.date())]


def week_over_week(frame: pd.DataFrame, end: dt.datetime) -> pd.DataFrame:
    """Categories in the 7 days before ``end`` against the 7 before those (``frame``: a ``trend`` covering both)."""
    last_day = pd.Timestamp(end.date())
    this = frame[(frame["day"] >= last_day - pd.Timedelta(days=7)) & (frame["day"] < last_day)]
    last = frame[(frame["day"] >= last_day - pd.Timedelta(days=14)) & (frame["day"] < last_day - pd.Timedelta(days=7))]
    out = total(this, "top_category").rename(columns={"n": "this_week"}).merge(
        total(last, "top_category").rename(columns={"n": "last_week"}), on="key", how="outer").fillna(0)
    out[["this_week", "last_week"]] = out[["this_week", "last_week"]].astype(int)
    out["change"] = out["this_week"] - out["last_week"]
    return out.rename(columns={"key": "category"}).sort_values(["this_week", "category"], ascending=[False, True],
                                                             ignore_index=True)


def teams(engine: sa.Engine, w: Window) -> pd.DataFrame:
    """Per team: failures, and how many were user, data, infra and platform causes."""
    cols = [sa.func.sum(sa.case((D.c.domain == d, 1), else_=0)).label(d) for d in ("user", "data", "infra", "platform")]
    frame = _frame(engine, current(sa.select(A.c.team, sa.func.count().label("failures"), *cols), w)
                   .group_by(A.c.team).order_by(sa.func.count().desc()))
    for d in ("user", "data", "infra", "platform"):
        frame[d] = frame[d].astype(int)
    return frame


def failing_jobs(engine: sa.Engine, w: Window, limit: int = 15) -> pd.DataFrame:
    """The workflow jobs that fail most, with their most frequent category."""
    job = (A.c.wf_project, A.c.wf_flow, A.c.wf_job)
    counts = _frame(engine, current(sa.select(*job, D.c.top_category, sa.func.count().label("n")), w)
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


def _unindexed(column: Any) -> Any:
    """``column`` as an expression no index matches: the planner then starts from the time window's
    index instead of scanning every diagnosis of a category over all of history."""
    return sa.func.coalesce(column, "")


def machines(engine: sa.Engine, w: Window, limit: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The hosts (from the events) and queues most involved in the categories that point at machines.

    Both are counted in the database: an application counts once per host it
    had an exception on, and once for its queue.
    """
    involved = current(sa.select(A.c.app_id, A.c.attempt, A.c.queue), w).where(
        _unindexed(D.c.top_category).in_(HOST_CATEGORIES)).subquery()
    on_host = sa.select(E.c.app_id, E.c.attempt, E.c.host).distinct().join_from(
        involved, E, sa.and_(E.c.app_id == involved.c.app_id, E.c.attempt == involved.c.attempt)).where(
        E.c.host.is_not(None)).subquery()

    def top(column: Any) -> pd.DataFrame:
        n = sa.func.count().label("applications")
        return _frame(engine, sa.select(column.label("key"), n).group_by(column)
                      .order_by(n.desc(), column).limit(limit))
    return top(on_host.c.host), top(involved.c.queue)


def applications(engine: sa.Engine, w: Window, limit: int = 200) -> pd.DataFrame:
    """The newest failed applications matching the filters (the Explorer's list)."""
    cols = (A.c.ended, A.c.app_id, A.c.attempt, A.c.team, A.c.user, A.c.wf_project, A.c.wf_flow, A.c.wf_job,
            D.c.category, D.c.source, D.c.rule_id, D.c.confidence)
    return _frame(engine, current(sa.select(*cols), w).order_by(A.c.ended.desc()).limit(limit))


def unsure_ends(engine: sa.Engine, w: Window, limit: int = 200) -> pd.DataFrame:
    """Applications that ended with no known status or went quiet with no known end, and left
    exceptions: shown apart, never counted as failed (their diagnosis says what they logged)."""
    cols = (A.c.ended, A.c.app_id, A.c.attempt, A.c.team, A.c.final_status, D.c.category, D.c.source)
    return _frame(engine, current(sa.select(*cols), w, UNSURE).order_by(A.c.ended.desc()).limit(limit))


#: The columns of ``stalled`` and ``unsure_ends`` in words (dashboard.common.table).
STALLED_HEADERS = {"noticed": "Noticed (UTC)", "app_id": "Application", "attempt": "Attempt", "team": "Team",
                   "user": "User", "category": "Category so far", "why": "Why"}
UNSURE_HEADERS = {"ended": "Ended (UTC)", "app_id": "Application", "attempt": "Attempt", "team": "Team",
                  "final_status": "End", "category": "Category", "source": "Decided by"}


def stalled(engine: sa.Engine, limit: int = 100) -> pd.DataFrame:
    """Applications still running but stalled: their current diagnosis is the early, provisional one
    (whatever the time window: they are running now). ``why`` is its note: what stalled, for how long."""
    cols = (D.c.created.label("noticed"), A.c.app_id, A.c.attempt, A.c.team, A.c.user, D.c.category, D.c.notes)
    frame = _frame(engine, joined(sa.select(*cols)).where(A.c.final_status == RUNNING)
                   .order_by(D.c.created.desc()).limit(limit))
    frame["why"] = [next((note for note in notes or [] if note.startswith("provisional")), "")
                    for notes in frame.pop("notes")]
    return frame


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


def options(engine: sa.Engine, w: Window) -> dict[str, list[str]]:
    """The teams, users and projects with failures in the window (the Explorer's filter choices)."""
    cols = (A.c.team, A.c.user, A.c.wf_project)
    rows = _frame(engine, current(sa.select(*cols).distinct(), replace(w, team=None, user=None, project=None)))
    return {name: sorted(rows[col.name].dropna().unique().tolist()) for name, col in zip(("team", "user", "project"), cols)}


def decisions(engine: sa.Engine, w: Window) -> pd.DataFrame:
    """Applications per source, rule, category and confidence decile (the Quality page derives from it)."""
    bucket = sa.func.floor(D.c.confidence * 10).label("bucket")
    keys = (D.c.source, D.c.rule_id, D.c.category)
    frame = _frame(engine, current(sa.select(*keys, bucket, sa.func.count().label("n")), w).group_by(*keys, bucket))
    frame["confidence"] = (frame["bucket"].astype(float).clip(upper=9) / 10).round(1)
    return frame.drop(columns=["bucket"])


def rule_hits(frame: pd.DataFrame, limit: int = 30) -> pd.DataFrame:
    hits = frame.dropna(subset=["rule_id"]).groupby(["rule_id", "category"], as_index=False)["n"].sum()
    hits = hits.rename(columns={"n": "applications"})
    return hits.sort_values(["applications", "rule_id"], ascending=[False, True], ignore_index=True).head(limit)


def unknown_templates(engine: sa.Engine, w: Window, limit: int = 20) -> pd.DataFrame:
    """What nothing classifies: exceptions of unknown applications as Drain templates, with an example."""
    query = sa.select(E.c.exc_class, E.c.message, sa.func.count().label("n")).join_from(
        D, E, sa.and_(E.c.app_id == D.c.app_id, E.c.attempt == D.c.attempt))
    query = current(query, w).where(D.c.category == UNKNOWN).group_by(E.c.exc_class, E.c.message)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(sa.text("n DESC")).limit(5000)).all()
    found = [{"template": g.template, "count": g.count, "example": g.example} for g in group(rows)[:limit]]
    return pd.DataFrame(found, columns=["template", "count", "example"])


def relabel_runs(engine: sa.Engine, limit: int = 20) -> pd.DataFrame:
    r = t.relabel_runs
    frame = _frame(engine, sa.select(r.c.id, r.c.who, r.c.started, r.c.finished, r.c.status, r.c.rule_pack_version,
                                     r.c.counts).order_by(r.c.id.desc()).limit(limit))
    frame["changed"] = [c.get("changed", 0) if isinstance(c, dict) else 0 for c in frame["counts"]]
    frame["scanned"] = [c.get("scanned", 0) if isinstance(c, dict) else 0 for c in frame["counts"]]
    return frame.drop(columns=["counts"])


def sources(engine: sa.Engine) -> dict[str, int]:
    """Current diagnoses per deciding source over the whole store, whatever the window
    (human corrections are few and may all lie outside it)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(D.c.source, sa.func.count()).where(D.c.superseded.is_(None))
                            .group_by(D.c.source)).all()
    return {source: int(n) for source, n in rows}


def spike_alerts(engine: sa.Engine, limit: int = 50) -> pd.DataFrame:
    """The spike alerts the worker raised (``sparktriage.delivery.spikes``): open ones first, then the newest."""
    s = t.spike_alerts
    frame = _frame(engine, sa.select(s.c.kind, s.c.key, s.c.started, s.c.ended, s.c.count, s.c.baseline,
                                     s.c.end_count).order_by(s.c.ended.is_not(None), s.c.started.desc()).limit(limit))
    frame.insert(0, "state", ["open" if pd.isna(e) else "ended" for e in frame["ended"]])
    return frame
