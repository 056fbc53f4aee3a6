"""Seeded stores for the benchmarks, made once and kept: SQLite files under var/bench/, PostgreSQL databases.

Seeding runs the real core for every application (about 2-3 k per second
here), so a million-application store takes minutes: it is kept between runs.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import sqlalchemy as sa

from sparktriage.history.seed import seed_store

CACHE = Path("var/bench")
#: Weekends run at 45 %: 100 days hold about 84.3 weekday-equivalents.
DAYS, WEEKDAY_EQUIVALENTS = 100, 84.3
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


def _seed(url: str, apps: int) -> None:
    t0 = time.perf_counter()
    seed_store(url, days=DAYS, apps_per_day=round(apps / WEEKDAY_EQUIVALENTS), seed=7,
               end=dt.date(2026, 11, 20), labels=20)
    print(f"  (seeded {url} in {time.perf_counter() - t0:.0f} s)")


def seeded(apps: int) -> Path:
    path = CACHE / f"seeded-{apps}.db"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        _seed(f"sqlite:///{tmp}", apps)
        tmp.rename(path)
    return path


def seeded_pg(apps: int, base: int = 100_000) -> str:
    """A PostgreSQL database of ``apps`` seeded applications, kept between runs; its URL.

    Seeding runs the core for every application (a million took over an hour
    on this shared machine), so a ``base``-application history is seeded and
    then copied under new application ids (``..._c1``, ``..._c2``...) until it
    holds ``apps``: the same days, teams and mix, ``apps / base`` times as dense.
    """
    name = f"sparktriage_bench_{apps}"
    admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.execute(sa.text("select 1 from pg_database where datname = :n"), {"n": name}).first() is None:
                conn.execute(sa.text(f'drop database if exists "{name}_tmp" with (force)'))
                conn.execute(sa.text(f'create database "{name}_tmp"'))
                url = f"{PG_SERVER}/{name}_tmp"
                _seed(url, min(apps, base))
                _copy(url, apps // base - 1)
                conn.execute(sa.text(f'alter database "{name}_tmp" rename to "{name}"'))  # only once complete
    finally:
        admin.dispose()
    return f"{PG_SERVER}/{name}"


def _copy(url: str, copies: int) -> None:
    """Every application, with its events and diagnoses, ``copies`` more times under new ids."""
    from sparktriage.store import schema as t

    if copies < 1:
        return
    t0 = time.perf_counter()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for table in (t.applications, t.exception_events, t.diagnoses):
            names = [c.name for c in table.columns if c.name != "id"]
            values = ["app_id || '_c' || k" if n == "app_id" else "null" if n == "superseded_by" else f'"{n}"'
                      for n in names]
            conn.execute(sa.text(f"insert into {table.name} ({', '.join(chr(34) + n + chr(34) for n in names)}) "
                                 f"select {', '.join(values)} from {table.name}, generate_series(1, {copies}) k"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("vacuum analyze"))  # as autovacuum leaves a settled store: visibility map set
    engine.dispose()
    print(f"  (copied the history {copies} more times in {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    import sys

    apps = int(sys.argv[1])
    print(seeded_pg(apps) if sys.argv[2:] == ["pg"] else seeded(apps))
