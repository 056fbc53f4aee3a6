"""``watch k8s`` through the official kubernetes client against an API server on loopback
that answers as the API reference documents: list, watch streams, 410 Gone, auth, 5xx."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sparktriage.errors import ConfigError
from sparktriage.settings import Settings
from tests.k8s_server import KubeAPI, spark_pod, terminate
from sparktriage.watchers.cursor import Cursor
from sparktriage.watchers.k8s import K8sWatcher, load_api_client
from sparktriage.watchers.publisher import MemoryPublisher
from sparktriage.watchers.k8s_pods import pod_record
from sparktriage.watchers.tags import TagMapper

MEMORY_PRESSURE = ("The node was low on resource: memory. Threshold quantity: 100Mi, available: 51200Ki. Container "
                   "spark-kubernetes-executor was using 9437184Ki, request is 4Gi, has larger consumption of memory.")
TAGS = TagMapper.from_settings({})


@pytest.fixture
def api() -> Iterator[KubeAPI]:
    server = KubeAPI()
    yield server
    server.close()


class Running:
    """A watcher in a thread, as `sparktriage watch k8s` runs it."""

    def __init__(self, api: KubeAPI, tmp: Path, **settings) -> None:
        tmp.mkdir(parents=True, exist_ok=True)
        self.settings = Settings(**{"k8s_kubeconfig": api.kubeconfig(str(tmp / "kubeconfig")),
                                    "data_dir": str(tmp), "watch_timeout": 5.0, **settings})
        self.publisher = MemoryPublisher()
        self.watcher = K8sWatcher(self.settings, load_api_client(self.settings), self.publisher,
                                  Cursor(tmp / "watch-k8s.json"))
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.watcher.run(self.stop)
        except BaseException as exc:  # noqa: BLE001 - the test reads it
            self.error = exc

    def __enter__(self) -> Running:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)


def wait(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def watches(api: KubeAPI) -> int:
    return sum(1 for path, q in api.requests if path == "/api/v1/pods" and q.get("watch"))


def lists(api: KubeAPI) -> int:
    return sum(1 for path, q in api.requests if path == "/api/v1/pods" and not q.get("watch"))


def test_driver_oomkilled_and_executor_evicted_are_told_once_each(api: KubeAPI, tmp_path: Path) -> None:
    driver = spark_pod("etl-driver", "spark-7f3a", "driver", labels={"dag_id": "nightly", "team": "ads"})
    executor = spark_pod("etl-exec-3", "spark-7f3a", "executor")
    api.put(driver)
    api.put(executor)
    with Running(api, tmp_path) as run:
        wait(lambda: watches(api) >= 1, "the watch")
        api.put(terminate(executor, exit_code=137, reason="ContainerStatusUnknown", pod_reason="Evicted",
                          pod_message=MEMORY_PRESSURE))
        api.put(terminate(driver, exit_code=137, reason="OOMKilled"))
        wait(lambda: len(run.publisher.records) == 2, "two records")
        api.delete("spark", "etl-exec-3")  # Spark deletes its executors at the end: not a second end
        api.delete("spark", "etl-driver")
        time.sleep(0.5)
    evicted, oom = run.publisher.records
    assert (evicted["event"], evicted["role"], evicted["app_id"]) == ("container_end", "executor", "spark-7f3a")
    assert (evicted["lifecycle"]["reason"], evicted["lifecycle"]["diagnostics"]) == ("Evicted", MEMORY_PRESSURE)
    assert (oom["event"], oom["status"], oom["role"]) == ("app_end", "FAILED", "driver")
    assert (oom["lifecycle"]["reason"], oom["lifecycle"]["exit_code"], oom["host"]) == ("OOMKilled", 137, "node-3")
    assert (oom["team"], oom["workflow"]["flow"]) == ("ads", "nightly")
    assert len(run.publisher.records) == 2 and run.error is None
    assert not run.watcher.cursor.sent  # the deleted pods' keys are forgotten: the set stays small


def test_410_gone_lists_again_without_losing_or_repeating_a_termination(api: KubeAPI, tmp_path: Path) -> None:
    first = spark_pod("a-driver", "spark-a", "driver")
    second = spark_pod("b-driver", "spark-b", "driver")
    api.put(first)
    api.put(second)
    with Running(api, tmp_path) as run:
        wait(lambda: watches(api) >= 1, "the watch")
        api.put(terminate(first, exit_code=1))
        wait(lambda: len(run.publisher.records) == 1, "the first end")
        with api.cond:  # at once: the watch ends, the second driver ends, etcd compacts that change away
            api.end_watches()
            api.put(terminate(second, exit_code=1))
            api.compact()
        wait(lambda: len(run.publisher.records) == 2, "the end that happened in the gap")
        wait(lambda: watches(api) >= 3, "a watch from the new list")
    assert lists(api) == 2  # the first list, then the one after 410
    assert run.watcher.metrics.registry.get_sample_value("sparktriage_watch_relists_total", {"source": "k8s"}) == 1
    assert [r["app_id"] for r in run.publisher.records] == ["spark-a", "spark-b"]
    assert run.error is None


def test_a_restart_resumes_from_the_saved_resource_version(api: KubeAPI, tmp_path: Path) -> None:
    pods = [spark_pod(f"d{n}-driver", f"spark-{n}", "driver") for n in range(3)]
    for pod in pods:
        api.put(pod)
    with Running(api, tmp_path) as run:
        wait(lambda: watches(api) >= 1, "the watch")
        api.put(terminate(pods[0], phase="Succeeded", exit_code=0, reason="Completed"))
        wait(lambda: len(run.publisher.records) == 1, "the first end")
    api.put(terminate(pods[1], exit_code=1))  # while the watcher is down
    with Running(api, tmp_path) as again:
        wait(lambda: len(again.publisher.records) == 1, "the end that happened while down")
        api.put(terminate(pods[2], exit_code=1))
        wait(lambda: len(again.publisher.records) == 2, "a later end")
    assert lists(api) == 1  # the second run watched from the cursor, it did not list
    assert [r["app_id"] for r in run.publisher.records + again.publisher.records] == \
        ["spark-0", "spark-1", "spark-2"]
    assert run.publisher.records[0]["status"] == "SUCCEEDED"


def test_a_server_error_is_retried(api: KubeAPI, tmp_path: Path) -> None:
    api.put(terminate(spark_pod("x-driver", "spark-x", "driver"), exit_code=1))
    api.fail_next, api.fail_prefix = 1, "/api/v1/pods"
    with Running(api, tmp_path) as run:
        wait(lambda: len(run.publisher.records) == 1, "the end after a 500")
    assert lists(api) == 2 and run.error is None
    api.fail_next, api.fail_prefix = 1, "/apis/"  # the probe for the operator's CRD is retried too
    with Running(api, tmp_path / "again") as again:
        wait(lambda: len(again.publisher.records) == 1, "the end after a 500 on the probe")
    assert again.error is None


@pytest.mark.parametrize(("token", "forbidden", "expected"), [
    ("wrong-token", set(), "HTTP 401"), (None, {"pods"}, "HTTP 403.*RBAC")])
def test_refused_credentials_stop_the_watcher_with_what_to_fix(api: KubeAPI, tmp_path: Path, token: str | None,
                                                                forbidden: set[str], expected: str) -> None:
    api.forbidden = forbidden
    settings = Settings(k8s_kubeconfig=api.kubeconfig(str(tmp_path / "kc"), token=token), data_dir=str(tmp_path))
    watcher = K8sWatcher(settings, load_api_client(settings), MemoryPublisher(), Cursor(tmp_path / "c.json"))
    with pytest.raises(ConfigError, match=expected):
        watcher.run(threading.Event())


def test_a_submission_failure_the_operator_reports_is_an_end(api: KubeAPI, tmp_path: Path) -> None:
    api.operator = True
    app = {"apiVersion": "sparkoperator.k8s.io/v1beta2", "kind": "SparkApplication",
           "metadata": {"name": "nightly", "namespace": "etl", "uid": "8d1c", "labels": {"team": "ads"}},
           "spec": {"type": "Scala", "mode": "cluster"},
           "status": {"applicationState": {"state": "SUBMISSION_FAILED", "errorMessage":
                      "failed to run spark-submit for SparkApplication etl/nightly: Exception in thread \"main\" "
                      "io.fabric8.kubernetes.client.KubernetesClientException: Failure executing: POST at: "
                      "https://kubernetes.default.svc/api/v1/namespaces/etl/pods. Message: Forbidden! exceeded "
                      "quota: compute-resources, requested: limits.memory=9Gi, used: limits.memory=60Gi, "
                      "limited: limits.memory=64Gi."}, "submissionAttempts": 1,
                      "lastSubmissionAttemptTime": "2026-11-30T10:00:00Z"}}
    done = {**app, "metadata": {**app["metadata"], "name": "hourly", "uid": "8d1d"},
            "status": {"applicationState": {"state": "COMPLETED"}, "sparkApplicationId": "spark-1"}}
    api.put(app, "sparkapplications")
    api.put(done, "sparkapplications")
    with Running(api, tmp_path) as run:
        wait(lambda: len(run.publisher.records) == 1, "the submission failure")
        time.sleep(0.3)
    [record] = run.publisher.records
    assert (record["app_id"], record["status"], record["team"]) == ("etl/nightly", "FAILED", "ads")
    assert "exceeded quota" in record["lifecycle"]["diagnostics"]


@pytest.mark.parametrize(("pod", "kind", "expected"), [
    (spark_pod("d", "spark-1", "driver"), "DELETED", ("app_end", "KILLED", "Deleted")),
    (terminate(spark_pod("d", "spark-1", "driver"), pod_reason="DeadlineExceeded",
               pod_message="Pod was active on the node longer than the specified deadline"),
     "MODIFIED", ("app_end", "FAILED", "DeadlineExceeded")),
    (terminate(spark_pod("e", "spark-1", "executor"), exit_code=137, reason="OOMKilled"), "MODIFIED",
     ("container_end", None, "OOMKilled")),
    (spark_pod("e", "spark-1", "executor"), "DELETED", None),  # removed by the driver at the end
    (terminate(spark_pod("e", "spark-1", "executor"), exit_code=143), "MODIFIED", None),  # stopped by the driver
    (terminate(spark_pod("e", "spark-1", "executor"), phase="Succeeded", exit_code=0), "MODIFIED", None),
    (spark_pod("d", "spark-1", "driver"), "MODIFIED", None),  # still running
    ({"metadata": {"name": "web", "labels": {"app": "web"}}, "status": {"phase": "Failed"}}, "MODIFIED", None),
])
def test_which_pod_changes_are_ends(pod: dict, kind: str, expected: tuple | None) -> None:
    record = pod_record(pod, kind, TAGS)
    got = None if record is None else (record["event"], record.get("status"), record["lifecycle"]["reason"])
    assert got == expected
