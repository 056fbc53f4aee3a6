"""The watchers end to end: real subprocesses, the Tansu broker, the real worker.

``watch yarn`` against a loopback ResourceManager pair: 200 applications over
several polls, SIGKILL and restart between polls, an HA switch in the
middle, each application's lifecycle record exactly once on the topic; an
application whose only evidence is the RM's diagnostics is diagnosed.
``watch k8s`` against a loopback API server: a driver pod OOMKilled with no
log, an executor pod evicted for memory pressure, a 410 in between.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from sparktriage.tools.broker import Broker, free_port
from tests.k8s_server import KubeAPI, spark_pod, terminate
from tests.rm_server import RMPair, rm_app
from tests.test_worker_integration import Child, Worker

pytestmark = [pytest.mark.broker, pytest.mark.slow]

AM_MEMORY = ("Application application_1712000000000_0000 failed 2 times due to AM Container for "
             "appattempt_1712000000000_0000_000002 exited with  exitCode: -104\nFailing this attempt.Diagnostics: "
             "[2026-11-30 10:11:09.412]Container [pid=40211,containerID=container_e07_1712000000000_0000_02_000001]"
             " is running 536870912B beyond the 'PHYSICAL' memory limit. Current usage: 4.5 GB of 4 GB physical "
             "memory used; 6.1 GB of 8.4 GB virtual memory used. Killing container.")
EVICTED = ("The node was low on resource: memory. Threshold quantity: 100Mi, available: 51200Ki. Container "
           "spark-kubernetes-executor was using 9437184Ki, request is 4Gi, has larger consumption of memory.")


class Watcher(Child):
    """``sparktriage watch ...`` as a child process, beside the worker, on its topics."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "sparktriage.cli", "watch", *self.args],
                                         env=self.env, stdout=out, stderr=subprocess.STDOUT)

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"watcher exited {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")


def wait(check: Callable[[], bool], what: str, watcher: Watcher, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        watcher.check_alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}:\n{watcher.log.read_text()[-3000:]}")
        time.sleep(0.2)


def lifecycle_records(worker: Worker) -> list[dict]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(worker.topics["input"], bootstrap_servers=worker.bootstrap, group_id=None,
                             auto_offset_reset="earliest", consumer_timeout_ms=1500)
    records = [json.loads(m.value) for m in consumer]
    consumer.close()
    return [r for r in records if r.get("event") in ("app_end", "container_end")]


def cursor(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def test_watch_yarn_sends_every_application_once_through_kills_and_an_ha_switch(broker: Broker,
                                                                                tmp_path: Path) -> None:
    worker = Worker(broker, tmp_path)
    port = free_port()
    env = {**worker.env, "SPARKTRIAGE_WATCH_INTERVAL": "0.2", "SPARKTRIAGE_WATCH_TIMEOUT": "3",
           "SPARKTRIAGE_WATCH_WEB_PORT": str(port)}
    now = int(time.time() * 1000)
    apps = [rm_app(n, finished=now - 600_000 + n * 50, state="FINISHED", final="SUCCEEDED") for n in range(200)]
    apps[0] = rm_app(0, finished=now - 600_000, state="FAILED", final="FAILED", attempt=2, diagnostics=AM_MEMORY)
    apps[1] = rm_app(1, finished=now - 600_000 + 50, state="KILLED", final="KILLED",
                     diagnostics="Application killed by user.")
    state_file = tmp_path / "var" / "watch-yarn.json"
    try:
        worker.start(ready_timeout=240)  # beside the watcher, as in production (slow on a loaded machine)
        with RMPair() as rm:
            watcher = Watcher(["yarn", "--rm", ",".join(rm.urls)], env, tmp_path / "watch.log")
            try:
                watcher.start()
                for batch in range(5):
                    rm.cluster.add(*apps[batch * 40:(batch + 1) * 40])
                    expected = (batch + 1) * 40
                    wait(lambda: len(cursor(state_file).get("sent", {})) >= expected
                         and not cursor(state_file).get("pending"), f"{expected} applications sent", watcher)
                    if batch in (1, 3):
                        watcher.kill()  # between polls: nothing in flight
                        watcher.start()
                    if batch == 2:
                        rm.cluster.active = 1  # failover: the first URL is now a standby that redirects
                time.sleep(1.5)  # several more polls: nothing may be sent again
                scrape = httpx.get(f"http://127.0.0.1:{port}/metrics").text
                assert 'sparktriage_watch_records_published_total{event="app_end",source="yarn"} 40.0' in scrape
                assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
            finally:
                watcher.stop()
            assert any(index == 1 for index, _, _ in rm.cluster.requests), "the HA switch was exercised"
        records = lifecycle_records(worker)
        counts = Counter(r["app_id"] for r in records)
        assert len(counts) == 200 and set(counts.values()) == {1}, counts.most_common(3)
        worker.wait_for(lambda: len(worker.rows("select 1 from diagnoses")) == 2, 60, "two diagnoses")
        diagnosed = {app: (category, attempt) for app, category, attempt in
                     worker.rows("select app_id, category, attempt from diagnoses")}
        assert diagnosed == {"application_1712000000000_0000": ("container_killed_memory", 2),
                             "application_1712000000000_0001": ("killed", 1)}
        (evidence,) = worker.rows("select evidence from diagnoses where app_id = 'application_1712000000000_0000'")
        assert json.loads(evidence[0])[0]["role"] == "resource_manager"
    finally:
        worker.stop()


def test_watch_k8s_gives_the_worker_the_pod_ends_it_never_logs(broker: Broker, tmp_path: Path) -> None:
    api = KubeAPI()
    worker = Worker(broker, tmp_path)
    kubeconfig = api.kubeconfig(str(tmp_path / "kubeconfig"))
    watcher = Watcher(["k8s", "--kubeconfig", kubeconfig, "--web-port", "0"], worker.env, tmp_path / "watch.log")
    oom_driver = spark_pod("nightly-driver", "spark-0a1b", "driver")
    driver, executor = spark_pod("hourly-driver", "spark-2c3d", "driver"), spark_pod("hourly-exec-4", "spark-2c3d",
                                                                                     "executor")
    for pod in (oom_driver, driver, executor):
        api.put(pod)
    try:
        worker.start(ready_timeout=240)
        watcher.start()
        wait(lambda: any(q.get("watch") for _, q in api.requests), "the watch", watcher)
        api.put(terminate(oom_driver, exit_code=137, reason="OOMKilled"))  # no log line at all
        wait(lambda: worker.rows("select 1 from diagnoses"), "the OOMKilled driver's diagnosis", watcher)
        # the other application logs as usual, loses an executor to memory pressure, then fails
        worker.produce([(b"spark-2c3d", json.dumps({
            "log": f"26/11/30 10:0{n}:00 INFO DAGScheduler: Submitting 200 missing tasks from ResultStage {n}",
            "kubernetes": {"pod_name": "hourly-driver", "labels": {"spark-app-selector": "spark-2c3d",
                                                                    "spark-role": "driver"}}}).encode())
            for n in range(5)])
        with api.cond:  # the eviction happens while the watch is down and is compacted away: 410, a new list
            api.end_watches()
            api.put(terminate(executor, exit_code=137, reason="ContainerStatusUnknown", pod_reason="Evicted",
                              pod_message=EVICTED))
            api.compact()
        wait(lambda: len(lifecycle_records(worker)) == 2, "the eviction on the topic", watcher)
        api.put(terminate(driver, exit_code=1, reason="Error"))
        worker.wait_for(lambda: len(worker.rows("select 1 from diagnoses")) == 2, 60, "two diagnoses")
    finally:
        watcher.stop()
        worker.stop()
        api.close()
    rows = {app: (category, json.loads(evidence)[0]["role"]) for app, category, evidence in
            worker.rows("select app_id, category, evidence from diagnoses")}
    assert rows == {"spark-0a1b": ("container_killed_memory", "driver"),
                    "spark-2c3d": ("container_killed_memory", "executor")}
    assert Counter(r["app_id"] for r in lifecycle_records(worker) if r["event"] == "app_end") == \
        {"spark-0a1b": 1, "spark-2c3d": 1}, "the list after 410 repeated no end"
    assert sum(1 for path, q in api.requests if path == "/api/v1/pods" and not q.get("watch")) == 2
