"""A worker whose local tables are ahead of the broker's changelogs says so and what to do, not faust's traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sparktriage.settings import Settings
from sparktriage.store import open_store
from sparktriage.tools.broker import Broker, free_port
from sparktriage.tools.demo import sample_dirs
from sparktriage.tools.replay import replay


def _worker(tmp_path: Path, bootstrap: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKTRIAGE_")}
    return subprocess.Popen([sys.executable, "-m", "sparktriage.cli", "--bootstrap", bootstrap, "--db",
                             f"sqlite:///{tmp_path}/s.db", "worker", "--data-dir", str(tmp_path / "state")],
                            cwd=tmp_path, env={**env, "SPARKTRIAGE_WORKER_WEB_PORT": "0"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_worker_on_a_broker_that_lost_its_topics_says_what_to_do(tmp_path: Path) -> None:
    sample = next(p for p in sample_dirs() if p.name == "yarn-memory-kill")
    with Broker(Settings(), port=free_port()) as broker:  # memory storage: its topics go with it
        worker = _worker(tmp_path, broker.bootstrap)
        try:
            app_id, _ = replay(Settings(bootstrap=broker.bootstrap), [str(sample)])
            store = open_store(f"sqlite:///{tmp_path}/s.db")
            deadline = time.monotonic() + 90
            while store.current_diagnosis(app_id) is None and time.monotonic() < deadline:
                time.sleep(0.5)
            assert store.current_diagnosis(app_id) is not None, "the first worker diagnosed nothing"
        finally:
            worker.terminate()
            worker.communicate(timeout=60)
    with Broker(Settings(), port=free_port()) as broker:
        worker = _worker(tmp_path, broker.bootstrap)
        try:
            out, _ = worker.communicate(timeout=120)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()
    last = out.strip().splitlines()[-2:]
    assert worker.returncode == 2, out[-3000:]
    assert "are ahead of their changelog topics" in last[0] and "--data-dir" in last[1], last
