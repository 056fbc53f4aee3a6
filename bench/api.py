"""The read API on 1 M stored diagnoses in PostgreSQL: p50 and p99 per request kind (target: p99 under 50 ms).

A real ``sparktriage api`` process (uvicorn, one worker) over the seeded
store (bench/seeded.py, kept between runs), asked one request at a time
over one keep-alive connection, as a workflow tool would: an application by
id, a team's newest diagnoses and the pages after them, lists filtered by
category, user and a week's window, and the summaries of a team and of
every team over a week. Each kind is asked ``n`` times with varied
arguments, after a warm-up round; the latency is the client's, from request
to parsed JSON. Beside each p50/p99 it prints the API process's CPU time
per request (from its own /metrics), which does not grow when other
processes share the cores, and the run starts with the floor under every
figure: a ``select 1`` round trip to the same PostgreSQL from Python.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import httpx
import sqlalchemy as sa

from bench.seeded import seeded_pg
from sparktriage.tools.broker import free_port
from sparktriage.history.seed import TEAMS
from sparktriage.store import open_store, tokens

END = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)  # the seeded history's last day, exclusive
WEEK = {"since": (END - dt.timedelta(days=7)).isoformat(), "until": END.isoformat()}
CATEGORIES = ("input_missing", "executor_lost", "disk_full", "schema_mismatch", "broadcast_timeout", "killed")


def _serve(url: str) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "sparktriage.cli", "--db", url, "api", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(base + "/v1/schema", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _cpu_seconds(client: httpx.Client) -> float:
    """The API process's CPU seconds so far, from its own /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    families = text_string_to_metric_families(client.get("/metrics").text)
    return next(f.samples[0].value for f in families if f.name == "process_cpu_seconds")


def _floor(url: str, n: int) -> list[float]:
    engine = sa.create_engine(url)
    times = []
    with engine.connect() as conn:
        for _ in range(n):
            t0 = time.perf_counter()
            conn.execute(sa.text("select 1")).all()
            times.append((time.perf_counter() - t0) * 1000)
    engine.dispose()
    return times


def _percentiles(times: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    return cuts[49], cuts[98]


def main(apps: int = 1_000_000, n: int = 200) -> None:
    url = seeded_pg(apps)
    engine = open_store(url).engine
    with engine.connect() as conn:
        stored = conn.execute(sa.text("select count(*) from diagnoses")).scalar_one()
        sample = conn.execute(sa.text("select app_id, \"user\" from applications tablesample system (1) "
                                      "limit :n"), {"n": n}).all()
    _, admin = tokens.create(engine, "bench-admin", None)
    _, ads = tokens.create(engine, "bench-ads", ["ads"])
    rng = random.Random(1)
    app_ids, users = [r[0] for r in sample], [r[1] for r in sample]
    cursor: dict[str, str | None] = {"next": None}

    def page_after(client: httpx.Client) -> httpx.Response:
        params = {"limit": 50, **({"cursor": cursor["next"]} if cursor["next"] else {})}
        answer = client.get("/v1/diagnoses", params=params, headers={"Authorization": f"Bearer {ads}"})
        cursor["next"] = answer.json()["next_cursor"]
        return answer

    kinds: dict[str, tuple[str, Callable[[httpx.Client], httpx.Response]]] = {
        "application by id": (admin, lambda c: c.get(f"/v1/applications/{rng.choice(app_ids)}")),
        "team's newest 50": (ads, lambda c: c.get("/v1/diagnoses", params={"limit": 50})),
        "team's next pages": (ads, page_after),
        "by category": (admin, lambda c: c.get("/v1/diagnoses", params={"category": rng.choice(CATEGORIES)})),
        "team+category, week": (admin, lambda c: c.get("/v1/diagnoses", params={
            "team": rng.choice(list(TEAMS)), "category": rng.choice(CATEGORIES), **WEEK})),
        "by user": (admin, lambda c: c.get("/v1/diagnoses", params={"user": rng.choice(users)})),
        "summary, a team's week": (ads, lambda c: c.get("/v1/summary", params=WEEK)),
        "summary, all teams' week": (admin, lambda c: c.get("/v1/summary", params=WEEK)),
    }
    print(f"read API on PostgreSQL, {stored:,} stored diagnoses; {n} requests per kind, one at a time:")
    p50, p99 = _percentiles(_floor(url, n))
    print(f"  {'(floor: select 1)':26s} {p50:6.1f} ms {p99:6.1f} ms")
    print(f"  {'request':26s} {'p50':>9s} {'p99':>9s} {'API CPU per request':>20s}")
    every: list[float] = []
    for base in _serve(url):
        for name, (token, ask) in kinds.items():
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
                for _ in range(5):
                    ask(client).raise_for_status()  # warm-up: connection, plans, caches
                times = []
                cpu = _cpu_seconds(client)
                for _ in range(n):
                    t0 = time.perf_counter()
                    answer = ask(client)
                    answer.raise_for_status()
                    answer.json()
                    times.append((time.perf_counter() - t0) * 1000)
                cpu = (_cpu_seconds(client) - cpu) / n * 1000
            every += times
            p50, p99 = _percentiles(times)
            print(f"  {name:26s} {p50:6.1f} ms {p99:6.1f} ms {cpu:15.1f} ms", flush=True)
    p50, p99 = _percentiles(every)
    print(f"  {'all of them':26s} {p50:6.1f} ms {p99:6.1f} ms   (target: p99 under 50 ms)")
    with engine.begin() as conn:  # the bench's tokens are of no use after it
        conn.execute(sa.text("delete from api_tokens where name like 'bench-%'"))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
