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


def _store(tmp_path: Path):  # noqa: ANN202
    return open_store(f"sqlite:///{tmp_path}/s.db")


STALL_NOTE = ("provisional: still running, stalled: the driver has had no resources for 10.0 min; the final "
              "diagnosis follows when it ends")


def test_failure_counts_leave_out_unsure_ends_stalls_and_successes(tmp_path: Path) -> None:
    store = _store(tmp_path)
    failed = {_save(store, 1, FAILED), _save(store, 2, KILLED), _save(store, 3, None)}  # None: a row from before
    ended, quiet = _save(store, 4, ENDED), _save(store, 5, UNKNOWN_END)
    _save(store, 6, SUCCEEDED, ("the application succeeded with these errors logged",))
    running = _save(store, 7, RUNNING, (STALL_NOTE,))
    w = queries.Window(start=T0 - dt.timedelta(days=1), end=T0 + dt.timedelta(days=1))
    engine = store.engine
    assert int(queries.trend(engine, w)["n"].sum()) == 3
    assert set(queries.applications(engine, w)["app_id"]) == failed
    assert int(queries.teams(engine, w)["failures"].sum()) == 3
    apart = queries.unsure_ends(engine, w)
    assert dict(zip(apart["app_id"], apart["final_status"])) == {ended: ENDED, quiet: UNKNOWN_END}
    stuck = queries.stalled(engine)
    assert list(stuck["app_id"]) == [running] and stuck["why"][0].startswith("provisional: still running")


def test_the_overview_and_the_explorer_show_them_apart(tmp_path: Path) -> None:
    from tests.test_dashboard import _page

    store = _store(tmp_path)
    _save(store, 1, FAILED)
    ended, running = _save(store, 4, ENDED), _save(store, 7, RUNNING, (STALL_NOTE,))
    url = f"sqlite:///{tmp_path}/s.db"
    overview = _page(url, "overview")
    assert next(m.value for m in overview.metric if m.label == "Failed applications") == "1"
    (stuck,) = [t.value for t in overview.dataframe if "Why" in t.value.columns]
    assert list(stuck["Application"]) == [running] and stuck["Why"][0] == STALL_NOTE
    explorer = _page(url, "explorer")
    shown = {tuple(t.value["Application"]) for t in explorer.dataframe if "Application" in t.value.columns}
    assert {(running,), (ended,)} <= shown and ("application_1700000000000_0001",) in shown
