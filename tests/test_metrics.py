"""The metrics and health server over real HTTP, read with prometheus_client's own parser."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from sparktriage.errors import ConfigError
from sparktriage.metrics import Health, MetricsServer, NoMetrics, WorkerMetrics, new_registry, serve


def samples(server: MetricsServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, keyed by name and sorted labels."""
    text = httpx.get(f"http://{server.host}:{server.port}/metrics").text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@pytest.fixture()
def served() -> Iterator[tuple[WorkerMetrics, Health, MetricsServer]]:
    registry = new_registry()
    metrics = WorkerMetrics(registry, "spark-logs", partitions=2)
    health = Health()
    server = serve("127.0.0.1", 0, registry, health)
    yield metrics, health, server
    server.close()


def test_a_scrape_shows_what_the_worker_counted(served) -> None:
    metrics, _, server = served
    for partition in (0, 1, 1, 3):  # 3: the topic grew since the worker started
        metrics.consumed(partition)
    for _ in range(3):
        metrics.folded("24/03/12 10:11:13 INFO Executor: Running task 3.0")
    metrics.folded("java.lang.OutOfMemoryError: Java heap space\n\tat x.Y.z(Y.java:1)")  # a record of two lines
    metrics.folded("")  # a blank line is a line
    metrics.checkpoint_written()
    metrics.dead_lettered("malformed_json")
    metrics.dead_lettered("malformed_json")
    metrics.diagnosed("container_killed_memory", "rule", 0.4)
    metrics.diagnosed("unknown", "none", -2.0)
    metrics.diagnosed("unknown", "none", None)
    metrics.webhook_tried({"delivered": 2, "retry": 1})
    metrics.set_versions(version="0.1.0", rule_pack="builtin@7", model=None)
    got = samples(server)
    topic = ("topic", "spark-logs")
    assert got[("sparktriage_records_consumed_total", (("partition", "0"), topic))] == 1
    assert got[("sparktriage_records_consumed_total", (("partition", "1"), topic))] == 2
    assert got[("sparktriage_records_consumed_total", (("partition", "2"), topic))] == 0
    assert got[("sparktriage_records_consumed_total", (("partition", "3"), topic))] == 1
    assert got[("sparktriage_lines_folded_total", ())] == 6
    assert got[("sparktriage_checkpoint_writes_total", ())] == 1
    assert got[("sparktriage_dead_letters_total", (("reason", "malformed_json"),))] == 2
    assert got[("sparktriage_diagnoses_total", (("category", "unknown"), ("source", "none")))] == 2
    assert got[("sparktriage_diagnosis_delay_seconds_count", ())] == 2  # no end time, no observation
    assert got[("sparktriage_diagnosis_delay_seconds_bucket", (("le", "0.1"),))] == 1  # the clock skew is 0
    assert got[("sparktriage_diagnosis_delay_seconds_bucket", (("le", "0.5"),))] == 2
    assert got[("sparktriage_webhook_attempts_total", (("outcome", "dead"),))] == 0
    assert got[("sparktriage_webhook_attempts_total", (("outcome", "delivered"),))] == 2
    assert got[("sparktriage_build_info", (("model_version", "none"), ("rule_pack_version", "builtin@7"),
                                           ("version", "0.1.0")))] == 1
    assert ("process_resident_memory_bytes", ()) in got


def test_lag_of_a_partition_the_worker_lost_disappears(served) -> None:
    metrics, _, server = served
    metrics.set_lag({0: 10, 1: 3})
    metrics.set_lag({1: 0})
    lags = {dict(labels)["partition"]: v for (name, labels), v in samples(server).items()
            if name == "sparktriage_consumer_lag"}
    assert lags == {"1": 0}


def test_health_and_readiness(served) -> None:
    _, health, server = served
    base = f"http://{server.host}:{server.port}"
    assert httpx.get(f"{base}/healthz").status_code == 200
    assert httpx.get(f"{base}/readyz").status_code == 200
    health.checks["group"] = lambda: "not joined yet"

    def unreachable() -> None:
        raise OSError("connection refused")

    health.checks["store"] = unreachable
    answer = httpx.get(f"{base}/readyz")
    assert answer.status_code == 503
    assert "group: not joined yet" in answer.text and "store: OSError: connection refused" in answer.text
    assert httpx.get(f"{base}/healthz").status_code == 200  # alive, only not ready
    health.stale_after = 0.05
    time.sleep(0.1)
    assert httpx.get(f"{base}/healthz").status_code == 503
    health.stale_after = 60.0
    health.beat()
    assert httpx.get(f"{base}/healthz").status_code == 200
    assert httpx.get(f"{base}/other").status_code == 404


def test_a_taken_port_is_a_one_line_config_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(ConfigError, match="cannot serve metrics on 127.0.0.1:"):
            serve("127.0.0.1", taken.getsockname()[1], new_registry(), Health())


def test_metrics_off_counts_nothing_on_the_hot_path() -> None:
    off = NoMetrics()
    off.consumed(5)
    off.folded("a line\nanother")
    off.checkpoint_written()
    assert [m.samples[0].value for m in (*off.lines.collect(), *off.checkpoints.collect())] == [0, 0]
    assert off.records.collect()[0].samples == []


def test_the_dashboard_and_the_readme_worker_section_use_only_metrics_the_worker_exports(served) -> None:
    import json
    import re
    from pathlib import Path

    metrics, _, server = served
    metrics.dead_lettered("tombstone")
    metrics.diagnosed("unknown", "none", 1.0)
    metrics.set_lag({0: 1})
    metrics.set_versions(version="0", rule_pack="p", model="m")
    families = list(text_string_to_metric_families(httpx.get(f"http://127.0.0.1:{server.port}/metrics").text))
    exported = {f.name for f in families} | {s.name for f in families for s in f.samples}
    repo = Path(__file__).resolve().parent.parent
    dashboard = json.loads((repo / "docs" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    readme = (repo / "README.md").read_text().split("### Metrics, health and alerts", 1)[1]
    worker_section = re.split(r"\n##+ ", readme, maxsplit=1)[0]  # the watchers and the API have their own
    used = {name for text in [*exprs, worker_section]
            for name in re.findall(r"\b(?:sparktriage|process)_[a-z_]+[a-z]", text)}
    assert exprs and used - exported == set()
