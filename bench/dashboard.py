"""Dashboard pages on 1 M stored diagnoses in SQLite: the time of each page's queries (target < 2 s).

Each page's queries run uncached, as on a first load with the default
filters (the last 14 days with data); Streamlit then caches them for a
minute, so a page shown again costs nothing. The seeded store is cached
(bench/seeded.py); seeding a million applications takes several minutes.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable

import sqlalchemy as sa

from bench.seeded import seeded
from dashboard import queries as q


def pages(engine: sa.Engine, w: q.Window) -> dict[str, Callable[[], object]]:
    """What each page asks the store with its default filters (see dashboard/pages/)."""
    history = q.Window(w.start - dt.timedelta(days=7), w.end)
    team = q.Window(w.start, w.end, team="ads")

    def explorer() -> None:
        q.options(engine, w)
        first = q.applications(engine, w).iloc[0]
        q.application(engine, first["app_id"], int(first["attempt"]))

    return {
        "Overview": lambda: q.trend(engine, w),
        "Teams": lambda: q.teams(engine, w),
        "Teams (one team)": lambda: (q.teams(engine, team), q.trend(engine, team), q.failing_jobs(engine, team)),
        "Infra": lambda: (q.spikes(q.per_day(q.trend(engine, history), "top_category")), q.machines(engine, w)),
        "Explorer": explorer,
        "Quality": lambda: (q.decisions(engine, w), q.unknown_templates(engine, w), q.relabel_runs(engine)),
    }


def main(apps: int = 1_000_000) -> None:
    from sparktriage.store import open_store

    engine = open_store(f"sqlite:///{seeded(apps)}").engine  # migrates a store seeded before new indexes
    with engine.connect() as conn:
        stored = conn.execute(sa.text("select count(*) from diagnoses")).scalar_one()
    first, last = q.data_range(engine)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), dt.UTC)
    w = q.Window(end - dt.timedelta(days=14), end)
    print(f"dashboard queries on SQLite, {stored:,} stored diagnoses ({first} .. {last}), last 14 days:")
    for name, run in pages(engine, w).items():
        t0 = time.perf_counter()
        run()
        print(f"  {name:18s} {time.perf_counter() - t0:6.2f} s  (target < 2 s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
