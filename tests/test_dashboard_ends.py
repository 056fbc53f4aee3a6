"""Only failures count as failures on the dashboards: unsure ends and stalled applications are shown apart."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dashboard import queries
from sparktriage.records import AppInfo, Diagnosis
from sparktriage.status import ENDED, FAILED, KILLED, RUNNING, SUCCEEDED, UNKNOWN_END
from sparktriage.store import open_store

T0 = dt.datetime(2026, 3, 12, 10, tzinfo=dt.UTC)


def _save(store, n: int, status: str | None, notes: tuple[str, ...] = ()) -> str:  # noqa: ANN001
    app_id = f"application_1700000000000_{n:04d}"
    info = AppInfo(app_id=app_id, team="ads", started=T0.timestamp(), ended=T0.timestamp() + n, final_status=status)
    store.save(info, [], Diagnosis(app_id=app_id, category="executor_lost", domain="infra", confidence=0.9,
                                   source="rule", final_status=status, notes=notes))
    return app_id


def test_failure_counts_leave_out_unsure_ends_stalls_and_successes(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    failed = {_save(store, 1, FAILED), _save(store, 2, KILLED), _save(store, 3, None)}  # None: a row from before
    ended, quiet = _save(store, 4, ENDED), _save(store, 5, UNKNOWN_END)
    _save(store, 6, SUCCEEDED, ("the application succeeded with these errors logged",))
    running = _save(store, 7, RUNNING, ("provisional: still running, stalled: the driver has had no resources for "
                                        "10.0 min; the final diagnosis follows when it ends",))
    w = queries.Window(start=T0 - dt.timedelta(days=1), end=T0 + dt.timedelta(days=1))
    engine = store.engine
    assert int(queries.trend(engine, w)["n"].sum()) == 3
    assert set(queries.applications(engine, w)["app_id"]) == failed
    assert int(queries.teams(engine, w)["failures"].sum()) == 3
    apart = queries.unsure_ends(engine, w)
    assert dict(zip(apart["app_id"], apart["final_status"])) == {ended: ENDED, quiet: UNKNOWN_END}
    stuck = queries.stalled(engine)
    assert list(stuck["app_id"]) == [running] and stuck["why"][0].startswith("provisional: still running")
