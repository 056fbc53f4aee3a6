"""The dashboards on a seeded store: the SQL aggregates against the rows, and every page in AppTest.

The expected numbers are computed here from the raw seeded rows with pandas,
independently of ``dashboard.queries``' SQL.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from dashboard import queries as q
from sparktriage.history.seed import UNKNOWN_TEXTS, seed_store

END = dt.date(2026, 11, 20)
APP = str(Path(q.__file__).resolve().parent / "app.py")


def _seed(url: str) -> str:
    seed_store(url, days=30, apps_per_day=40, seed=5, end=END, labels=5)
    return url


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _seed(f"sqlite:///{tmp_path_factory.mktemp('dash')}/d.db")


@pytest.fixture(scope="module")
def rows(sqlite_url: str) -> pd.DataFrame:
    """Every current diagnosis with its application, loaded whole (small on purpose)."""
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:
        frame = pd.read_sql("select a.app_id, a.attempt, a.team, a.user, a.queue, a.wf_project, a.wf_flow, a.wf_job, "
                            "a.wf_execution, a.started, a.ended, a.final_status, "  # the diagnosis's own columns below
                            "d.category, d.top_category, d.domain, d.source, d.rule_id from diagnoses d "
                            "join applications a on a.app_id = d.app_id and a.attempt = d.attempt "
                            "where d.superseded is null", conn)
    frame["ended"] = pd.to_datetime(frame["ended"], utc=True)
    return frame


def _window(days: int = 14, **filters) -> q.Window:
    end = dt.datetime.combine(END + dt.timedelta(days=1), dt.time(), dt.UTC)
    return q.Window(end - dt.timedelta(days=days), end, **filters)


def _in(rows: pd.DataFrame, w: q.Window) -> pd.DataFrame:
    return rows[(rows["ended"] >= w.start) & (rows["ended"] < w.end)]


def test_aggregates_match_the_rows(sqlite_url: str, rows: pd.DataFrame) -> None:
    engine, w = sa.create_engine(sqlite_url), _window()
    mine = _in(rows, w)
    every = q.trend(engine, w)
    assert int(every["n"].sum()) == len(mine)
    domains = mine["domain"].replace({"-": "unknown"}).value_counts().to_dict()
    assert dict(zip(*q.total(every, "domain").T.values)) == domains
    assert q.per_day(every, "top_category").groupby("key")["n"].sum().to_dict() == \
        mine["top_category"].value_counts().to_dict()
    teams = q.teams(engine, w).set_index("team")
    assert teams["failures"].to_dict() == mine["team"].value_counts().to_dict()
    assert (teams[["user", "data", "infra", "platform"]].sum(axis=1) <= teams["failures"]).all()
    week = q.week_over_week(every, w.end).set_index("category")
    this_week = _in(rows, _window(7))["top_category"].value_counts()
    assert week["this_week"][week["this_week"] > 0].to_dict() == this_week.to_dict()
    assert len(q.applications(engine, _window(30), limit=10_000)) == len(rows)
    one_team = sorted(rows["team"].unique())[0]
    assert len(q.applications(engine, _window(30, team=one_team), limit=10_000)) == (rows["team"] == one_team).sum()
    choices = q.options(engine, w)
    assert choices["team"] == sorted(mine["team"].unique()) and choices["user"] == sorted(mine["user"].unique())


def test_the_seeded_incident_is_a_spike_on_its_hosts(sqlite_url: str, rows: pd.DataFrame) -> None:
    engine, w = sa.create_engine(sqlite_url), _window(30)
    marked = q.spikes(q.per_day(q.trend(engine, w), "top_category"))
    incident_day = pd.Timestamp(END - dt.timedelta(days=8))
    flagged = marked[marked["spike"]]
    assert incident_day in set(flagged["day"]), "the seed's incident day stands out against its baseline"
    day = dt.datetime.combine(END - dt.timedelta(days=8), dt.time(), dt.UTC)
    hosts, _ = q.machines(engine, q.Window(day, day + dt.timedelta(days=1)))
    assert set(hosts["key"].head(3)) == {"node-017.dc1", "node-018.dc1", "node-019.dc1"}, \
        "on the incident day its hosts lead"
    hosts, queues = q.machines(engine, w)
    involved = rows[rows["top_category"].isin(q.HOST_CATEGORIES)]
    assert dict(zip(queues["key"], queues["applications"])) == involved["queue"].value_counts().to_dict()


def test_only_days_far_above_their_own_trailing_week_are_spikes() -> None:
    """Counts per day worked out by hand: ``a`` has a quiet week (median 3), a burst, then ordinary busy days."""
    day = [pd.Timestamp("2026-11-01") + pd.Timedelta(days=n) for n in range(11)]
    counts = {"a": [2, 3, 2, 4, 3, 2, 3, 20, 6, 10, 12]}
    rows = [(day[i], key, n) for key, ns in counts.items() for i, n in enumerate(ns)]
    rows += [(day[8], "b", 5), (day[9], "c", 4), (day[1], "d", 50)]
    marked = q.spikes(pd.DataFrame(rows, columns=["day", "key", "n"]))
    flags = {(r.day.day, r.key): r.spike for r in marked.itertuples()}
    assert flags == {
        # the first week has no baseline: never a spike, not even d's 50
        (1, "a"): False, (2, "a"): False, (2, "d"): False, (3, "a"): False, (4, "a"): False, (5, "a"): False,
        (6, "a"): False, (7, "a"): False,
        (8, "a"): True,  # 20 > 3 x 3
        (9, "a"): False,  # 6: at least 5, but not over 3 x 3
        (9, "b"): True,  # a rare key's first burst: its zeros are the baseline, clipped to 1; 5 is the floor
        (10, "a"): True,  # 10 > 3 x median(2, 4, 3, 2, 3, 20, 6) = 9
        (10, "c"): False,  # 4 > 3 x 1, but under the floor of 5
        (11, "a"): False,  # 12 = 3 x median(4, 3, 2, 3, 20, 6, 10): not over it
    }
    baselines = {(r.day.day, r.key): r.baseline for r in marked.itertuples() if r.baseline == r.baseline}
    assert baselines == {(8, "a"): 3, (9, "a"): 3, (9, "b"): 0, (10, "a"): 3, (10, "c"): 0, (11, "a"): 4}
    assert marked["n"].tolist() == [n for _, _, n in sorted(rows, key=lambda r: (r[0], r[1]))]
    empty = q.spikes(pd.DataFrame(columns=["day", "key", "n"]))
    assert empty.columns.tolist() == ["day", "key", "n", "spike", "baseline"] and empty.empty
    assert (empty["spike"].dtype, empty["baseline"].dtype) == (bool, float)


def test_days_without_any_failure_count_as_zero_in_the_baseline() -> None:
    """Four days with no row at all lower the trailing median to 0 (clipped to 1): 10 is then a spike;
    read as a week of 4s (the days that have rows), it would not be."""
    days = [pd.Timestamp("2026-11-01") + pd.Timedelta(days=n) for n in range(14)]
    counts = [4, 4, 4, 4, 4, 4, 4, 4, None, None, None, None, 4, 10]
    rows = [(day, "x", n) for day, n in zip(days, counts) if n is not None]
    marked = q.spikes(pd.DataFrame(rows, columns=["day", "key", "n"]))
    assert len(marked) == len(rows), "the empty days are filled for the baseline, not shown"
    last = marked.iloc[-1]
    assert (last["day"], last["baseline"], last["spike"]) == (days[-1], 0.0, True)
    assert not marked.iloc[-2]["spike"]  # 4 after four empty days: under the floor


def test_unknown_templates_and_quality(sqlite_url: str, rows: pd.DataFrame) -> None:
    engine, w = sa.create_engine(sqlite_url), _window(30)
    templates = q.unknown_templates(engine, w)
    unknown = rows[rows["category"] == "unknown"]
    with engine.connect() as conn:
        events = conn.execute(sa.text("select count(*) from exception_events e join diagnoses d on "
                                      "d.app_id = e.app_id and d.attempt = e.attempt "
                                      "where d.superseded is null and d.category = 'unknown'")).scalar_one()
    assert int(templates["count"].sum()) == events and len(unknown) > 0
    assert len(templates) <= len(UNKNOWN_TEXTS), "the seed's unknowns come from its few message formats"
    decided = q.decisions(engine, w)
    assert int(decided["n"].sum()) == len(rows)
    assert decided.groupby("source")["n"].sum().to_dict() == rows["source"].value_counts().to_dict()
    hits = q.rule_hits(decided, limit=1000)
    expected = rows.dropna(subset=["rule_id"]).groupby(["rule_id", "category"]).size().to_dict()
    assert dict(zip(zip(hits["rule_id"], hits["category"]), hits["applications"])) == expected


@pytest.mark.postgres
def test_postgresql_gives_the_same_answers(sqlite_url: str, empty_pg_url: str) -> None:
    pg = sa.create_engine(_seed(empty_pg_url))
    lite = sa.create_engine(sqlite_url)
    w = _window()

    def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
        cols = list(a.columns)
        pd.testing.assert_frame_equal(a.sort_values(cols).reset_index(drop=True),
                                      b.sort_values(cols).reset_index(drop=True), check_dtype=False)

    for name in ("trend", "teams", "decisions"):
        same(getattr(q, name)(lite, w), getattr(q, name)(pg, w))
    for left, right in zip(q.machines(lite, w, limit=1000), q.machines(pg, w, limit=1000)):
        same(left, right)
    assert q.options(lite, w) == q.options(pg, w)


def _page(url: str, page: str, **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["db"] = url
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    if page != "overview":
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_overview_page(sqlite_url: str, rows: pd.DataFrame) -> None:
    at = _page(sqlite_url, "overview")
    mine = _in(rows, _window())
    assert _metric(at, "Failed applications") == f"{len(mine):,}"
    assert _metric(at, "Left unknown") == f"{(mine['category'] == 'unknown').mean():.1%}"
    links = [link.label for link in at.get("page_link")]
    this_week = _in(rows, _window(7))["top_category"].value_counts()
    assert len(links) == min(10, len(this_week))
    assert sorted((this_week[c] for c in links), reverse=True) == this_week.tolist()[: len(links)], \
        "the links open the week's most frequent categories"


def test_teams_page(sqlite_url: str, rows: pd.DataFrame) -> None:
    at = _page(sqlite_url, "teams")
    table = at.dataframe[0].value
    mine = _in(rows, _window())
    assert dict(zip(table["Team"], table["Failed applications"])) == mine["team"].value_counts().to_dict()
    user = mine["domain"].isin(["user", "data"]).groupby(mine["team"]).mean() * 100
    assert dict(zip(table["Team"], table["User and data causes"].round(6))) == user.round(6).to_dict(), \
        "shares are percentages of each team's failures"
    one = _page(sqlite_url, "teams", team="payments")
    assert _metric(one, "Failed applications") == f"{(_in(rows, _window())['team'] == 'payments').sum():,}"


def test_infra_page(sqlite_url: str, rows: pd.DataFrame) -> None:
    at = _page(sqlite_url, "infra")
    mine = _in(rows, _window())
    assert _metric(at, "Infra and platform failures") == f"{mine['domain'].isin(['infra', 'platform']).sum():,}"
    assert int(_metric(at, "Spike days")) >= 1
    assert "node-018.dc1" in set(at.dataframe[-2].value["Host"])


def test_explorer_page_opens_an_application(sqlite_url: str, rows: pd.DataFrame) -> None:
    at = _page(sqlite_url, "explorer", category="executor_lost")
    listed = at.dataframe[0].value
    assert set(listed["Category"]) == {"executor_lost"}
    assert len(listed) == min(200, (_in(rows, _window())["top_category"] == "executor_lost").sum())
    assert at.header[0].value.startswith("executor_lost")
    assert at.code, "the evidence excerpts are shown"


def test_a_link_opens_its_application_whatever_the_window(sqlite_url: str, rows: pd.DataFrame) -> None:
    """The document's dashboard_url names one application; it may have ended long before the default window."""
    oldest = rows.sort_values("ended").iloc[0]
    assert oldest["ended"] < _window().start, "the oldest lies outside the default window"
    at = _page(sqlite_url, "explorer", app=f"{oldest['app_id']} #{oldest['attempt']}")
    assert at.selectbox(key="open_app").value == f"{oldest['app_id']} #{oldest['attempt']}"
    assert at.header[0].value.startswith(oldest["category"])


def test_quality_page(sqlite_url: str, rows: pd.DataFrame) -> None:
    at = _page(sqlite_url, "quality")
    mine = _in(rows, _window())
    for source, label in (("rule", "a rule"), ("model", "the model"), ("human", "a person"),
                          ("none", "nothing (left unknown)")):
        n = (mine["source"] == source).sum()
        assert _metric(at, f"Decided by {label}") == f"{n:,} ({n / len(mine):.1%})"
    assert (mine["source"] == "model").any() and (mine["source"] == "human").any(), \
        "the seed's history has model decisions and corrections in the window"


def test_a_correction_from_the_explorer_is_stored_and_shown(tmp_path: Path) -> None:
    url = _seed(f"sqlite:///{tmp_path}/c.db")
    at = _page(url, "explorer", category="executor_lost")
    app_id, _ = at.selectbox(key="open_app").value.rsplit(" #", 1)  # the application opened
    at.selectbox(key="correct_category").set_value("disk_full")
    at.text_input(key="correct_note").input("the executors died of full local disks")
    at.text_input(key="correct_author").input("ana")
    at.button[0].click().run()
    assert not at.exception
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(sa.text("select category, note, author from labels where app_id = :a"), {"a": app_id}).one()
        current = conn.execute(sa.text("select category, source from diagnoses where app_id = :a and superseded is null"),
                               {"a": app_id}).one()
    assert tuple(row) == ("disk_full", "the executors died of full local disks", "ana")
    assert tuple(current) == ("disk_full", "human")
