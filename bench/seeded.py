"""Seeded SQLite stores for the benchmarks, made once and cached under var/bench/.

Seeding runs the real core for every application (about 2-3 k per second
here), so a million-application store takes minutes: it is kept between runs.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from sparktriage.seed import seed_store

CACHE = Path("var/bench")
#: Weekends run at 45 %: 100 days hold about 84.3 weekday-equivalents.
DAYS, WEEKDAY_EQUIVALENTS = 100, 84.3


def seeded(apps: int) -> Path:
    path = CACHE / f"seeded-{apps}.db"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        t0 = time.perf_counter()
        seed_store(f"sqlite:///{tmp}", days=DAYS, apps_per_day=round(apps / WEEKDAY_EQUIVALENTS), seed=7,
                   end=dt.date(2026, 11, 20), labels=20)
        tmp.rename(path)
        print(f"  (seeded {path} in {time.perf_counter() - t0:.0f} s)")
    return path


if __name__ == "__main__":
    import sys

    print(seeded(int(sys.argv[1])))
