"""Run a command whose stdout reader has already gone (``cmd | head -1`` after head exited)."""

from __future__ import annotations

import os
import subprocess
import sys


def to_closed_pipe(argv: list[str], *, buffered: bool, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python argv`` with stdout a pipe whose reading end is closed before it starts, so every write to it
    fails. ``buffered``: without PYTHONUNBUFFERED, what is printed waits in Python's buffer and meets the
    closed pipe only when flushed, after the command's own code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKTRIAGE_") and k != "PYTHONUNBUFFERED"}
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, *argv], stdout=write, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              cwd=cwd, env=env, text=True, timeout=300)
    finally:
        os.close(write)
