"""The worker operated: its metrics scraped during a stream through Tansu, bad input without a
traceback, and a broker outage told in a handful of log lines."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from sparktriage.tools.broker import Broker, free_port
from sparktriage.settings import Settings
from tests.netcut import NetCut
from tests.test_worker_integration import FAILURES, Worker, _app_logs, _interleaved

pytestmark = [pytest.mark.broker, pytest.mark.slow]
STARTUP = 180  # compiling the rules takes ~12 s of CPU: minutes on a shared, busy machine

DEEP = b'{"app_id": "application_1700000000000_0999", "line": "x", "workflow": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"


def scrape(port: int) -> dict[str, Counter]:
    """Each metric's samples by name: label values (sorted by label name) -> value."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    got: dict[str, Counter] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            got.setdefault(sample.name, Counter())[tuple(v for _, v in sorted(sample.labels.items()))] += sample.value
    return got


def test_a_scrape_during_a_stream_counts_what_was_sent_dead_lettered_and_diagnosed(
        broker: Broker, tmp_path: Path) -> None:
    port = free_port()
    worker = Worker(broker, tmp_path)
    worker.env["SPARKTRIAGE_WORKER_WEB_PORT"] = str(port)
    apps = {cat: _app_logs(tmp_path / "logs", n, text) for n, (cat, text) in enumerate(FAILURES.items(), 41)}
    good = _interleaved(list(apps.values()))
    bad = {"tombstone": (b"application_1700000000000_0998", None), "too_deeply_nested": (None, DEEP),
           "malformed_json": (None, b'{"app_id": "a", "line": ')}
    lines = sum(1 for _, value in good if "event" not in json.loads(value))
    try:
        worker.start(STARTUP)
        worker.produce(good[: len(good) // 2] + list(bad.values()) + good[len(good) // 2:])
        worker.wait_for(lambda: len(worker.rows("select 1 from diagnoses")) == 3, 90, "three diagnoses")
        worker.wait_for(lambda: len(worker.rows("select 1 from dead_letters")) == 3, 30, "three dead letters")

        def caught_up() -> bool:
            lags = scrape(port).get("sparktriage_consumer_lag", Counter())  # none until the first sample
            return len(lags) == 3 and sum(lags.values()) == 0

        worker.wait_for(caught_up, 30, "the lag of every partition to be 0")
        got = scrape(port)
        assert sum(got["sparktriage_records_consumed_total"].values()) == len(good) + len(bad)
        assert {p for p, _ in got["sparktriage_records_consumed_total"]} == {"0", "1", "2"}
        assert got["sparktriage_lines_folded_total"][()] == lines
        assert got["sparktriage_checkpoint_writes_total"][()] >= 3  # at least each application's streams closed
        assert got["sparktriage_dead_letters_total"] == {(reason,): 1 for reason in bad}
        assert got["sparktriage_diagnoses_total"] == {(cat, "rule"): 1 for cat in FAILURES}
        assert got["sparktriage_diagnosis_delay_seconds_count"][()] == 3
        assert got["sparktriage_open_applications"][()] == 0
        assert got["sparktriage_webhook_outbox_depth"][()] == 0
        assert not got.get("sparktriage_human_corrections"), "no person has corrected anything yet"
        ((corrected,),) = worker.rows("select app_id from diagnoses order by id limit 1")
        label = subprocess.run([sys.executable, "-m", "sparktriage.cli", "--db", worker.db, "label", corrected,
                                "user_code_error", "--note", "our bug"], capture_output=True, text=True, timeout=120)
        assert label.returncode == 0, label.stderr
        worker.wait_for(lambda: scrape(port).get("sparktriage_human_corrections") == {("user_code_error",): 1}, 30,
                        "the correction made by the CLI in the worker's metrics")
        assert scrape(port)["sparktriage_diagnoses_total"] == got["sparktriage_diagnoses_total"]  # made by people
        (versions,) = got["sparktriage_build_info"]
        assert len(versions) == 3 and all(versions)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").text == "ready\n"
        log = worker.log.read_text()
        assert "Traceback" not in log and "processing_error" not in log
        assert "dead letter tombstone" in log and "dead letter too_deeply_nested" in log
    finally:
        worker.stop()


def test_a_broker_outage_is_a_handful_of_log_lines_and_the_worker_carries_on(tmp_path: Path) -> None:
    broker_port = free_port()
    cut = NetCut(broker_port, free_port())
    with Broker(Settings(), port=broker_port, advertised_port=cut.port):
        port = free_port()
        worker = Worker(SimpleNamespace(bootstrap=f"127.0.0.1:{cut.port}"), tmp_path)  # type: ignore[arg-type]
        worker.env["SPARKTRIAGE_WORKER_WEB_PORT"] = str(port)
        apps = [_app_logs(tmp_path / "logs", n, text) for n, text in enumerate(FAILURES.values(), 51)]
        try:
            worker.start(STARTUP)
            worker.produce(_interleaved(apps[:1]))
            worker.wait_for(lambda: len(worker.rows("select 1 from diagnoses")) == 1, 60, "the first diagnosis")
            before = len(worker.log.read_text().splitlines())
            cut.cut()
            worker.wait_for(lambda: "Kafka broker unreachable" in worker.log.read_text(), 20, "the outage's line")
            readiness = httpx.get(f"http://127.0.0.1:{port}/readyz")
            assert readiness.status_code == 503 and "kafka: Kafka broker unreachable" in readiness.text
            time.sleep(8)
            cut.restore()
            worker.wait_for(lambda: "Kafka broker answers again" in worker.log.read_text(), 60, "the outage's end")
            during = worker.log.read_text().splitlines()[before:]
            noisy = [line for line in during if "[ERROR]" in line or "[WARNING]" in line]
            assert len(noisy) <= 6, "\n".join(noisy)
            assert sum("Kafka broker" in line for line in noisy) == 2
            worker.produce(_interleaved(apps[1:]))
            worker.wait_for(lambda: len(worker.rows("select 1 from diagnoses")) == 3, 90, "diagnoses after it")
        finally:
            worker.stop()
            cut.close()


def test_a_model_that_cannot_be_read_stops_the_worker_with_its_reason(broker: Broker, tmp_path: Path) -> None:
    """The model file is read beside the group join, not before it; unreadable, the worker still refuses
    to run: it stops with a non-zero status and says which model, without a traceback."""
    import shutil
    import subprocess
    import sys

    from classifiers.core import SHIPPED_MODEL

    model = tmp_path / "model"
    shutil.copytree(SHIPPED_MODEL, model)
    (model / "model.npz").write_bytes(b"PK\x03\x04 not a model")
    worker = Worker(broker, tmp_path)
    worker.env["SPARKTRIAGE_MODEL"] = str(model)
    done = subprocess.run([sys.executable, "-m", "sparktriage.cli", "worker"], env=worker.env,
                          capture_output=True, text=True, timeout=STARTUP)
    assert done.returncode == 2, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("sparktriage") and str(model) in last, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
