"""Alembic migrations build exactly the schema the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from sparktriage.store import open_store
from sparktriage.store.sql import MIGRATIONS
from sparktriage.store import schema as t


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/m.db"
    return request.getfixturevalue("empty_pg_url")


def _head() -> str:
    """The newest revision shipped with the package (what every store must end at)."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def _state(engine: sa.Engine) -> tuple[list, str]:
    """What differs from the declared schema (tables, columns, indexes), and the version stamp."""
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), t.metadata)
        version = conn.execute(sa.text("select version_num from alembic_version")).scalar_one()
    return diff, version


def test_migrations_produce_the_declared_schema(empty_url: str) -> None:
    store = open_store(empty_url)
    assert _state(store.engine) == ([], _head())


LATER_INDEXES = ("ix_applications_ended_cover", "ix_diagnoses_current_cover", "ix_events_app_host")


def test_a_store_from_before_migrations_is_stamped_and_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    engine = sa.create_engine(url)
    later = ("deliver", "api_tokens", "spike_alerts")  # tables of later revisions
    old_tables = [table for table in t.metadata.sorted_tables if not table.name.startswith(later)]
    t.metadata.create_all(engine, tables=old_tables)  # what the first release's create_all made...
    with engine.begin() as conn:  # ...which had none of the later revisions' indexes
        for index in LATER_INDEXES:
            conn.exec_driver_sql(f"drop index {index}")
    engine.dispose()
    store = open_store(url)
    assert _state(store.engine) == ([], _head()), "every later table, column and index is there, stamped at head"
    indexes = {ix["name"] for table in ("applications", "diagnoses", "exception_events")
               for ix in sa.inspect(store.engine).get_indexes(table)}
    assert set(LATER_INDEXES) <= indexes
    store.engine.dispose()
    again = open_store(url)  # a second start has nothing left to do
    assert _state(again.engine) == ([], _head())
