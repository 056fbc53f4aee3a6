"""``dashboard.queries`` on a small store built by hand through the store's own API.

Fourteen applications, each placed to test one rule of the queries: the
window's exclusive end, failures against successes, unsure and stalled ends,
a sub-category, a correction that supersedes a machine diagnosis, hosts and
queues of the host categories, an event with no host. Every expected figure
below is worked out by hand from ``_APPS``, not computed by the code under
test. Fast (an in-memory SQLite store), so ``make mutate`` runs it per mutant;
``test_dashboard.py`` checks the same queries against a seeded store and
PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from dashboard import queries as q
from sparktriage.records import AppInfo, Diagnosis, ExceptionEvent, Workflow
from sparktriage.store import schema as t
from sparktriage.store.sql import SqlStore, open_store
from sparktriage.taxonomy import domain_of

UTC = dt.UTC
START, END = dt.datetime(2026, 11, 1, tzinfo=UTC), dt.datetime(2026, 11, 15, tzinfo=UTC)
NO_JOB = (None, None, None)


def _at(day: int, hour: int = 12, month: int = 11) -> float:
    return dt.datetime(2026, month, day, hour, tzinfo=UTC).timestamp()


# app_id[#attempt]: team, user, queue, (project, flow, job), ended, final status, category, source, rule,
# confidence, hosts of its exception events
_APPS = {
    "a1": ("pay", "ana", "q9", ("p1", "f1", "j1"), _at(3, 10), "FAILED", "executor_lost", "rule", "r.lost", 0.95,
           ["hz", "h2", "hz", None]),
    "a1#2": ("pay", "ana", "q9", ("p1", "f1", "j1"), _at(8), "FAILED", "executor_lost", "rule", "r.lost", 0.9,
             ["hz"]),  # the same application's second attempt, on the same host
    "a2": ("pay", "bob", "q9", ("p1", "f1", "j1"), _at(3, 12), "FAILED", "executor_lost", "rule", "r.lost", 0.9,
           ["hz"]),  # corrected to disk_full below
    "a3": ("ads", "cy", "q2", ("p2", "f2", "j2"), _at(4), "KILLED", "driver_oom", "model", None, 0.55, ["h3"]),
    "a4": ("ads", "cy", "q2", ("p1", "f1", "j1"), _at(5), None, "unknown", "none", None, 0.2, ["h4", "h4", "h4"]),
    "a4#2": ("ads", "cy", "q2", ("p1", "f1", "j1"), _at(5, 20), "SUCCEEDED", "unknown", "none", None, 0.1, ["h4"]),
    "a5": ("pay", "ana", "q9", ("p1", "f1", "j1"), _at(6), "SUCCEEDED", "executor_lost", "rule", "r.lost", 0.9,
           ["h9"]),
    "a6": ("ads", "dee", "q2", NO_JOB, _at(7), "ENDED", "network_error", "rule", "r.net", 0.8, ["h7"]),
    "a7": ("ads", "eve", "q3", NO_JOB, None, "RUNNING", "executor_oom", "rule", "r.oom", 0.7, []),
    "a8": ("pay", "fay", "q9", ("p3", "f3", "j3"), _at(20, month=10), "FAILED", "disk_full", "rule", "r.disk", 0.99,
           ["h5"]),  # corrected twice below
    "a9": ("pay", "gus", "q9", ("p4", "f1", "j1"), _at(15, 0), "FAILED", "disk_full", "rule", "r.disk", 0.99,
           ["h5"]),
    "a10": ("data", "hal", "q4", NO_JOB, _at(6), "FAILED", "executor_oom/gc_overhead", "rule", "r.gc", 0.85, ["h6"]),
    "a11": ("ads", "ida", "q2", ("p2", "f2", "j2"), _at(12), "FAILED", "shuffle_fetch_failed", "rule", "r.fetch",
            0.9, ["h2"]),
    "a11#2": ("ads", "ida", "q2", ("p2", "f2", "j2"), _at(13), "SUCCEEDED", "unknown", "none", None, 0.1,
              ["hq"]),  # its first attempt is a host category's, this one is not
    "a12": ("pay", "ana", "q9", ("p1", "f1", "j1"), _at(10), "FAILED", "executor_lost", "rule", "r.lost", 0.9,
            ["hz"]),
    "a13": ("data", "cy", "q2", ("p2", "f2", "j2"), _at(11), "FAILED", "driver_oom", "model", None, 0.6, ["h3"]),
    "a14": ("ads", "jo", "q2", ("p5", "f5", "j5"), _at(25, month=10), "FAILED", "unknown", "none", None, 0.1, ["h8"]),
    "a15": ("ads", "kim", "q2", NO_JOB, _at(9), "UNKNOWN_END", "executor_lost", "rule", "r.lost", 0.6, []),
    "a16": ("ads", "lee", "q3", NO_JOB, None, "RUNNING", "executor_oom", "rule", "r.oom", 0.7, []),
}
STALLED_WHY = "provisional: no progress for 30 minutes"
NOTES = {"a7": ("seen before", STALLED_WHY), "a16": ("seen before",)}
MESSAGES = {  # (exception class, message) of the events of unknown applications; "m" for the others
    "a4": [("java.io.IOException", "boom at offset 17"), ("java.io.IOException", "boom at offset 42"),
           ("java.lang.IllegalStateException", "boom at offset 17")],
    "a4#2": [("java.io.IOException", "boom at offset 99")],
    "a14": [("java.io.IOException", "something else entirely")],
}


def _save(store: SqlStore, apps: dict[str, tuple]) -> None:
    for key, (team, user, queue, job, ended, status, category, source, rule, confidence, hosts) in apps.items():
        app_id, _, attempt = key.partition("#")
        app = AppInfo(app_id, int(attempt or 1), team=team, user=user, queue=queue,
                      workflow=Workflow(*job, execution="x1"), started=None if ended is None else ended - 600,
                      ended=ended, final_status=status)
        messages = MESSAGES.get(key, [("java.io.IOException", "m")] * len(hosts))
        events = [ExceptionEvent(app_id, f"{cls}: {m}", attempt=app.attempt, exc_class=cls, message=m, host=host,
                                 line=n + 1) for n, ((cls, m), host) in enumerate(zip(messages, hosts))]
        diagnosis = Diagnosis(app_id, category, "-" if category == "unknown" else domain_of(category), confidence,
                              source, attempt=app.attempt, rule_id=rule, notes=NOTES.get(key, ("a note",)))
        store.save(app, events, diagnosis)


def _build(store: SqlStore) -> None:
    _save(store, _APPS)
    store.label("a2", 1, "disk_full", note="full disks", author="ana")  # supersedes a2's executor_lost
    store.label("a8", 1, "network_error", note=None, author=None)
    store.label("a8", 1, "disk_full", note="no, the disks after all", author="bob")
    day = dt.datetime(2026, 11, 3, tzinfo=UTC)
    for kind, key, start, count, baseline, end in (("category", "executor_lost", 0, 9, 2.0, (1, 1)),
                                                   ("host", "hz", 2, 6, 1.0, None),
                                                   ("queue", "q2", 3, 5, 1.5, (4, 2))):
        alert = store.open_alert(kind, key, at=day + dt.timedelta(days=start), count=count, baseline=baseline,
                                 quiet_since=day, notify=lambda _: ())
        assert alert is not None
        if end:
            store.close_alert(alert, at=day + dt.timedelta(days=end[0]), count=end[1], notify=lambda _: ())
    started = dt.datetime(2026, 11, 14, tzinfo=UTC)
    with store.engine.begin() as conn:
        conn.execute(sa.insert(t.relabel_runs), [
            {"who": "ana", "started": started, "status": "done", "counts": {"scanned": 10, "changed": 2}},
            {"who": "bob", "started": started, "status": "running", "counts": None},
            {"who": "cat", "started": started, "status": "done", "counts": {"matrix": {}}},
        ])


@pytest.fixture(scope="module")
def engine() -> sa.Engine:
    store = open_store("sqlite://")
    _build(store)
    return store.engine


def _w(**filters: str) -> q.Window:
    return q.Window(START, END, **filters)


def test_data_range_spans_every_ended_application(engine: sa.Engine) -> None:
    assert q.data_range(engine) == (dt.date(2026, 10, 20), dt.date(2026, 11, 15))
    assert q.data_range(open_store("sqlite://").engine) is None


def test_trend_counts_current_failures_in_the_window(engine: sa.Engine) -> None:
    trend = q.trend(engine, _w())
    rows = {(r.day.day, r.top_category, r.domain, r.source): r.n for r in trend.itertuples()}
    assert rows == {
        (3, "executor_lost", "infra", "rule"): 1,  # a1; a2's executor_lost was corrected (superseded)
        (3, "disk_full", "infra", "human"): 1,  # a2's correction
        (4, "driver_oom", "user", "model"): 1,
        (5, "unknown", "unknown", "none"): 1,  # no final status counts as failed; "-" reads unknown
        (6, "executor_oom", "user", "rule"): 1,  # a10's sub-category at its top level; a5 succeeded
        (8, "executor_lost", "infra", "rule"): 1,  # a1's second attempt
        (10, "executor_lost", "infra", "rule"): 1,
        (11, "driver_oom", "user", "model"): 1,
        (12, "shuffle_fetch_failed", "infra", "rule"): 1,
    }  # a9 ended exactly at the window's (exclusive) end, a8 and a14 before it; the others did not fail
    assert pd.api.types.is_datetime64_any_dtype(trend["day"])
    assert set(trend.columns) == {"day", "top_category", "domain", "source", "n"}
    for filters, n in (({"team": "ads"}, 3), ({"category": "executor_oom/gc_overhead"}, 1),
                       ({"category": "executor_oom"}, 1), ({"domain": "infra"}, 5), ({"user": "cy"}, 3),
                       ({"project": "p2"}, 3), ({"team": "ads", "user": "cy"}, 2)):
        assert q.trend(engine, _w(**filters))["n"].sum() == n, filters


def test_sums_per_day_and_per_key(engine: sa.Engine) -> None:
    frame = q.trend(engine, _w())
    days = q.per_day(frame, "domain")
    assert list(days.columns) == ["day", "key", "n"]
    assert [(r.day.day, r.key, r.n) for r in days.itertuples()] == [
        (3, "infra", 2), (4, "user", 1), (5, "unknown", 1), (6, "user", 1), (8, "infra", 1), (10, "infra", 1),
        (11, "user", 1), (12, "infra", 1)]
    totals = q.total(frame, "domain")
    assert list(totals.columns) == ["key", "n"] and list(totals.index) == [0, 1, 2]
    assert list(zip(totals["key"], totals["n"])) == [("infra", 5), ("user", 3), ("unknown", 1)]
    later = q.since(frame, dt.datetime(2026, 11, 5, 23, tzinfo=UTC))
    assert sorted(later["day"].dt.day) == [5, 6, 8, 10, 11, 12], "since counts whole days from the start's date"


def test_week_over_week_compares_the_two_weeks_before_the_end(engine: sa.Engine) -> None:
    frame = q.trend(engine, _w())
    week = q.week_over_week(frame, dt.datetime(2026, 11, 13, 8, tzinfo=UTC))
    # this week: Nov 6..12; last week: Oct 30..Nov 5; most this week first, then by name
    assert week.to_dict("list") == {
        "category": ["executor_lost", "driver_oom", "executor_oom", "shuffle_fetch_failed", "disk_full", "unknown"],
        "this_week": [2, 1, 1, 1, 0, 0],
        "last_week": [1, 1, 0, 0, 1, 1],
        "change": [1, 0, 1, 1, -1, -1],
    }
    assert list(week.index) == list(range(6))
    assert week["this_week"].dtype == int and week["last_week"].dtype == int
    edge = q.week_over_week(frame, dt.datetime(2026, 11, 10, tzinfo=UTC))  # Nov 3..9 against Oct 27..Nov 2
    assert dict(zip(edge["category"], edge["this_week"])) == {
        "executor_lost": 2, "disk_full": 1, "driver_oom": 1, "executor_oom": 1, "unknown": 1}
    assert edge["last_week"].sum() == 0
    later = q.week_over_week(frame, dt.datetime(2026, 11, 17, tzinfo=UTC))  # Nov 10..16 against Nov 3..9
    assert dict(zip(later["category"], zip(later["this_week"], later["last_week"]))) == {
        "driver_oom": (1, 1), "executor_lost": (1, 2), "shuffle_fetch_failed": (1, 0), "disk_full": (0, 1),
        "executor_oom": (0, 1), "unknown": (0, 1)}


def test_a_week_holds_its_first_day_and_not_the_day_it_ends_on() -> None:
    day = [pd.Timestamp("2026-11-01") + pd.Timedelta(days=n) for n in range(16)]
    frame = pd.DataFrame([(day[0], "a", 1), (day[1], "b", 1), (day[7], "c", 1), (day[8], "d", 1),
                          (day[14], "e", 1), (day[15], "f", 1)], columns=["day", "top_category", "n"])
    week = q.week_over_week(frame, dt.datetime(2026, 11, 16, 9, tzinfo=UTC))  # Nov 9..15 against Nov 2..8
    assert list(zip(week["category"], week["this_week"], week["last_week"])) == [
        ("d", 1, 0), ("e", 1, 0), ("b", 0, 1), ("c", 0, 1)]  # a: 15 days before the end; f: the end's own day


def test_teams_split_failures_by_domain(engine: sa.Engine) -> None:
    teams = q.teams(engine, _w())
    assert teams.to_dict("list") == {
        "team": ["pay", "ads", "data"], "failures": [4, 3, 2],
        "user": [0, 1, 2], "data": [0, 0, 0], "infra": [4, 1, 0], "platform": [0, 0, 0],
    }
    assert all(teams[d].dtype == int for d in ("user", "data", "infra", "platform"))


def test_failing_jobs_with_their_usual_cause(engine: sa.Engine) -> None:
    jobs = q.failing_jobs(engine, _w())
    assert list(jobs.columns) == ["project", "flow", "job", "failures", "usual_cause"]
    assert [tuple(None if pd.isna(v) else v for v in row) for row in jobs.itertuples(index=False)] == [
        ("p1", "f1", "j1", 5, "executor_lost"),  # a1 (both attempts), a12 executor_lost; a2 disk_full; a4 unknown
        ("p2", "f2", "j2", 3, "driver_oom"),  # a3, a13 driver_oom; a11 shuffle
        (None, None, None, 1, "executor_oom"),  # a10 ran outside any workflow: still listed
    ]
    assert len(q.failing_jobs(engine, _w(), limit=2)) == 2
    none = q.failing_jobs(engine, _w(team="nobody"))
    assert none.empty and list(none.columns) == ["project", "flow", "job", "failures", "usual_cause"]


def test_a_job_s_usual_cause_is_its_most_frequent_one() -> None:
    """The most frequent cause is neither the first nor the last stored; the job that sorts first fails least."""
    store = open_store("sqlite://")
    job = ("pB", "f", "j")
    _save(store, {f"b{n}": ("t", "u", "q", job, _at(3 + n), "FAILED", category, "rule", None, 0.9, [])
                  for n, category in enumerate(["network_error", "executor_lost", "executor_lost", "disk_full"])}
          | {"c1": ("t", "u", "q", ("pA", "f", "j"), _at(9), "FAILED", "disk_full", "rule", None, 0.9, [])})
    jobs = q.failing_jobs(store.engine, _w())
    assert jobs[["project", "failures", "usual_cause"]].to_dict("list") == {
        "project": ["pB", "pA"], "failures": [4, 1], "usual_cause": ["executor_lost", "disk_full"]}
    assert list(jobs.index) == [0, 1]


def test_machines_count_each_application_attempt_once_per_host_and_queue(engine: sa.Engine) -> None:
    hosts, queues = q.machines(engine, _w())
    # host categories in the window: a1 (hz twice, h2, an event with no host), a1#2 (hz), a2 (hz), a11 (h2),
    # a12 (hz); not a11#2 (succeeded, on hq); the most involved first, not the first by name
    assert hosts.to_dict("list") == {"key": ["hz", "h2"], "applications": [4, 2]}
    assert queues.to_dict("list") == {"key": ["q9", "q2"], "applications": [4, 1]}
    hosts, queues = q.machines(engine, _w(), limit=1)
    assert hosts["key"].tolist() == ["hz"] and queues["key"].tolist() == ["q9"]
    hosts, _ = q.machines(engine, _w(team="ads"))
    assert hosts.to_dict("list") == {"key": ["h2"], "applications": [1]}


def test_applications_newest_first(engine: sa.Engine) -> None:
    apps = q.applications(engine, _w())
    assert list(zip(apps["app_id"], apps["attempt"])) == [
        ("a11", 1), ("a13", 1), ("a12", 1), ("a1", 2), ("a10", 1), ("a4", 1), ("a3", 1), ("a2", 1), ("a1", 1)]
    assert list(apps.columns) == ["ended", "app_id", "attempt", "team", "user", "wf_project", "wf_flow", "wf_job",
                                  "category", "source", "rule_id", "confidence"]
    first = apps.iloc[0]
    assert (first["team"], first["user"], first["wf_project"], first["wf_flow"], first["wf_job"], first["category"],
            first["source"], first["rule_id"], first["confidence"]) == \
        ("ads", "ida", "p2", "f2", "j2", "shuffle_fetch_failed", "rule", "r.fetch", 0.9)
    assert q.applications(engine, _w(), limit=2)["app_id"].tolist() == ["a11", "a13"]
    nothing = q.applications(engine, _w(team="nobody"))
    assert nothing.empty and list(nothing.columns) == list(apps.columns), "an empty answer keeps its columns"


def test_unsure_ends_and_stalled_are_shown_apart_newest_first(engine: sa.Engine) -> None:
    unsure = q.unsure_ends(engine, _w())
    assert list(unsure.columns) == list(q.UNSURE_HEADERS)
    assert [tuple(r)[1:] for r in unsure.itertuples(index=False)] == [
        ("a15", 1, "ads", "UNKNOWN_END", "executor_lost", "rule"), ("a6", 1, "ads", "ENDED", "network_error", "rule")]
    assert q.unsure_ends(engine, _w(), limit=1)["app_id"].tolist() == ["a15"]
    stalled = q.stalled(engine)
    assert list(stalled.columns) == list(q.STALLED_HEADERS)
    assert [tuple(r)[1:] for r in stalled.itertuples(index=False)] == [
        ("a16", 1, "ads", "lee", "executor_oom", ""),  # noticed last; no provisional note: no reason to show
        ("a7", 1, "ads", "eve", "executor_oom", STALLED_WHY)]
    assert q.stalled(engine, limit=1)["app_id"].tolist() == ["a16"]


def test_one_application_with_its_history(engine: sa.Engine) -> None:
    found = q.application(engine, "a2", 1)
    assert found is not None
    assert (found["app"]["team"], found["app"]["user"]) == ("pay", "bob")
    assert (found["diagnosis"]["category"], found["diagnosis"]["source"]) == ("disk_full", "human")
    assert [(h["category"], h["source"]) for h in found["history"]] == [("executor_lost", "rule")]
    twice = q.application(engine, "a8", 1)
    assert twice["diagnosis"]["category"] == "disk_full"
    assert [(h["category"], h["source"]) for h in twice["history"]] == [("network_error", "human"),
                                                                         ("disk_full", "rule")], "newest first"
    second = q.application(engine, "a1", 2)
    assert (second["app"]["attempt"], second["diagnosis"]["attempt"], second["history"]) == (2, 2, [])
    assert q.application(engine, "a1", 3) is None and q.application(engine, "nope", 1) is None


def test_options_ignore_the_filters_they_choose_between(engine: sa.Engine) -> None:
    every = {"team": ["ads", "data", "pay"], "user": ["ana", "bob", "cy", "hal", "ida"], "project": ["p1", "p2"]}
    assert q.options(engine, _w()) == every
    assert q.options(engine, _w(team="pay", user="ana", project="p1")) == every
    assert q.options(engine, _w(category="driver_oom")) == {"team": ["ads", "data"], "user": ["cy"],
                                                            "project": ["p2"]}


def test_decisions_per_confidence_decile_and_rule_hits(engine: sa.Engine) -> None:
    decided = q.decisions(engine, _w())
    assert set(decided.columns) == {"source", "rule_id", "category", "confidence", "n"}
    rows = {(r.source, None if pd.isna(r.rule_id) else r.rule_id, r.category, r.confidence): r.n
            for r in decided.itertuples()}
    assert rows == {
        ("rule", "r.lost", "executor_lost", 0.9): 3,  # 0.95, 0.9 and 0.9: one decile
        ("human", None, "disk_full", 0.9): 1,  # a certainty of 1.0 joins the top decile
        ("model", None, "driver_oom", 0.5): 1,
        ("model", None, "driver_oom", 0.6): 1,
        ("none", None, "unknown", 0.2): 1,
        ("rule", "r.gc", "executor_oom/gc_overhead", 0.8): 1,
        ("rule", "r.fetch", "shuffle_fetch_failed", 0.9): 1,
    }
    hits = q.rule_hits(decided)
    assert hits.to_dict("list") == {"rule_id": ["r.lost", "r.fetch", "r.gc"],
                                    "category": ["executor_lost", "shuffle_fetch_failed", "executor_oom/gc_overhead"],
                                    "applications": [3, 1, 1]}
    assert list(hits.index) == [0, 1, 2]
    assert q.rule_hits(decided, limit=1)["rule_id"].tolist() == ["r.lost"]


def test_unknown_templates_group_the_window_s_unknown_exceptions(engine: sa.Engine) -> None:
    templates = q.unknown_templates(engine, _w())
    assert list(templates.columns) == ["template", "count", "example"]
    # a4's IOExceptions differ only in a number; its IllegalStateException is its own template;
    # a4's second attempt (succeeded) and a14 (before the window) are not counted
    assert templates["count"].tolist() == [2, 1]
    assert ["IOException" in x and "boom at offset" in x for x in templates["template"]] == [True, False]
    assert templates["example"].iloc[0] in {"java.io.IOException: boom at offset 17",
                                            "java.io.IOException: boom at offset 42"}
    assert templates["example"].iloc[1] == "java.lang.IllegalStateException: boom at offset 17"
    wider = q.unknown_templates(engine, q.Window(dt.datetime(2026, 10, 1, tzinfo=UTC), END))
    assert wider["count"].tolist() == [2, 1, 1]
    assert q.unknown_templates(engine, q.Window(dt.datetime(2026, 10, 1, tzinfo=UTC), END), limit=1)["count"] \
        .tolist() == [2]
    none = q.unknown_templates(engine, _w(team="pay"))
    assert none.empty and list(none.columns) == ["template", "count", "example"]


def test_relabel_runs_newest_first_with_their_counts(engine: sa.Engine) -> None:
    runs = q.relabel_runs(engine)
    assert list(runs.columns) == ["id", "who", "started", "finished", "status", "rule_pack_version", "changed",
                                  "scanned"]
    assert runs[["who", "status", "changed", "scanned"]].to_dict("list") == {
        "who": ["cat", "bob", "ana"], "status": ["done", "running", "done"], "changed": [0, 0, 2],
        "scanned": [0, 0, 10]}  # counts without the figures, or none at all, read as 0
    assert q.relabel_runs(engine, limit=1)["who"].tolist() == ["cat"]


def test_sources_count_every_current_diagnosis(engine: sa.Engine) -> None:
    assert q.sources(engine) == {"rule": 11, "human": 2, "model": 2, "none": 4}


def test_spike_alerts_open_first_then_the_newest(engine: sa.Engine) -> None:
    alerts = q.spike_alerts(engine)
    assert list(alerts.columns) == ["state", "kind", "key", "started", "ended", "count", "baseline", "end_count"]
    assert [(r.state, r.kind, r.key, r.count, r.baseline) for r in alerts.itertuples()] == [
        ("open", "host", "hz", 6, 1.0), ("ended", "queue", "q2", 5, 1.5), ("ended", "category", "executor_lost", 9, 2.0)]
    assert pd.isna(alerts["end_count"].iloc[0]) and alerts["end_count"].tolist()[1:] == [2, 1]
    assert pd.isna(alerts["ended"].iloc[0])
    assert q.spike_alerts(engine, limit=1)["key"].tolist() == ["hz"]


def test_spikes_keep_single_failures_and_clip_an_empty_baseline_to_one() -> None:
    """With a floor of 1, a rare key's 2 over a week of zeros is not over 3 x 1; its busy neighbour's 1s show."""
    day = [pd.Timestamp("2026-11-01") + pd.Timedelta(days=n) for n in range(9)]
    rows = [(d, "a", 1) for d in day[:8]] + [(day[8], "a", 2), (day[8], "r", 2), (day[8], "s", 4)]
    marked = q.spikes(pd.DataFrame(rows, columns=["day", "key", "n"]), floor=1)
    assert list(marked.columns) == ["day", "key", "n", "baseline", "spike"]
    assert list(marked.index) == list(range(len(rows)))
    assert [(r.day.day, r.key, r.n, r.spike) for r in marked.itertuples()] == \
        [(n, "a", 1, False) for n in range(1, 9)] + [(9, "a", 2, False), (9, "r", 2, False), (9, "s", 4, True)]
