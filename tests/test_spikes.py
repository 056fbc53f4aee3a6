"""Spike alerts: a seeded history with an infra incident, replayed diagnosis by diagnosis as the worker saves
them, gives exactly one start and one end notification per spiking key at a loopback receiver, also with two
evaluators racing on one PostgreSQL store."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from examples.receiver import Receiver
from sparktriage.delivery.dispatcher import Dispatcher
from sparktriage.records import AppInfo, Diagnosis
from sparktriage.history.seed import INCIDENT, INCIDENT_HOSTS, generate, store_history
from sparktriage.settings import Settings
from sparktriage.delivery.spikes import ALERT_SCHEMA, SpikeRule, SpikeWatch, keys_of, notification
from sparktriage.store import MemoryStore, open_store
from sparktriage.store.base import Alert
from sparktriage.store.schema import spike_alerts
from tests.conftest import running_receiver

SECRET = "spike-secret"
DAYS, PER_DAY = 17, 150
SWEEP = dt.timedelta(minutes=10)


@pytest.fixture(scope="module")
def history() -> list[tuple]:
    """A seeded history whose incident (day DAYS-9) has a full week of baseline before it, in order of end."""
    return sorted(generate(DAYS, PER_DAY, seed=5, end=dt.date(2026, 11, 20)), key=lambda row: row[0].ended)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver(SECRET) as server:
        yield server


def _settings(receiver: Receiver, **changes: object) -> Settings:
    return Settings(alert_url=f"http://127.0.0.1:{receiver.server_port}/alerts", webhook_secret=SECRET,
                    spike_window=6 * 3600.0, spike_floor=10, webhook_backoff=0.01, **changes)


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


def _replay(store, watch: SpikeWatch, clock: Clock, rows: list[tuple], *, save: bool = True) -> None:
    """As the worker: save each diagnosis when its application ends, observe it; sweep every 10 minutes."""
    next_sweep = None
    for app, events, diagnosis in rows:
        clock.now = dt.datetime.fromtimestamp(app.ended, dt.UTC)
        if save:
            store.save(app, events, diagnosis)
        watch.observe(app, events, diagnosis)
        if next_sweep is None or clock.now >= next_sweep:
            watch.sweep()
            next_sweep = clock.now + SWEEP


def _deliver(store, settings: Settings) -> None:
    dispatcher = Dispatcher(store, settings)
    while asyncio.run(dispatcher.run_once()):
        pass


def _notifications(receiver: Receiver) -> Counter[tuple[str, str, str]]:
    bodies = [json.loads(body) for _, body, status in receiver.requests if status == 200]
    return Counter((b["kind"], b["key"], b["event"]) for b in bodies)


def _assert_one_start_and_end_per_key(got: Counter[tuple[str, str, str]]) -> None:
    keys = {(kind, key) for kind, key, _ in got}
    assert keys, "no spike was noticed"
    for kind, key in keys:
        assert got[(kind, key, "spike_started")] == 1 and got[(kind, key, "spike_ended")] == 1, (kind, key, got)
    categories = {key for kind, key in keys if kind == "category"}
    hosts = {key for kind, key in keys if kind == "host"}
    assert categories and categories <= set(INCIDENT)  # the incident's causes spiked, and nothing else
    assert hosts and hosts <= set(INCIDENT_HOSTS)


def test_an_incident_gives_one_start_and_one_end_per_key(tmp_path: Path, history: list[tuple],
                                                         receiver: Receiver) -> None:
    settings = _settings(receiver)
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    clock = Clock()
    watch = SpikeWatch(store, settings, clock=clock)
    _replay(store, watch, clock, history)
    _deliver(store, settings)
    got = _notifications(receiver)
    _assert_one_start_and_end_per_key(got)
    assert not store.open_alerts()
    incident_day = (history[-1][0].ended // 86400 - 8) * 86400
    for headers, body, _ in receiver.requests:  # started on the incident's day, and say so with their numbers
        doc = json.loads(body)
        assert headers["X-Sparktriage-Schema"] == ALERT_SCHEMA  # the outbox row kept what its body is
        if doc["event"] == "spike_started":
            started = dt.datetime.fromisoformat(doc["started"]).timestamp()
            assert incident_day <= started < incident_day + 86400
            assert doc["count"] > settings.spike_factor * max(doc["baseline"], 1) and doc["count"] >= settings.spike_floor


def test_two_evaluators_racing_on_one_store_send_each_notification_once(
        empty_pg_url: str, history: list[tuple], receiver: Receiver) -> None:
    """Two workers: each saves and observes half the applications (its partitions), in step; both sweep."""
    settings = _settings(receiver)
    stores = [open_store(empty_pg_url), open_store(empty_pg_url)]
    clocks = [Clock(), Clock()]
    watches = [SpikeWatch(s, settings, clock=c) for s, c in zip(stores, clocks)]
    chunk = 20  # applications between two evaluations: about three hours of this history
    step = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for start in range(0, len(history), chunk):
                rows = history[start:start + chunk]
                mine = [r for i, r in enumerate(rows) if (start + i) % 2 == n]
                for app, events, diagnosis in mine:
                    stores[n].save(app, events, diagnosis)
                step.wait()  # both halves stored: now both evaluate the same moment
                clocks[n].now = dt.datetime.fromtimestamp(rows[-1][0].ended, dt.UTC)
                for app, events, diagnosis in mine:  # each worker observes what it diagnosed...
                    watches[n].observe(app, events, diagnosis)
                watches[n].sweep()  # ...and both sweep
                step.wait()
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)
            step.abort()

    threads = [threading.Thread(target=worker, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    _deliver(stores[0], settings)
    _assert_one_start_and_end_per_key(_notifications(receiver))


def test_no_alert_before_a_full_baseline_exists(history: list[tuple], receiver: Receiver) -> None:
    """The first week has nothing to compare with: a burst there is not a spike (as on the Infra page)."""
    store = MemoryStore()
    clock = Clock()
    first_week = [r for r in history if r[0].ended < history[0][0].ended + 7 * 86400]
    burst = [r for r in first_week if r[2].category in INCIDENT][:30]
    watch = SpikeWatch(store, _settings(receiver), clock=clock)
    for app, events, diagnosis in first_week + [(_later(app, first_week[-1][0]), e, d) for app, e, d in burst]:
        clock.now = dt.datetime.fromtimestamp(app.ended, dt.UTC)
        store.save(app, events, diagnosis)
        watch.observe(app, events, diagnosis)
    assert store.alerts == []


def _later(app: AppInfo, last: AppInfo) -> AppInfo:
    from dataclasses import replace

    return replace(app, app_id=app.app_id + "_burst", ended=last.ended + 60)


def _alerts_with_defaults(tmp_path: Path, **history: object) -> list[tuple]:
    """A seeded history of 600 failures a day in SQLite, watched as the worker would with the default rule:
    each diagnosis observed as its application ends, a sweep every 10 minutes. Every alert raised."""
    rows = sorted(generate(17, 600, seed=5, end=dt.date(2026, 11, 20), **history), key=lambda r: r[0].ended)
    url = f"sqlite:///{tmp_path}/steady.db"
    store_history(url, rows, labels=0)  # the whole history at once: a check counts only windows before its now
    store, clock = open_store(url), Clock()
    _replay(store, SpikeWatch(store, Settings(alert_url="http://127.0.0.1:9/alerts"), clock=clock), clock, rows,
            save=False)
    s = spike_alerts
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(s.c.kind, s.c.key, s.c.started))]


@pytest.mark.slow
def test_the_default_rule_is_quiet_on_ordinary_days(tmp_path: Path) -> None:
    """Ordinary days at a busy platform's rate: counts of a few per hour wander to three times their usual
    by chance every day; the defaults must not page anyone for that."""
    assert _alerts_with_defaults(tmp_path, with_incident=False, with_upgrade=False) == []


@pytest.mark.slow
def test_the_default_rule_flags_the_seeded_incident(tmp_path: Path) -> None:
    alerts = _alerts_with_defaults(tmp_path, with_upgrade=False)
    incident_day = dt.date(2026, 11, 20) - dt.timedelta(days=8)
    assert alerts and all(started.date() == incident_day for *_, started in alerts)
    flagged = {kind: {key for k, key, _ in alerts if k == kind} for kind in ("category", "host", "queue")}
    assert flagged["category"] and flagged["category"] <= set(INCIDENT)
    assert flagged["host"] and flagged["host"] <= set(INCIDENT_HOSTS)  # queues: the incident's failures are in all


@pytest.mark.parametrize("fmt", ["json", "slack"])
def test_alert_requests_say_what_their_body_is(receiver: Receiver, fmt: str) -> None:
    """A burst after a week of history: its start and end reach the receiver signed, an alert document headed
    as one (not as a diagnosis), a Slack message with no schema header of ours."""
    store, clock = MemoryStore(), Clock()
    settings = _settings(receiver, alert_format=fmt)
    watch = SpikeWatch(store, settings, clock=clock)
    start = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    apps = [AppInfo(app_id="before", ended=start.timestamp(), final_status="FAILED")]
    apps += [AppInfo(app_id=f"burst_{n}", ended=(start + dt.timedelta(days=8, minutes=n)).timestamp(),
                     final_status="FAILED") for n in range(2 * settings.spike_floor)]
    for app in apps:
        clock.now = dt.datetime.fromtimestamp(app.ended, dt.UTC)
        lost = Diagnosis(app_id=app.app_id, category="executor_lost", domain="infra", confidence=0.9, source="rule")
        store.save(app, [], lost)
        watch.observe(app, [], lost)
    clock.now += 3 * dt.timedelta(seconds=settings.spike_window)
    watch.sweep()
    _deliver(store, settings)
    assert [status for *_, status in receiver.requests] == [200, 200]  # signed as every delivery: verified
    for headers, body, _ in receiver.requests:
        schema = {k.lower(): v for k, v in headers.items()}.get("x-sparktriage-schema")
        doc = json.loads(body)
        if fmt == "json":
            assert schema == doc["schema_version"] == ALERT_SCHEMA
        else:
            assert schema is None and set(doc) == {"text"}
    texts = [json.loads(body).get("event") or json.loads(body)["text"] for _, body, _ in receiver.requests]
    assert len(set(texts)) == 2  # a start and an end


def test_the_memory_twin_claims_like_the_store() -> None:
    store = MemoryStore()
    at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    notify = lambda alert: [("http://127.0.0.1:9/a", notification(alert, SpikeRule(), slack=False))]  # noqa: E731
    first = store.open_alert("host", "h1", at=at, count=9, baseline=1, quiet_since=at, notify=notify)
    assert first is not None
    assert store.open_alert("host", "h1", at=at, count=9, baseline=1, quiet_since=at, notify=notify) is None
    assert store.close_alert(first, at=at + SWEEP, count=1, notify=notify) is not None
    assert store.close_alert(first, at=at + SWEEP, count=1, notify=notify) is None
    # just closed: not reopened within the quiet period, reopened after it
    assert store.open_alert("host", "h1", at=at + SWEEP, count=9, baseline=1, quiet_since=at, notify=notify) is None
    assert store.open_alert("host", "h1", at=at + 3 * SWEEP, count=9, baseline=1, quiet_since=at + 2 * SWEEP,
                            notify=notify) is not None
    assert [d["key"] for d in store.deliveries] == ["spike/1/start", "spike/1/end", "spike/2/start"]


def test_a_slack_body_reads_as_one_line_of_text() -> None:
    alert = Alert(3, "category", "executor_lost", dt.datetime(2026, 11, 12, 13, tzinfo=dt.UTC), 42, 3.0)
    body = json.loads(notification(alert, SpikeRule(), slack=True))
    assert set(body) == {"text"} and "executor_lost" in body["text"] and "42" in body["text"]
    ended = Alert(**{**alert.__dict__, "ended": alert.started + SWEEP, "end_count": 2})
    assert "over" in json.loads(notification(ended, SpikeRule(), slack=True))["text"]


def test_the_keys_of_a_diagnosis() -> None:
    from sparktriage.records import ExceptionEvent

    app = AppInfo(app_id="a", queue="prod")
    events = [ExceptionEvent(app_id="a", text="x", host="node-1"), ExceptionEvent(app_id="a", text="y", host=None)]
    lost = Diagnosis(app_id="a", category="executor_lost", domain="infra", confidence=0.9, source="rule")
    oom = Diagnosis(app_id="a", category="executor_oom", domain="user", confidence=0.9, source="rule")
    throttled = Diagnosis(app_id="a", category="storage_throttled", domain="infra", confidence=0.9, source="rule")
    assert keys_of(app, events, lost) == {("category", "executor_lost"), ("host", "node-1"), ("queue", "prod")}
    assert keys_of(app, events, oom) == set()  # a user cause is the team's, not the on-call's
    assert keys_of(app, events, throttled) == {("category", "storage_throttled")}


def test_the_infra_page_lists_open_and_past_alerts(tmp_path: Path) -> None:
    from streamlit.testing.v1 import AppTest

    from dashboard import APP
    from sparktriage.history.seed import seed_store

    url = f"sqlite:///{tmp_path}/infra.db"
    seed_store(url, days=2, apps_per_day=10, seed=1, labels=0)
    store = open_store(url)
    at = dt.datetime(2026, 11, 12, 10, tzinfo=dt.UTC)
    opened = [store.open_alert("host", h, at=at, count=12, baseline=1, quiet_since=at, notify=lambda a: [])
              for h in ("node-017.dc1", "node-018.dc1")]
    store.close_alert(opened[0], at=at + SWEEP, count=2, notify=lambda a: [])
    page = AppTest.from_file(str(APP), default_timeout=60)
    page.session_state["db"] = url
    page.run()
    page.switch_page("pages/infra.py").run()
    assert not page.exception, [e.value for e in page.exception]
    table = next(d.value for d in page.dataframe if "State" in d.value.columns)
    assert list(zip(table["State"], table["What"])) == [("open", "node-018.dc1"), ("ended", "node-017.dc1")]
