"""``sparktriage demo``: the whole flow on one machine in under a minute.

Embedded broker, the worker, the example webhook receiver, a replay of the
sample failed applications, their diagnoses read back from the store, then
the dashboard. Everything runs as child processes so Ctrl-C stops it all.
"""

from __future__ import annotations

import importlib.resources
import json
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from sparktriage.tools.broker import Broker, free_port, wait_for_port
from sparktriage.tools.replay import replay
from sparktriage.settings import Settings
from sparktriage.store import open_store


def sample_dirs() -> list[Path]:
    root = Path(str(importlib.resources.files("sparktriage.tools") / "samples"))
    return sorted(p for p in root.iterdir() if (p / "metadata.json").is_file())


def _cli(settings: Settings, *args: str) -> list[str]:
    return [sys.executable, "-m", "sparktriage.cli", "--bootstrap", settings.bootstrap, "--db", settings.db, *args]


RECEIVER = Path(__file__).resolve().parents[2] / "examples" / "receiver.py"


def _start_receiver(settings: Settings, children: list[subprocess.Popen[bytes]]) -> Settings:
    """With no webhook configured, the example receiver of the repo stands in for the workflow tool."""
    if settings.webhook_url or not RECEIVER.is_file():
        return settings
    port, secret = free_port(), secrets.token_hex(16)
    log = open(Path(settings.data_dir) / "receiver.log", "ab")
    children.append(subprocess.Popen([sys.executable, str(RECEIVER), "--port", str(port), "--secret", secret,
                                      "--print"], stdout=log, stderr=subprocess.STDOUT))
    wait_for_port(port)
    print(f"receiver http://127.0.0.1:{port}/ (the example webhook receiver's exceptions tab; "
          f"requests in {settings.data_dir}/receiver.log)")
    return settings.replace(webhook_url=f"http://127.0.0.1:{port}/hook", webhook_secret=secret)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_demo(settings: Settings, timeout: float = 60.0, keep_running: bool = True) -> int:
    """Returns how many sample applications were diagnosed in time."""
    settings = settings.replace(producer_max_batch_size=1, session_timeout=6.0, worker_web_port=0,
                                inactivity_check_interval=5.0)
    children: list[subprocess.Popen[bytes]] = []
    # SIGTERM (a supervisor, `timeout`) stops the demo like Ctrl-C: its children are stopped too.
    signal.signal(signal.SIGTERM, _interrupt)
    with Broker(settings) as broker:
        settings = settings.replace(bootstrap=broker.bootstrap)
        print(f"broker   {broker.bootstrap} (embedded Tansu, memory storage)")
        Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
        settings = _start_receiver(settings, children)
        log = open(Path(settings.data_dir) / "worker.log", "ab")
        webhook = ["--webhook-url", settings.webhook_url, "--webhook-secret", settings.webhook_secret or ""] \
            if settings.webhook_url else []
        # The worker's tables mirror this broker's changelogs, gone with it (memory storage): a previous demo's
        # tables are ahead of them and faust stops the worker (ConsistencyError), and a worker of the user's
        # own, on data_dir, must not meet them either.
        state = Path(settings.data_dir) / "demo"
        shutil.rmtree(state, ignore_errors=True)
        children.append(subprocess.Popen(_cli(settings, "worker", "--data-dir", str(state), *webhook),
                                         stdout=log, stderr=subprocess.STDOUT))
        print(f"worker   started (log: {settings.data_dir}/worker.log)")
        done: dict[str, str] = {}
        try:
            store = open_store(settings.db)
            samples = sample_dirs()
            for folder in samples:
                app_id, sent = replay(settings, [str(folder)])
                print(f"replayed {folder.name}: {sent} records of {app_id}")
            deadline = time.monotonic() + timeout
            while len(done) < len(samples) and time.monotonic() < deadline:
                for folder in samples:
                    app_id = json.loads((folder / "metadata.json").read_text())["app_id"]
                    found = store.current_diagnosis(app_id)
                    if found is not None and app_id not in done:
                        done[app_id] = found.category
                        print(f"diagnosed {app_id}: {found.category} ({found.rule_id or found.source}, "
                              f"confidence {found.confidence:.2f})")
                time.sleep(0.5)
            print(f"\n{len(done)}/{len(samples)} sample applications diagnosed; store: {settings.db}")
            print(f"look closer: sparktriage classify {samples[0]}")  # classify reads no store
            if keep_running:
                dashboard_log = open(Path(settings.data_dir) / "dashboard.log", "ab")
                children.append(subprocess.Popen(_cli(settings, "dashboard"), stdout=dashboard_log,
                                                 stderr=subprocess.STDOUT))
                print(f"dashboard http://127.0.0.1:{settings.dashboard_port}/ (for a longer history: "
                      f"sparktriage --db sqlite:///var/seeded.db seed, then dashboard)")
                print("worker, broker, receiver and dashboard keep running; Ctrl-C stops them")
                children[0].wait()
            return len(done)
        except KeyboardInterrupt:  # how a kept-running demo ends: what it diagnosed is its outcome
            return len(done)
        finally:
            for child in children:
                child.terminate()
                child.wait(timeout=20)
