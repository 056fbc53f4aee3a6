"""Shared fixtures: a real Tansu broker on loopback, a throwaway PostgreSQL database."""

from __future__ import annotations

import os

# One BLAS thread per process, set before NumPy loads OpenBLAS: the suite runs beside its brokers and
# workers on a 2-core machine, where OpenBLAS's spinning threads fight them for the cores. Training the
# test model (L-BFGS on a million coefficients) took 141 s with 2 threads at load 8, 45 s with one.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sparktriage.tools.broker import Broker, free_port
from sparktriage.settings import Settings

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


def loghub(name: str) -> Path:
    """A loghub sample from ../shared/data; skips (or fails under CI=true) when it is absent."""
    return shared(f"loghub/{name}")


def shared(relative: str) -> Path:
    """A file of ../shared/data; skips (or fails under CI=true) when it is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        if os.environ.get("CI") == "true":
            raise FileNotFoundError(f"CI=true but {path} is missing: shared/ must sit beside the clone")
        pytest.skip(f"{path} is absent (shared/ is not beside this checkout)")
    return path


PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def running_receiver(secret: str, **options: object) -> Iterator:
    """The example webhook receiver (examples/receiver.py) on a loopback port, in a thread."""
    import threading

    from examples.receiver import Receiver

    server = Receiver(0, secret, **options)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def broker() -> Iterator[Broker]:
    """One real Tansu broker for the test session, bound to 127.0.0.1."""
    with Broker(Settings(), port=free_port()) as running:
        yield running


@contextmanager
def _throwaway_pg_database() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped afterwards.

    Skips with a reason when no server answers, except under CI=true where
    the PostgreSQL tests must run.
    """
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"CI=true but PostgreSQL on 127.0.0.1:5432 is unreachable: {exc}") from exc
        pytest.skip(f"no PostgreSQL on 127.0.0.1:5432 ({exc.__class__.__name__})")
    name = f"sparktriage_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'create database "{name}"'))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """One throwaway PostgreSQL database for the test session."""
    with _throwaway_pg_database() as url:
        yield url


@pytest.fixture
def empty_pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL database of this test's own (migrations start from nothing)."""
    with _throwaway_pg_database() as url:
        yield url


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The store that ``sparktriage demo`` fills (broker, worker, receiver, the samples replayed), run once
    for the session; fails unless every sample application is diagnosed within a minute."""
    from sparktriage.tools.demo import run_demo, sample_dirs

    tmp = tmp_path_factory.mktemp("demo")
    db = f"sqlite:///{tmp}/demo.db"
    diagnosed = run_demo(Settings(db=db, broker_port=free_port(), data_dir=str(tmp / "var")), timeout=60,
                         keep_running=False)
    assert diagnosed == len(sample_dirs()), f"the demo diagnosed {diagnosed} of {len(sample_dirs())} samples"
    return db
