"""Is the Kafka broker there? Asked once at start, answered within seconds.

Without this a worker pointed at a wrong address waits 45 s in silence, then
prints a 41-line ``KafkaTimeoutError``. A TCP connection to each bootstrap
address tells, in a few seconds, which one cannot be reached and why; with
``wait_for_broker`` (containers that start before Kafka) it keeps trying,
saying so on stderr, until one answers. A connection accepted is not enough:
a wrong port of another service (PostgreSQL's 5432, a web server), or a
firewall that accepts and forwards nowhere, would leave the Kafka client 30 s
of silence again, so the address must answer Kafka's ApiVersions request, the
one every broker answers before any authentication (with an error code if it
no longer speaks that version, but with the request's correlation id).
"""

from __future__ import annotations

import socket
import struct
import sys
import time

from sparktriage.errors import ConfigError
from sparktriage.settings import Settings

#: Seconds before an unreachable broker is reported (all addresses together).
BUDGET = 8.0
_PROBE_ID = 0x53545249
#: ApiVersions v0 (api key 18) with request header v1: correlation id and client id; its body is empty.
_REQUEST = struct.pack(">hhih", 18, 0, _PROBE_ID, len(b"sparktriage")) + b"sparktriage"
_API_VERSIONS = struct.pack(">i", len(_REQUEST)) + _REQUEST


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
            with socket.create_connection((host, port), timeout=max(0.5, (deadline - time.monotonic()) / 2)) as sock:
                if _answers_as_kafka(sock, max(1.0, deadline - time.monotonic())):
                    return None
        except OSError as exc:
            reasons.append(f"{host}:{port} ({exc.strerror or str(exc) or type(exc).__name__})")
        else:
            reasons.append(f"{host}:{port} (accepts connections but does not answer as a Kafka broker)")
    return ", ".join(reasons)


def _answers_as_kafka(sock: socket.socket, timeout: float) -> bool:
    """Whether the peer answers an ApiVersions request with a Kafka response of that correlation id."""
    sock.settimeout(timeout)
    try:
        sock.sendall(_API_VERSIONS)
        head = b""
        while len(head) < 8:  # the response's size and correlation id
            chunk = sock.recv(8 - len(head))
            if not chunk:
                return False
            head += chunk
    except OSError:  # reset, or no answer within the timeout
        return False
    size, correlation = struct.unpack(">ii", head)
    return correlation == _PROBE_ID and 4 <= size < 1 << 20


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


def port_free(host: str, port: int, what: str, hint: str = "choose another --port, or stop what listens there") -> None:
    """ConfigError when ``host:port`` cannot be listened on, said before a server (Streamlit, uvicorn) starts:
    they announce their address first, then print their own error line (and uvicorn exits 3)."""
    try:
        socket.create_server((host, port)).close()
    except OSError as exc:
        raise ConfigError(f"cannot serve {what} on {host}:{port} ({exc.strerror or exc})",
                          hint=hint) from None

