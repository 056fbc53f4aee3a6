"""Alembic migrations build exactly the schema the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from sparktriage.store import open_store
from sparktriage.store.sql import MIGRATIONS, head_revision
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


LATER_INDEXES = ("ix_applications_ended_cover", "ix_diagnoses_current_cover", "ix_events_app_host",
                 "ix_applications_category_ended", "ix_applications_team_category_ended", "ix_applications_user_ended",
                 "ix_applications_summary", "ux_dead_letters_origin")
LATER_COLUMNS = {"applications": ("category", "top_category", "domain"), "dead_letters": ("origin",)}


def test_a_store_from_before_migrations_is_stamped_and_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    engine = sa.create_engine(url)
    later = ("deliver", "api_tokens", "spike_alerts")  # tables of later revisions
    old_tables = [table for table in t.metadata.sorted_tables if not table.name.startswith(later)]
    t.metadata.create_all(engine, tables=old_tables)  # what the first release's create_all made...
    with engine.begin() as conn:  # ...which had none of the later revisions' indexes
        for index in LATER_INDEXES:
            conn.exec_driver_sql(f"drop index {index}")
        for table, columns in LATER_COLUMNS.items():
            for column in columns:
                conn.exec_driver_sql(f"alter table {table} drop column {column}")
    engine.dispose()
    store = open_store(url)
    assert _state(store.engine) == ([], _head()), "every later table, column and index is there, stamped at head"
    indexes = {ix["name"] for table in ("applications", "diagnoses", "exception_events", "dead_letters")
               for ix in sa.inspect(store.engine).get_indexes(table)}
    assert set(LATER_INDEXES) <= indexes
    store.engine.dispose()
    again = open_store(url)  # a second start has nothing left to do
    assert _state(again.engine) == ([], _head())


def test_the_current_category_is_copied_onto_applications_by_0007(empty_url: str) -> None:
    """A store at 0006 holding superseded and current diagnoses, and an application without one, upgraded."""
    import datetime as dt

    from alembic import command
    from alembic.config import Config

    from tests.store_checks import assert_applications_carry_their_current_diagnosis

    engine = sa.create_engine(empty_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0006")
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)

    def diagnosis(app_id: str, category: str, domain: str, superseded: dt.datetime | None) -> dict:
        return {"app_id": app_id, "attempt": 1, "category": category, "top_category": category.split("/")[0],
                "domain": domain, "confidence": 0.9, "source": "rule", "fingerprint": category, "created": now,
                "superseded": superseded}

    with engine.begin() as conn:
        conn.execute(sa.insert(t.applications), [{"app_id": a, "attempt": 1, "updated": now, "ended": now}
                                                 for a in ("relabelled", "once", "undiagnosed")])
        conn.execute(sa.insert(t.diagnoses), [diagnosis("relabelled", "access_denied", "data", now),
                                              diagnosis("relabelled", "auth_failure/kerberos", "platform", None),
                                              diagnosis("once", "disk_full", "infra", None)])
    engine.dispose()
    store = open_store(empty_url)
    assert _state(store.engine) == ([], _head())
    with store.engine.connect() as conn:
        copied = dict((r[0], tuple(r[1:])) for r in conn.exec_driver_sql(
            "select app_id, category, top_category, domain from applications"))
    assert copied == {"relabelled": ("auth_failure/kerberos", "auth_failure", "platform"),
                      "once": ("disk_full", "disk_full", "infra"), "undiagnosed": (None, None, None)}
    assert_applications_carry_their_current_diagnosis(store.engine)
    store.engine.dispose()


def test_the_head_revision_read_from_the_file_names_is_alembics() -> None:
    assert head_revision() == _head()


def test_a_store_at_the_newest_revision_opens_without_running_alembic(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/m.db"
    open_store(url)
    from alembic import command

    def refused(*_: object) -> None:
        raise AssertionError("Alembic ran on a store already at the newest revision")

    monkeypatch.setattr(command, "upgrade", refused)
    assert _state(open_store(url).engine) == ([], _head())
    with open_store(url).engine.begin() as conn:  # one revision behind: Alembic runs again
        conn.execute(sa.text("update alembic_version set version_num = '0006'"))
    with pytest.raises(AssertionError, match="Alembic ran"):
        open_store(url)
