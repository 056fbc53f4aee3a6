"""Alembic migrations build exactly the schema the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from sparktriage.store import open_store
from sparktriage.store import schema as t


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/m.db"
    return request.getfixturevalue("empty_pg_url")


def test_migrations_produce_the_declared_schema(empty_url: str) -> None:
    store = open_store(empty_url)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), t.metadata)
        version = conn.execute(sa.text("select version_num from alembic_version")).scalar_one()
    assert diff == []
    assert version == "0004"


def test_a_store_from_before_migrations_is_stamped_and_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    engine = sa.create_engine(url)
    old_tables = [table for table in t.metadata.sorted_tables if not table.name.startswith("deliver")]
    t.metadata.create_all(engine, tables=old_tables)  # what the first release's create_all made...
    with engine.begin() as conn:  # ...which had none of the later revisions' indexes
        for index in ("ix_applications_ended_cover", "ix_diagnoses_current_cover", "ix_events_app_host"):
            conn.exec_driver_sql(f"drop index {index}")
    engine.dispose()
    store = open_store(url)
    assert {"deliveries", "delivery_attempts"} <= set(sa.inspect(store.engine).get_table_names())
    open_store(url)  # a second start has nothing left to do
