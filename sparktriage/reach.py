"""Is the Kafka broker there? Asked once at start, answered within seconds.

Without this a worker pointed at a wrong address waits 45 s in silence, then
prints a 41-line ``KafkaTimeoutError``. A TCP connection to each bootstrap
address tells, in a few seconds, which one cannot be reached and why; with
``wait_for_broker`` (containers that start before Kafka) it keeps trying,
saying so on stderr, until one answers.
"""

from __future__ import annotations

import socket
import sys
import time

from sparktriage.errors import ConfigError
from sparktriage.settings import Settings

#: Seconds before an unreachable broker is reported (all addresses together).
BUDGET = 8.0


def _address(server: str) -> tuple[str, int]:
    host, _, port = server.strip().rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"bootstrap address {server!r} is not host:port",
                          hint="give --bootstrap host:port[,host:port] (SPARKTRIAGE_BOOTSTRAP)")
    return host.strip("[]"), int(port)


def unreachable(bootstrap: str, budget: float = BUDGET) -> str | None:
    """None when some bootstrap address accepts a connection, else why none did."""
    servers = [s for s in bootstrap.split(",") if s.strip()]
    if not servers:
        raise ConfigError("no bootstrap address given", hint="give --bootstrap host:port (SPARKTRIAGE_BOOTSTRAP)")
    reasons = []
    deadline = time.monotonic() + budget
    for server in servers:
        host, port = _address(server)
        try:
            with socket.create_connection((host, port), timeout=max(0.5, (deadline - time.monotonic()) / 2)):
                return None
        except OSError as exc:
            reasons.append(f"{host}:{port} ({exc.strerror or str(exc) or type(exc).__name__})")
    return ", ".join(reasons)


def reach_broker(settings: Settings) -> None:
    """Return once the broker can be reached; else ConfigError naming the address (or wait, if asked)."""
    why = unreachable(settings.bootstrap)
    pause = 1.0
    while why is not None and settings.wait_for_broker:
        print(f"sparktriage: waiting for the Kafka broker: cannot reach {why}; trying again in {pause:.0f} s",
              file=sys.stderr, flush=True)
        time.sleep(pause)
        pause = min(pause * 2, 30.0)
        why = unreachable(settings.bootstrap)
    if why is not None:
        raise ConfigError(f"cannot reach the Kafka broker at {why}",
                          hint="check --bootstrap / SPARKTRIAGE_BOOTSTRAP and that Kafka runs there; "
                               "--wait-for-broker keeps trying")
