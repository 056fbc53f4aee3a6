"""Spike alerts through the real worker: two ``sparktriage worker`` processes on one PostgreSQL store and a
Tansu broker, a burst of shuffle failures, and a loopback receiver that gets one start and one end."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter
from pathlib import Path

import pytest

from examples.receiver import Receiver
from sparktriage.tools.broker import Broker
from sparktriage.history.seed import seed_store
from tests.test_worker_integration import FAILURES, Worker, _app_logs, _interleaved

pytestmark = [pytest.mark.broker, pytest.mark.postgres, pytest.mark.slow]
SECRET = "spike-secret"
WINDOW = 40  # seconds: the burst leaves the window soon after it stops


def _events(receiver: Receiver) -> Counter[tuple[str, str, str]]:
    with receiver.lock:
        bodies = [json.loads(body) for _, body, status in receiver.requests if status == 200]
    return Counter((b["kind"], b["key"], b["event"]) for b in bodies)


def test_two_workers_send_one_start_and_one_end_of_a_burst(broker: Broker, empty_pg_url: str,
                                                           tmp_path: Path) -> None:
    seed_store(empty_pg_url, days=9, apps_per_day=4, seed=2, labels=0)  # a week of history: a baseline exists
    receiver = Receiver(0, SECRET)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    for n in (1, 2):
        (tmp_path / f"w{n}").mkdir()
    workers = [Worker(broker, tmp_path / f"w{n}") for n in (1, 2)]
    for w in workers:  # one group, one store, its own local state
        w.env.update({k: v for k, v in workers[0].env.items() if k != "SPARKTRIAGE_DATA_DIR"})
        w.topics, w.db = workers[0].topics, empty_pg_url
        w.env.update(SPARKTRIAGE_DB=empty_pg_url, SPARKTRIAGE_ALERT_URL=f"http://127.0.0.1:{receiver.server_port}/a",
                     SPARKTRIAGE_WEBHOOK_SECRET=SECRET, SPARKTRIAGE_SPIKE_WINDOW=str(WINDOW),
                     SPARKTRIAGE_SPIKE_FLOOR="3", SPARKTRIAGE_SPIKE_CHECK_INTERVAL="1",
                     SPARKTRIAGE_SPIKE_SIGNIFICANCE="1")  # six failures: the mechanics, not the odds
    try:
        for w in workers:
            w.start(ready_timeout=240)
        now = dt.datetime.now(dt.UTC).isoformat()
        apps = [_app_logs(tmp_path / "logs", 40 + n, FAILURES["shuffle_fetch_failed"]) for n in range(6)]
        records = [(k, json.dumps({**json.loads(v), "ts": now}).encode()) for k, v in _interleaved(apps)]
        workers[0].produce(records)
        key = ("category", "shuffle_fetch_failed")
        workers[0].wait_for(lambda: _events(receiver)[(*key, "spike_started")], 180, "the spike's start")
        workers[0].wait_for(lambda: _events(receiver)[(*key, "spike_ended")], 180, "the spike's end")
        workers[0].wait_for(lambda: workers[0].rows("select count(*) from spike_alerts where ended is null") == [(0,)],
                            120, "every alert closed")
        got = _events(receiver)
        for kind, name in {(k, n) for k, n, _ in got}:
            assert got[(kind, name, "spike_started")] == 1 and got[(kind, name, "spike_ended")] == 1, got
        diagnosed = workers[0].rows("select count(*) from diagnoses d join applications a using (app_id, attempt) "
                                    "where d.top_category = 'shuffle_fetch_failed' and a.ended > now() - "
                                    "interval '1 hour'")
        assert diagnosed[0][0] == len(apps)
    finally:
        for w in workers:
            w.stop()
        receiver.shutdown()
        receiver.server_close()
