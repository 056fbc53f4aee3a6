"""The outbox in SQL: claiming due webhook deliveries and recording each try.

Kept apart from ``sql.py`` (applications and diagnoses) because it has its
own concurrency story: several workers may dispatch from one PostgreSQL
store, so a claim takes rows with ``FOR UPDATE SKIP LOCKED`` and pushes
their ``next_try`` past a lease; a dispatcher that dies mid-send leaves the
row to be claimed again when the lease runs out (the receiver deduplicates
by idempotency key).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from sparktriage.store import schema as t
from sparktriage.store.base import Delivery, Outcome

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"


def enqueue(conn: sa.Connection, *, app_id: str, attempt: int, diagnosis_id: int, key: str,
            outgoing: Sequence[tuple[str, str]], now: dt.datetime, sink: str = "webhook") -> None:
    for url, body in outgoing:
        exists = conn.execute(sa.select(t.deliveries.c.id).where(
            t.deliveries.c.idempotency_key == key, t.deliveries.c.url == url)).first()
        if exists is None:
            conn.execute(sa.insert(t.deliveries).values(
                app_id=app_id, attempt=attempt, diagnosis_id=diagnosis_id, sink=sink, url=url,
                idempotency_key=key, body=body, status=PENDING, tries=0, next_try=now, created=now))


def claim_due(engine: sa.Engine, now: dt.datetime, limit: int, lease: float) -> list[Delivery]:
    d = t.deliveries
    with engine.begin() as conn:
        rows = conn.execute(
            sa.select(d.c.id, d.c.app_id, d.c.attempt, d.c.url, d.c.idempotency_key, d.c.body, d.c.tries, d.c.sink)
            .where(d.c.status == PENDING, d.c.next_try <= now)
            .order_by(d.c.next_try).limit(limit).with_for_update(skip_locked=True)
        ).all()
        if rows:
            conn.execute(sa.update(d).where(d.c.id.in_([r.id for r in rows]))
                         .values(next_try=now + dt.timedelta(seconds=lease)))
    return [Delivery(r.id, r.app_id, r.attempt, r.url, r.idempotency_key, r.body, r.tries, r.sink) for r in rows]


def record_try(engine: sa.Engine, delivery: Delivery, *, at: dt.datetime, status: int | None,
               error: str | None, duration_ms: float, outcome: Outcome, next_try: dt.datetime | None) -> None:
    d = t.deliveries
    tries = delivery.tries + 1
    values: dict = {"tries": tries, "last_status": status, "last_error": error}
    if outcome == "retry":
        values.update(next_try=next_try)
    else:
        values.update(status=DELIVERED if outcome == "delivered" else DEAD, finished=at)
    with engine.begin() as conn:
        conn.execute(sa.insert(t.delivery_attempts).values(
            delivery_id=delivery.id, try_number=tries, at=at, status=status, error=error, duration_ms=duration_ms))
        conn.execute(sa.update(d).where(d.c.id == delivery.id).values(**values))
        if outcome == "dead":
            conn.execute(sa.insert(t.dead_letters).values(
                source="webhook", reason="delivery_failed", created=at, payload=delivery.body,
                detail=f"{delivery.url} gave up after {tries} tries: {error or status}"))


def pending_count(engine: sa.Engine) -> int:
    d = t.deliveries
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(d).where(d.c.status == PENDING)).scalar_one()
