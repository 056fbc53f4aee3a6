"""Spike alerts in SQL: counting a key's failures per window, and claiming each alert's start and end once.

Kept apart from ``sql.py`` for the same reason as ``outbox.py``: its own
concurrency story. Several workers evaluate the spike rule on one store, and
each notification must leave once. Opening inserts the alert row; a partial
unique index allows one open alert per (kind, key), so of two evaluators
racing, one insert fails and that one sends nothing. Closing is an UPDATE
of a still-open row: only the evaluator whose update changed it sends the
end. The notifications join the outbox in the same transaction, so a crash
loses or doubles none. On PostgreSQL an advisory lock per key also
serialises the check that no alert of the key ended a moment ago (a slower
evaluator must not reopen what a faster one just closed).
"""

from __future__ import annotations

import datetime as dt
import functools
import zlib
from collections.abc import Collection, Sequence

import sqlalchemy as sa

from sparktriage.store import outbox
from sparktriage.store import schema as t
from sparktriage.store.base import Alert, Notify
from sparktriage.store.reads import failed, utc

A, E, S = t.applications, t.exception_events, t.spike_alerts


def spike_counts(engine: sa.Engine, kind: str, key: str, categories: Collection[str],
                 windows: Sequence[tuple[dt.datetime, dt.datetime]]) -> list[int]:
    """One query for every window (the statement built once per kind and number of windows)."""
    params: dict[str, object] = {"categories": sorted(categories), "key": key}
    for n, (start, end) in enumerate(windows):
        params[f"start{n}"], params[f"end{n}"] = start, end
    with engine.connect() as conn:
        return [int(n) for n in conn.execute(_spike_query(kind, len(windows)), params).one()]


@functools.cache
def _spike_query(kind: str, windows: int) -> sa.Select:
    """A count per window, each an index range of ``ix_applications_category_ended``: an application row
    carries its current diagnosis's top-level category (``sql.make_current``), so no diagnosis is read.
    Built once: composing the expression took longer than SQLite took to answer it (the worker checks
    a key on nearly every infra diagnosis)."""
    if kind == "queue":
        of_key = [A.c.queue == sa.bindparam("key")]
    elif kind == "host":
        of_key = [sa.select(E.c.id).where(E.c.app_id == A.c.app_id, E.c.attempt == A.c.attempt,
                                          E.c.host == sa.bindparam("key")).exists()]
    elif kind == "category":
        of_key = []
    else:
        raise ValueError(f"unknown spike kind {kind!r}")
    categories = sa.bindparam("categories", expanding=True)
    return sa.select(*(
        sa.select(sa.func.count()).select_from(A).where(
            A.c.ended >= sa.bindparam(f"start{n}", type_=A.c.ended.type),
            A.c.ended < sa.bindparam(f"end{n}", type_=A.c.ended.type),
            A.c.top_category.in_(categories), failed(), *of_key).scalar_subquery()
        for n in range(windows)))


def first_ended(engine: sa.Engine) -> dt.datetime | None:
    with engine.connect() as conn:
        return utc(conn.execute(sa.select(sa.func.min(A.c.ended))).scalar_one())


def _alert(row: sa.Row) -> Alert:
    return Alert(row.id, row.kind, row.key, utc(row.started), row.count, row.baseline, utc(row.ended), row.end_count)


def _lock(conn: sa.Connection, kind: str, key: str) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("select pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(f"spike:{kind}:{key}".encode())})


def _enqueue(conn: sa.Connection, alert: Alert, phase: str, notify: Notify, sink: str) -> None:
    outbox.enqueue(conn, app_id=f"spike/{alert.id}", attempt=0, diagnosis_id=0, key=f"spike/{alert.id}/{phase}",
                   outgoing=notify(alert), now=dt.datetime.now(dt.UTC), sink=sink)


def open_alert(engine: sa.Engine, kind: str, key: str, *, at: dt.datetime, count: int, baseline: float,
               quiet_since: dt.datetime, notify: Notify, sink: str = "alert") -> Alert | None:
    try:
        with engine.begin() as conn:
            _lock(conn, kind, key)
            recent = conn.execute(sa.select(S.c.id).where(
                S.c.kind == kind, S.c.key == key, sa.or_(S.c.ended.is_(None), S.c.ended > quiet_since))).first()
            if recent is not None:
                return None
            alert_id = conn.execute(sa.insert(S).values(kind=kind, key=key, started=at, count=count,
                                                        baseline=baseline)).inserted_primary_key[0]
            alert = Alert(alert_id, kind, key, at, count, baseline)
            _enqueue(conn, alert, "start", notify, sink)
            return alert
    except sa.exc.IntegrityError:  # another evaluator opened it between our check and insert
        return None


def close_alert(engine: sa.Engine, alert: Alert, *, at: dt.datetime, count: int, notify: Notify,
                sink: str = "alert") -> Alert | None:
    with engine.begin() as conn:
        _lock(conn, alert.kind, alert.key)
        changed = conn.execute(sa.update(S).where(S.c.id == alert.id, S.c.ended.is_(None))
                               .values(ended=at, end_count=count)).rowcount
        if changed != 1:
            return None
        closed = Alert(alert.id, alert.kind, alert.key, alert.started, alert.count, alert.baseline, at, count)
        _enqueue(conn, closed, "end", notify, sink)
        return closed


def open_alerts(engine: sa.Engine) -> list[Alert]:
    with engine.connect() as conn:
        return [_alert(r) for r in conn.execute(sa.select(S).where(S.c.ended.is_(None)).order_by(S.c.id))]
