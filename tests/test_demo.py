"""``sparktriage demo`` as README's first command runs it: kept running, then stopped like Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sparktriage.settings import Settings
from sparktriage.tools.broker import free_port
from sparktriage.tools.demo import run_demo, sample_dirs


def test_a_demo_stopped_after_its_diagnoses_exits_0_and_shows_a_command_that_runs(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKTRIAGE_")}
    env.update(SPARKTRIAGE_BROKER_PORT=str(free_port()), SPARKTRIAGE_DASHBOARD_PORT=str(free_port()),
               SPARKTRIAGE_DB=f"sqlite:///{tmp_path}/demo.db", SPARKTRIAGE_DATA_DIR=str(tmp_path / "var"))
    demo = subprocess.Popen([sys.executable, "-m", "sparktriage.cli", "demo"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = []
    try:
        for line in demo.stdout:  # type: ignore[union-attr]
            out.append(line)
            if "keep running" in line:
                break
        demo.send_signal(signal.SIGTERM)  # the demo stops on SIGTERM as on Ctrl-C
        out += demo.stdout.read()  # type: ignore[union-attr]
        assert demo.wait(timeout=60) == 0, "".join(out)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    text = "".join(out)
    assert text.count("diagnosed application_") == len(sample_dirs()), text
    look = next(line for line in out if line.startswith("look closer: "))
    shown = look.removeprefix("look closer: ").split()
    assert shown[:2] == ["sparktriage", "classify"], look
    proc = subprocess.run([sys.executable, "-m", "sparktriage.cli", *shown[1:]], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("root cause: "), proc.stderr


def test_a_second_demo_in_the_same_folder_diagnoses_again(tmp_path: Path) -> None:
    """Its broker is new and empty: the first demo's worker tables must not stop the second's worker."""
    for run in ("first", "second"):  # a store each, so that the second waits for its own worker's diagnoses
        settings = Settings(db=f"sqlite:///{tmp_path}/{run}.db", broker_port=free_port(),
                            data_dir=str(tmp_path / "var"))
        diagnosed = run_demo(settings, timeout=60, keep_running=False)
        assert diagnosed == len(sample_dirs()), (run, (tmp_path / "var" / "worker.log").read_text()[-3000:])
