"""Whether a bootstrap address is a Kafka broker, told within seconds (``sparktriage.reach``)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sparktriage.reach import unreachable
from sparktriage.tools.demo import sample_dirs


@contextmanager
def listener(answer: bytes | None) -> Iterator[str]:
    """A loopback TCP server that accepts every connection and sends ``answer`` to what it reads, or nothing."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)  # kept open: a silent peer, not a closed one
            if answer is not None:
                conn.recv(4096)
                conn.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()
        for conn in held:
            conn.close()


def test_the_real_broker_answers(broker) -> None:
    assert unreachable(broker.bootstrap) is None
    assert unreachable(f"127.0.0.1:1,{broker.bootstrap}") is None  # one address that answers is enough


def test_a_port_that_accepts_and_says_nothing_is_not_a_broker() -> None:
    with listener(None) as address:
        why = unreachable(address, budget=1.0)
    assert why is not None and address in why and "does not answer as a Kafka broker" in why


def test_a_port_that_answers_another_protocol_is_not_a_broker() -> None:
    with listener(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n") as address:
        why = unreachable(address, budget=1.0)
    assert why is not None and "does not answer as a Kafka broker" in why


def test_replay_to_a_port_that_is_not_kafka_says_so_in_two_lines(tmp_path: Path) -> None:
    sample = next(p for p in sample_dirs() if p.name == "yarn-memory-kill")
    with listener(b"HTTP/1.1 400 Bad Request\r\n\r\n") as address:
        proc = subprocess.run([sys.executable, "-m", "sparktriage.cli", "--bootstrap", address, "replay", str(sample)],
                              cwd=tmp_path, capture_output=True, text=True, timeout=60)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert address in lines[0] and "does not answer as a Kafka broker" in lines[0]
