"""Dashboard pages on 1 M stored diagnoses in SQLite (target: each page under 2 s after the first load).

For each page: its queries run uncached twice (cold, then with the database's
pages in memory), and the page itself rendered twice in Streamlit's AppTest
(the first load, then a rerun, which finds its queries in Streamlit's cache).
Default filters: the last 14 days with data. The seeded store is cached
(bench/seeded.py); seeding a million applications takes several minutes.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable

import sqlalchemy as sa

from bench.seeded import seeded
from dashboard import APP
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
    print(f"dashboard on SQLite, {stored:,} stored diagnoses ({first} .. {last}), default window (last 14 days):")
    print(f"  {'page':18s} {'queries, cold':>14s} {'queries, again':>15s} {'render, first':>14s} {'render, again':>14s}")
    renders = rendered(str(engine.url))
    for name, run in pages(engine, w).items():
        times = []
        for _ in range(2):
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
        first_render, again = renders.get(name, (float("nan"), float("nan")))
        print(f"  {name:18s} {times[0]:12.2f} s {times[1]:13.2f} s {first_render:12.2f} s {again:12.2f} s")
    print("  (target: each page under 2 s after the first load; pages cache their queries for a minute)")


def rendered(url: str) -> dict[str, tuple[float, float]]:
    """Each page run twice in Streamlit's AppTest: the first load and a rerun (its queries cached)."""
    from streamlit.testing.v1 import AppTest

    out = {}
    for name, path in (("Overview", None), ("Teams", "pages/teams.py"), ("Infra", "pages/infra.py"),
                       ("Explorer", "pages/explorer.py"), ("Quality", "pages/quality.py")):
        at = AppTest.from_file(str(APP), default_timeout=120)
        at.session_state["db"] = url
        times = []
        for _ in range(2):
            t0 = time.perf_counter()
            (at.switch_page(path) if path else at).run()
            times.append(time.perf_counter() - t0)
        out[name] = (times[0], times[1])
    return out


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
