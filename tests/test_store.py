"""The store on SQLite and PostgreSQL: idempotent saves, history, dead letters."""

from __future__ import annotations

from dataclasses import MISSING, fields, replace
from pathlib import Path

import pytest

from sparktriage.records import (AppInfo, Cause, Diagnosis, Evidence, ExceptionEvent, ExceptionGroup, Origin,
                                 Workflow)
from sparktriage.store import MemoryStore, open_store
from sparktriage.store.base import dead_letter_origin


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "memory":
        return MemoryStore()
    if request.param == "sqlite":
        return open_store(f"sqlite:///{tmp_path}/db/st.db")
    url = request.getfixturevalue("pg_url")
    s = open_store(url)
    with s.engine.begin() as conn:  # a clean slate per test on the shared session database
        for table in ("applications", "exception_events", "diagnoses", "dead_letters", "deliveries",
                      "delivery_attempts"):
            conn.exec_driver_sql(f"delete from {table}")
    return s


APP = AppInfo(app_id="application_1700000000000_0042", attempt=1, team="ads", user="etl", queue="prod",
              workflow=Workflow("ads", "daily", "agg", "981"), started=1_700_000_000.0, ended=1_700_000_600.0,
              final_status="FAILED")
EVENTS = [
    ExceptionEvent(app_id=APP.app_id, text="java.io.FileNotFoundException: /x", exc_class="java.io.FileNotFoundException",
                   causes=(Cause("java.io.FileNotFoundException", "/x"),), ts=1_700_000_100.0, line=12,
                   excerpt=("java.io.FileNotFoundException: /x",), role="driver", container_id="c1"),
]


def diag(category: str = "input_missing", rule: str = "hdfs-path-missing") -> Diagnosis:
    return Diagnosis(app_id=APP.app_id, category=category, domain="data", confidence=0.9, source="rule",
                     rule_id=rule, explain="An input is missing.", remediation="Check the path.",
                     evidence=(Evidence("java.io.FileNotFoundException: /x", "c1", "driver", None, 12),),
                     rule_pack_version="builtin@1")


def test_redelivery_changes_nothing(store) -> None:
    assert store.save(APP, EVENTS, diag()) is True
    before = store.counts()
    assert store.save(APP, EVENTS, diag()) is False
    assert store.counts() == before
    assert before["applications"] == 1 and before["exception_events"] == 1 and before["diagnoses"] == 1


def test_changed_diagnosis_supersedes_and_keeps_history(store) -> None:
    store.save(APP, EVENTS, diag())
    assert store.save(APP, EVENTS, diag("access_denied", "hdfs-denied")) is True
    current = store.current_diagnosis(APP.app_id)
    assert current is not None and current.category == "access_denied"
    assert store.counts()["diagnoses"] == 2


def test_round_trip_is_identical(store) -> None:
    """Every field of a diagnosis comes back as it was saved (none left at its default here)."""
    second = replace(APP, attempt=2)
    want = replace(diag(), attempt=2, hint="executor_oom", notes=("the model said executor_oom (0.70)",),
                   exceptions=(ExceptionGroup("java.io.FileNotFoundException", "/x", 2, 1_700_000_100.0, 12, "c1",
                                              ("driver",), "input_missing"),),
                   model_version="textcat@2", final_status=APP.final_status)
    assert all(getattr(want, f.name) != f.default for f in fields(want) if f.default is not MISSING)
    store.save(second, EVENTS, want)
    assert store.current_diagnosis(APP.app_id, 2) == want
    assert store.current_diagnosis(APP.app_id) == want


def test_dead_letters_are_kept(store) -> None:
    store.record_dead_letter("input", "malformed_json", "line 1", "{oops")
    assert store.counts()["dead_letters"] == 1


def test_a_dead_letter_is_kept_once_per_origin(store) -> None:
    """A record refused again (consumed again after a crash, or sent again by the repacking stage) is one
    dead letter; the same bytes read elsewhere, or other bytes at a place read again (a topic made anew)
    are others."""
    here = dead_letter_origin(Origin("spark-lines", 2, 7), None, b"{oops")
    assert store.record_dead_letter("input", "malformed_json", "line 1", "{oops", origin=here)
    assert not store.record_dead_letter("input", "malformed_json", "line 1", "{oops", origin=here)
    for other in (dead_letter_origin(Origin("spark-lines", 2, 8), None, b"{oops"),
                  dead_letter_origin(Origin("spark-lines", 2, 7), None, b"{oops!"),
                  dead_letter_origin(Origin("spark-lines", 2, 7), b"k", b"{oops"), None, None):
        assert store.record_dead_letter("input", "malformed_json", "line 1", "{oops", origin=other)
    assert store.counts()["dead_letters"] == 6


def _sample_batch() -> list:
    """Real diagnoses: the demo's sample applications through the real classifier."""
    from classifiers.core import load_classifier
    from sparktriage.tools.classify import events_of_paths
    from sparktriage.tools.demo import sample_dirs
    from sparktriage.settings import Settings

    classifier = load_classifier(Settings())
    batch = []
    for folder in sample_dirs():
        app, events = events_of_paths([str(folder)])
        batch.append((app, events, classifier.diagnose(events, app)))
    return batch


def _utc(value):
    """SQLite keeps no zone: its datetimes come back naive, in UTC as written."""
    import datetime as dt

    return value.replace(tzinfo=dt.UTC) if isinstance(value, dt.datetime) and value.tzinfo is None else value


def _dump(store) -> list:
    import sqlalchemy as sa

    from sparktriage.store import schema as t
    skip = {"id", "created", "updated", "superseded", "superseded_by"}
    with store.engine.connect() as conn:
        return [[{k: _utc(v) for k, v in row.items() if k not in skip} for row in conn.execute(
            sa.select(table).order_by(*table.primary_key.columns, *[c for c in table.c if c.name in ("app_id", "seq")])
        ).mappings()] for table in (t.applications, t.exception_events, t.diagnoses)]


def test_sqlite_and_postgresql_store_the_same(tmp_path: Path, empty_pg_url: str) -> None:
    a, b = open_store(f"sqlite:///{tmp_path}/a.db"), open_store(empty_pg_url)
    batch = _sample_batch()
    assert len(batch) >= 3
    for s in (a, b):
        for app, events, diagnosis in batch:
            assert s.save(app, events, diagnosis)
    assert _dump(a) == _dump(b)
    for app, _, _ in batch:
        assert a.current_diagnosis(app.app_id) == b.current_diagnosis(app.app_id)
    counts = a.counts(), b.counts()
    for s in (a, b):  # the whole batch delivered again
        assert not any(s.save(app, events, diagnosis) for app, events, diagnosis in batch)
    assert (a.counts(), b.counts()) == counts


def test_old_excerpts_are_purged_and_the_text_kept(store) -> None:
    import datetime as dt

    store.save(APP, EVENTS, diag())
    assert store.purge_excerpts(dt.datetime.fromtimestamp(APP.ended - 60, dt.UTC)) == 0  # ended after the cutoff
    assert store.purge_excerpts(dt.datetime.fromtimestamp(APP.ended + 60, dt.UTC)) == 1
    assert store.purge_excerpts(dt.datetime.fromtimestamp(APP.ended + 60, dt.UTC)) == 0  # already done


def test_the_retention_command_purges_old_excerpts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sqlalchemy as sa

    from sparktriage import cli
    from sparktriage.store import schema as t

    url = f"sqlite:///{tmp_path}/r.db"
    open_store(url).save(APP, EVENTS, diag())
    assert cli.main(["--db", url, "retention"]) == 2, "no retention configured: refuse, purge nothing"
    assert cli.main(["--db", url, "retention", "--days", "30"]) == 0  # APP ended in 2023
    assert "excerpts of 1 exception events" in capsys.readouterr().out
    with open_store(url).engine.connect() as conn:
        excerpt, text = conn.execute(sa.select(t.exception_events.c.excerpt, t.exception_events.c.text)).one()
    assert excerpt is None and text == EVENTS[0].text


def test_outbox_depth_counts_what_is_still_pending(store) -> None:
    import datetime as dt

    store.ping()
    assert store.outbox_depth() == 0
    store.save(APP, EVENTS, diag(), [("http://127.0.0.1:9/a", "{}"), ("http://127.0.0.1:9/b", "{}")])
    assert store.outbox_depth() == 2
    now = dt.datetime.now(dt.UTC)
    first, second = store.claim_due(now, 10, lease=5.0)
    store.record_try(first, at=now, status=200, error=None, duration_ms=1.0, outcome="delivered", next_try=None)
    store.record_try(second, at=now, status=503, error="busy", duration_ms=1.0, outcome="retry",
                     next_try=now + dt.timedelta(seconds=1))
    assert store.outbox_depth() == 1  # a retry is still waiting
    store.record_try(second, at=now, status=503, error="busy", duration_ms=1.0, outcome="dead", next_try=None)
    assert store.outbox_depth() == 0
    later = now + dt.timedelta(hours=1)  # every lease long expired
    assert store.claim_due(later, 10, lease=5.0) == [], "a delivered or dead delivery is never sent again"


def test_applications_carry_their_current_diagnosis(store) -> None:
    """The worker's saves and a human correction keep the application's copy of its current category."""
    if isinstance(store, MemoryStore):
        pytest.skip("the copy is the SQL store's, for its read side")
    from tests.store_checks import assert_applications_carry_their_current_diagnosis as agree

    store.save(APP, EVENTS, diag())
    agree(store.engine)
    store.save(APP, EVENTS, replace(diag("executor_oom/gc_overhead", "gc-overhead"), domain="user"))
    agree(store.engine)
    store.save(replace(APP, attempt=2), EVENTS, replace(diag("disk_full", "no-space"), domain="infra"))  # its own
    store.label(APP.app_id, 1, "user_code_error", note=None, author="ana")
    agree(store.engine)
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("select attempt, category, top_category, domain from applications "
                                    "order by attempt").all()
    assert [tuple(r) for r in rows] == [(1, "user_code_error", "user_code_error", "user"),
                                        (2, "disk_full", "disk_full", "infra")]
