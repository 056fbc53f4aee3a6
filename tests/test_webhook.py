"""The webhook against a real HTTP server on loopback (the example receiver), from the outbox.

Signatures, retries, the dead letter after the last try, the delivery log,
and a dispatcher that dies mid-delivery: the receiver still accepts each
diagnosis exactly once. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from examples.receiver import Receiver
from examples.receiver import verify as receiver_verify
from sparktriage.delivery.dispatcher import Dispatcher
from sparktriage.payload import build_payload
from sparktriage.records import AppInfo, Diagnosis, Workflow
from sparktriage.settings import Settings
from sparktriage.store import MemoryStore, open_store
from sparktriage.store import schema as t
from sparktriage.delivery.webhook import SIGNATURE, TIMESTAMP, request_headers, sign, verify, webhook_urls
from tests.conftest import running_receiver
from tests.diagnosis_schema import assert_valid

SECRET = "test-secret"
APP = AppInfo(app_id="application_1700000000000_0077", attempt=1, team="ads", final_status="FAILED",
              workflow=Workflow("etl", "daily", "load", "42"), ended=1_700_000_000.0)
DIAGNOSIS = Diagnosis(app_id=APP.app_id, category="executor_oom", domain="user", confidence=0.9, source="rule",
                      rule_id="yarn-pmem-kill", explain="Container killed for memory.", remediation="Raise memory.")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver(SECRET) as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def url_of_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/w.db"
    return request.getfixturevalue("empty_pg_url")


def _settings(retries: int = 5) -> Settings:
    return Settings(webhook_secret=SECRET, webhook_retries=retries, webhook_backoff=0.01, webhook_timeout=2.0)


def _enqueue(store, receiver: Receiver) -> str:
    body = json.dumps(build_payload(APP, DIAGNOSIS))
    assert store.save(APP, [], DIAGNOSIS, [(f"http://127.0.0.1:{receiver.server_port}/hook", body)])
    return body


def _pending(store) -> bool:
    if isinstance(store, MemoryStore):
        return any(d["status"] == "pending" for d in store.deliveries)
    with store.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).where(t.deliveries.c.status == "pending")).scalar_one() > 0


def _drain(dispatcher: Dispatcher, rounds: int = 100) -> None:
    """Dispatch until nothing is pending (the backoffs here are tens of milliseconds)."""
    for _ in range(rounds):
        asyncio.run(dispatcher.run_once())
        if not _pending(dispatcher.store):
            return
        time.sleep(0.03)
    raise AssertionError("deliveries still pending")


def _rows(store, table: sa.Table) -> list[dict]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.id)).mappings()]


def test_signatures_verify_here_and_in_the_example_receiver() -> None:
    body = b'{"app_id": "a"}'
    headers = request_headers(SECRET, body, "k")
    ts, signature = headers[TIMESTAMP], headers[SIGNATURE]
    assert verify(SECRET, ts, body, signature) and receiver_verify(SECRET, ts, body, signature)
    assert not verify(SECRET, ts, body + b" ", signature)
    assert not receiver_verify("other-secret", ts, body, signature)
    old = str(int(time.time()) - 3600)
    assert not verify(SECRET, old, body, sign(SECRET, int(old), body))
    assert not receiver_verify(SECRET, old, body, sign(SECRET, int(old), body))


def test_a_receiver_failing_twice_gets_exactly_one_accepted_delivery(url_of_store: str, receiver: Receiver) -> None:
    receiver.fail_first = 2
    store = open_store(url_of_store)
    body = _enqueue(store, receiver)
    assert not store.save(APP, [], DIAGNOSIS, [("http://127.0.0.1:1/never", body)]), "a redelivery enqueues nothing"
    _drain(Dispatcher(store, _settings()))
    assert [status for _, _, status in receiver.requests] == [503, 503, 200]
    assert list(receiver.accepted.values()) == [json.loads(body)]
    assert_valid(json.loads(body))
    keys = {headers["Idempotency-Key"] for headers, _, _ in receiver.requests}
    assert len(keys) == 1, "every try carries the same idempotency key"
    (delivery,) = _rows(store, t.deliveries)
    assert (delivery["status"], delivery["tries"], delivery["last_status"]) == ("delivered", 3, 200)
    assert [a["status"] for a in _rows(store, t.delivery_attempts)] == [503, 503, 200]


def test_an_always_failing_receiver_ends_in_the_dead_letter_record(url_of_store: str, receiver: Receiver) -> None:
    receiver.always_fail = True
    store = open_store(url_of_store)
    _enqueue(store, receiver)
    _drain(Dispatcher(store, _settings(retries=2)))
    assert len(receiver.requests) == 3 and not receiver.accepted
    (delivery,) = _rows(store, t.deliveries)
    assert delivery["status"] == "dead"
    (letter,) = _rows(store, t.dead_letters)
    assert letter["source"] == "webhook" and letter["reason"] == "delivery_failed" and "3 tries" in letter["detail"]


def test_a_client_error_is_not_retried(tmp_path: Path, receiver: Receiver) -> None:
    receiver.secret = "not-the-senders-secret"  # every request fails verification: 401
    store = open_store(f"sqlite:///{tmp_path}/w.db")
    _enqueue(store, receiver)
    _drain(Dispatcher(store, _settings()))
    assert [status for _, _, status in receiver.requests] == [401]
    assert _rows(store, t.deliveries)[0]["status"] == "dead"


def test_a_dispatcher_dying_mid_retries_still_delivers_once(url_of_store: str, receiver: Receiver) -> None:
    receiver.fail_first = 1
    store = open_store(url_of_store)
    _enqueue(store, receiver)
    asyncio.run(Dispatcher(store, _settings()).run_once())  # one failed try, then this dispatcher is gone

    # The next one gets the receiver's 200 but dies before recording it (no record_try).
    dying = Dispatcher(store, _settings())
    dying.clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)  # past the retry's backoff
    original = store.record_try
    store.record_try = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("killed"))  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        asyncio.run(dying.run_once())
    store.record_try = original  # type: ignore[method-assign]
    # A restarted worker: a new store connection and dispatcher, after the dead one's lease ran out.
    restarted = Dispatcher(open_store(url_of_store), _settings())
    restarted.clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    _drain(restarted)
    assert [status for _, _, status in receiver.requests] == [503, 200, 200]
    assert len(receiver.accepted) == 1, "the receiver deduplicated the resend by its idempotency key"
    assert _rows(store, t.deliveries)[0]["status"] == "delivered"


def test_the_memory_twin_follows_the_same_outbox_rules(receiver: Receiver) -> None:
    receiver.fail_first = 1
    store = MemoryStore()
    _enqueue(store, receiver)
    _drain(Dispatcher(store, _settings()))
    assert [status for _, _, status in receiver.requests] == [503, 200]
    assert store.deliveries[0]["status"] == "delivered" and store.deliveries[0]["tries"] == 2


def test_routes_pick_the_project_then_the_team_then_the_default() -> None:
    settings = Settings(webhook_url="http://default/", webhook_routes={"team:ads": "http://ads/",
                                                                        "project:etl": "http://etl/"})
    assert webhook_urls(settings, APP) == ["http://etl/"]
    assert webhook_urls(settings, AppInfo(app_id="a", team="ads")) == ["http://ads/"]
    assert webhook_urls(settings, AppInfo(app_id="a", team="search")) == ["http://default/"]
    assert webhook_urls(Settings(), APP) == []


def test_the_example_receiver_renders_an_exceptions_tab(receiver: Receiver, tmp_path: Path) -> None:
    import httpx

    store = open_store(f"sqlite:///{tmp_path}/w.db")
    _enqueue(store, receiver)
    _drain(Dispatcher(store, _settings()))
    page = httpx.get(f"http://127.0.0.1:{receiver.server_port}/").text
    assert APP.app_id in page and "executor_oom" in page and "Raise memory." in page


def test_a_receiver_dripping_its_answer_is_cut_off_at_the_budget() -> None:
    """Each byte arrives well within httpx's read timeout; only the overall budget ends the request."""
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            for _ in range(100):  # 10 s of answer, a byte every 0.1 s
                if stop.wait(0.1):
                    return
                conn.sendall(b"x")

    threading.Thread(target=drip, daemon=True).start()
    store = MemoryStore()
    store.save(APP, [], DIAGNOSIS, [(f"http://127.0.0.1:{listener.getsockname()[1]}/hook", "{}")])
    try:
        outcomes = asyncio.run(Dispatcher(store, _settings(), timeout=0.5).run_once())
    finally:
        stop.set()
        listener.close()
    assert outcomes == {"retry": 1}, "a dripped 200 is not a delivery: the budget ran out first"
    ((_, status, error, _),) = store.deliveries[0]["log"]
    assert status is None and "budget" in error
