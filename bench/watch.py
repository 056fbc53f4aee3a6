"""How fast the watchers turn ends into lifecycle records.

``watch yarn``: one poll of N finished applications from a loopback
ResourceManager (the documented JSON, through ``requests``), mapped and
published to the embedded broker with ``acks=all`` and the cursor written:
applications/s for the whole poll and for its parts. ``watch k8s``: N Spark
pods terminate while the watcher watches a loopback API server (chunked
watch stream, the ``kubernetes`` client deserialising each event): ends/s
from the first change to the last record. Medians of three runs.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path

from sparktriage.tools.broker import Broker, free_port
from sparktriage.settings import Settings
from tests.k8s_server import KubeAPI, spark_pod, terminate
from tests.rm_server import RMPair, rm_app
from sparktriage.watchers.cursor import Cursor
from sparktriage.watchers.k8s import K8sWatcher, load_api_client
from sparktriage.watchers.publisher import KafkaPublisher, MemoryPublisher
from sparktriage.watchers.rm_client import RMClient
from sparktriage.watchers.yarn import YarnWatcher

N_APPS, N_PODS, RUNS = 5000, 1000, 3


def _yarn_once(rm: RMPair, broker: Broker, n: int) -> tuple[float, float, float]:
    """(seconds for the RM answer, for mapping, for publish + cursor) of one poll of ``n`` applications."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(yarn_rm=rm.urls[0], data_dir=tmp, bootstrap=broker.bootstrap,
                            input_topic=f"bench-watch-{time.monotonic_ns()}", partitions=3)
        client = RMClient(settings)
        t0 = time.perf_counter()
        client.finished_apps(0)
        fetched = time.perf_counter() - t0
        publisher = KafkaPublisher(settings)
        watcher = YarnWatcher(settings, client, publisher, Cursor(Path(tmp) / "c.json"))
        t0 = time.perf_counter()
        sent = watcher.poll(int(time.time() * 1000))
        whole = time.perf_counter() - t0
        publisher.close()
        assert sent == n, sent
        mapping = _mapping_time(watcher, client)
        return fetched, mapping, whole - fetched - mapping


def _mapping_time(watcher: YarnWatcher, client: RMClient) -> float:
    from sparktriage.watchers.yarn_apps import lifecycle_record

    apps = client.finished_apps(0)
    t0 = time.perf_counter()
    for app in apps:
        lifecycle_record(app, watcher.tags)
    return time.perf_counter() - t0


def _k8s_once(n: int) -> float:
    """Seconds from the first of ``n`` pod terminations to the last record published (in memory)."""
    api = KubeAPI()
    pods = [spark_pod(f"p{i}-driver", f"spark-{i}", "driver") for i in range(n)]
    for pod in pods:
        api.put(pod)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(k8s_kubeconfig=api.kubeconfig(f"{tmp}/kc"), data_dir=tmp)
        publisher = MemoryPublisher()
        watcher = K8sWatcher(settings, load_api_client(settings), publisher, Cursor(Path(tmp) / "c.json"))
        stop = threading.Event()
        thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
        thread.start()
        while not any(q.get("watch") for _, q in api.requests):
            time.sleep(0.01)
        t0 = time.perf_counter()
        for pod in pods:
            api.put(terminate(pod, exit_code=1))
        while len(publisher.records) < n:
            time.sleep(0.005)
        took = time.perf_counter() - t0
        stop.set()
        thread.join(10)
    api.close()
    return took


def main() -> None:
    with Broker(Settings(), port=free_port()) as broker, RMPair() as rm:
        now = int(time.time() * 1000)
        rm.cluster.add(*[rm_app(i, finished=now - 60_000 + i, state="FAILED", final="FAILED",
                                diagnostics="Application killed by user.", tags="dag_id:etl,task_id:load")
                         for i in range(N_APPS)])
        runs = [_yarn_once(rm, broker, N_APPS) for _ in range(RUNS)]
    fetch, mapping, publish = (statistics.median(part) for part in zip(*runs, strict=True))
    total = fetch + mapping + publish
    print(f"watch yarn, one poll of {N_APPS} finished applications (median of {RUNS}):")
    print(f"  {N_APPS / total:,.0f} applications/s in all ({total:.2f} s): RM answer through requests "
          f"{fetch:.2f} s, mapping {mapping:.2f} s, publishing to the embedded broker and the cursor {publish:.2f} s")
    took = statistics.median(_k8s_once(N_PODS) for _ in range(RUNS))
    print(f"watch k8s, {N_PODS} driver pods terminating while watched (median of {RUNS}):")
    print(f"  {N_PODS / took:,.0f} ends/s from the first change to the last record ({took:.2f} s; "
          f"in-memory publisher: the watch stream and the client's deserialisation)")


if __name__ == "__main__":
    main()
