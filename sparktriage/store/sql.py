"""The SQLAlchemy store: SQLite file by default, PostgreSQL for several workers.

Writes are idempotent: the application row is a dialect-native upsert, and a
diagnosis whose fingerprint equals the current one writes nothing, so a
Kafka record delivered twice never makes a second row. A changed diagnosis
supersedes the current one in the same transaction; a partial unique index
keeps exactly one current diagnosis per attempt even under races.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from sparktriage import dburl
from sparktriage.errors import BadInput, ConfigError
from sparktriage.records import AppInfo, Cause, Diagnosis, ExceptionEvent
from sparktriage.store import alerts, outbox
from sparktriage.store import schema as t
from sparktriage.store.base import Alert, Delivery, Notify, Outcome, fingerprint, idempotency_key
from sparktriage.taxonomy import domain_of, is_known, top_level


def _when(epoch: float | None) -> dt.datetime | None:
    return None if epoch is None else dt.datetime.fromtimestamp(epoch, dt.UTC)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def head_revision() -> str:
    """The newest revision shipped, without Alembic: each file of ``versions`` is named after its revision
    (``0007_...py`` holds revision ``"0007"``, its down revision the one before; test_migrations checks)."""
    return max(path.name.split("_", 1)[0] for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def _at_head(engine: sa.Engine) -> bool:
    """Whether the store is stamped at the newest revision: what a worker's every start but the first
    after an upgrade finds, for the price of a version query instead of importing Alembic (half a second)."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return False
        return conn.execute(sa.text("select version_num from alembic_version")).scalar() == head_revision()


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest Alembic revision (shipped with the package).

    A store created before migrations existed (same tables, no
    ``alembic_version``) is stamped at the first revision, then upgraded.
    On PostgreSQL an advisory lock serialises workers starting together.
    """
    if _at_head(engine):
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("select pg_advisory_xact_lock(727274)"))
        config.attributes["connection"] = conn
        tables = set(sa.inspect(conn).get_table_names())
        if "applications" in tables and "alembic_version" not in tables:
            command.stamp(config, "0001")
        command.upgrade(config, "head")


def open_store(url: str) -> SqlStore:
    """Connect and migrate the schema to the newest revision (a SQLite file's folder too: settings
    refuse a missing folder outside the data directory before this is reached).

    A store that cannot be opened is a ConfigError saying which one and what to check."""
    url = dburl.normalize(url)
    path = dburl.sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {"connect_args": {"connect_timeout": 10}} if url.startswith("postgresql") else {}
    engine = sa.create_engine(url, future=True, **options)
    if engine.dialect.name == "sqlite":
        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn: Any, _record: Any) -> None:
            conn.execute("pragma journal_mode=wal")
            conn.execute("pragma busy_timeout=10000")
    try:
        migrate(engine)
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0] if str(exc.orig or exc).strip() else type(exc).__name__
        raise ConfigError(f"cannot open the store {dburl.redacted(url)}: {reason}",
                          hint="check --db / SPARKTRIAGE_DB, and that the database runs and accepts this user") from exc
    return SqlStore(engine)


class SqlStore:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def _upsert_app(self, conn: sa.Connection, app: AppInfo) -> None:
        row = {
            "app_id": app.app_id, "attempt": app.attempt, "team": app.team, "user": app.user,
            "queue": app.queue, "wf_project": app.workflow.project, "wf_flow": app.workflow.flow,
            "wf_job": app.workflow.job, "wf_execution": app.workflow.execution,
            "started": _when(app.started), "ended": _when(app.ended),
            "final_status": app.final_status, "updated": _now(),
        }
        insert = (postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert)(t.applications)
        keys = ("app_id", "attempt")
        conn.execute(insert.values(row).on_conflict_do_update(
            index_elements=list(keys), set_={k: v for k, v in row.items() if k not in keys}))

    def save(self, app: AppInfo, events: Sequence[ExceptionEvent], diagnosis: Diagnosis,
             outgoing: Sequence[tuple[str, str]] = ()) -> bool:
        fp = fingerprint(diagnosis)
        d = t.diagnoses
        with self.engine.begin() as conn:
            self._upsert_app(conn, app)
            current = conn.execute(
                sa.select(d.c.id, d.c.fingerprint).where(
                    d.c.app_id == app.app_id, d.c.attempt == app.attempt, d.c.superseded.is_(None))
            ).first()
            if current is not None and current.fingerprint == fp:
                return False
            e = t.exception_events
            conn.execute(sa.delete(e).where(e.c.app_id == app.app_id, e.c.attempt == app.attempt))
            if events:
                conn.execute(sa.insert(e), [event_row(app, n, ev) for n, ev in enumerate(events)])
            now = _now()
            new_id = make_current(conn, diagnosis_row(app, diagnosis, fp, now),
                                  replaces=None if current is None else current.id, now=now)
            outbox.enqueue(conn, app_id=app.app_id, attempt=app.attempt, diagnosis_id=new_id,
                           key=idempotency_key(app, fp), outgoing=outgoing, now=now)
        return True

    def label(self, app_id: str, attempt: int, category: str, *, note: str | None, author: str | None) -> Diagnosis:
        """A human correction: kept in ``labels`` and made the current diagnosis (source ``human``).

        ``relabel`` never touches a labelled application, so the correction
        sticks through rule and model changes; the machine's diagnosis stays
        in the history, superseded.
        """
        if not is_known(category):
            raise BadInput("bad_field", f"{category!r} is not a taxonomy category")
        d = t.diagnoses
        now = _now()
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(d).where(d.c.app_id == app_id, d.c.attempt == attempt,
                                                  d.c.superseded.is_(None))).mappings().first()
            if row is None:
                raise BadInput("missing_app_id", f"no diagnosis of {app_id} attempt {attempt} to correct")
            conn.execute(sa.insert(t.labels).values(app_id=app_id, attempt=attempt, category=category,
                                                    note=note, author=author, created=now))
            machine = diagnosis_from_row(row)
            human = replace(machine, category=category, domain=domain_of(category), confidence=1.0,
                            source="human", rule_id=None, hint=machine.category,
                            explain=f"Corrected by {author or 'a person'}: {note or 'no note'}",
                            notes=(*machine.notes, f"the machine said {machine.category}"))
            app = AppInfo(app_id=app_id, attempt=attempt)
            make_current(conn, diagnosis_row(app, human, fingerprint(human), now), replaces=row["id"], now=now)
        return human

    def claim_due(self, now: dt.datetime, limit: int, lease: float) -> list[Delivery]:
        return outbox.claim_due(self.engine, now, limit, lease)

    def record_try(self, delivery: Delivery, *, at: dt.datetime, status: int | None, error: str | None,
                   duration_ms: float, outcome: Outcome, next_try: dt.datetime | None) -> None:
        outbox.record_try(self.engine, delivery, at=at, status=status, error=error, duration_ms=duration_ms,
                          outcome=outcome, next_try=next_try)

    def purge_excerpts(self, before: dt.datetime) -> int:
        """Drop the raw excerpts of events of applications that ended before ``before``.

        The event's redacted ``text`` stays: ``relabel`` re-diagnoses from it.
        """
        e, a = t.exception_events, t.applications
        ended = sa.select(a.c.app_id).where(a.c.ended < before, a.c.app_id == e.c.app_id,
                                            a.c.attempt == e.c.attempt)
        with self.engine.begin() as conn:
            return conn.execute(sa.update(e).where(e.c.excerpt_purged_at.is_(None), ended.exists())
                                .values(excerpt=None, excerpt_purged_at=_now())).rowcount

    def current_diagnosis(self, app_id: str, attempt: int | None = None) -> Diagnosis | None:
        d, a = t.diagnoses, t.applications
        query = sa.select(d, a.c.final_status).outerjoin(
            a, sa.and_(a.c.app_id == d.c.app_id, a.c.attempt == d.c.attempt)).where(
            d.c.app_id == app_id, d.c.superseded.is_(None))
        if attempt is not None:
            query = query.where(d.c.attempt == attempt)
        with self.engine.connect() as conn:
            row = conn.execute(query.order_by(d.c.attempt.desc())).mappings().first()
        return None if row is None else diagnosis_from_row(row)

    def record_dead_letter(self, source: str, reason: str, detail: str, payload: str, *,
                           origin: str | None = None) -> bool:
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(t.dead_letters).values(
                    source=source, reason=reason, detail=detail, payload=payload, created=_now(), origin=origin))
        except sa.exc.IntegrityError:  # the unique origin: kept already
            return False
        return True

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {
                table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for table in t.metadata.sorted_tables
            }

    def outbox_depth(self) -> int:
        return outbox.pending_count(self.engine)

    def human_corrections(self) -> dict[str, int]:
        """From ``labels``, which only grows and stays small (one row per correction): cheap to sample."""
        lab = t.labels
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.select(lab.c.category, sa.func.count()).group_by(lab.c.category)).all())

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    def spike_counts(self, kind: str, key: str, categories: Collection[str],
                     windows: Sequence[tuple[dt.datetime, dt.datetime]]) -> list[int]:
        return alerts.spike_counts(self.engine, kind, key, categories, windows)

    def first_ended(self) -> dt.datetime | None:
        return alerts.first_ended(self.engine)

    def open_alert(self, kind: str, key: str, *, at: dt.datetime, count: int, baseline: float,
                   quiet_since: dt.datetime, notify: Notify, sink: str = "alert") -> Alert | None:
        return alerts.open_alert(self.engine, kind, key, at=at, count=count, baseline=baseline,
                                 quiet_since=quiet_since, notify=notify, sink=sink)

    def close_alert(self, alert: Alert, *, at: dt.datetime, count: int, notify: Notify,
                    sink: str = "alert") -> Alert | None:
        return alerts.close_alert(self.engine, alert, at=at, count=count, notify=notify, sink=sink)

    def open_alerts(self) -> list[Alert]:
        return alerts.open_alerts(self.engine)


def make_current(conn: sa.Connection, row: dict[str, Any], *, replaces: int | None, now: dt.datetime) -> int:
    """Insert the diagnosis ``row`` as its attempt's current one, superseding the diagnosis ``replaces``; its id.

    The one place a current diagnosis changes (the worker, ``label``,
    ``relabel``): the application row takes the new category, top-level
    category and domain in the same transaction, so the read side may
    filter and count applications without joining their diagnoses.
    """
    d, a = t.diagnoses, t.applications
    if replaces is not None:
        conn.execute(sa.update(d).where(d.c.id == replaces).values(superseded=now))
    new_id = conn.execute(sa.insert(d).values(row)).inserted_primary_key[0]
    if replaces is not None:
        conn.execute(sa.update(d).where(d.c.id == replaces).values(superseded_by=new_id))
    conn.execute(sa.update(a).where(a.c.app_id == row["app_id"], a.c.attempt == row["attempt"]).values(
        category=row["category"], top_category=row["top_category"], domain=row["domain"]))
    return new_id


def event_row(app: AppInfo, seq: int, ev: ExceptionEvent) -> dict[str, Any]:
    return {
        "app_id": app.app_id, "attempt": app.attempt, "seq": seq, "container_id": ev.container_id,
        "role": ev.role, "host": ev.host, "ts": _when(ev.ts), "line": ev.line, "level": ev.level,
        "logger": ev.logger, "exc_class": ev.exc_class, "message": ev.message, "text": ev.text,
        "causes": [c.to_dict() for c in ev.causes], "frames": list(ev.frames), "excerpt": list(ev.excerpt),
    }


def diagnosis_row(app: AppInfo, diagnosis: Diagnosis, fp: str, now: dt.datetime) -> dict[str, Any]:
    data = diagnosis.to_dict()
    return {
        "app_id": app.app_id, "attempt": app.attempt, "category": diagnosis.category,
        "top_category": top_level(diagnosis.category), "domain": diagnosis.domain,
        "confidence": diagnosis.confidence, "source": diagnosis.source, "rule_id": diagnosis.rule_id,
        "model_version": diagnosis.model_version, "rule_pack_version": diagnosis.rule_pack_version,
        "explain": diagnosis.explain, "remediation": diagnosis.remediation, "hint": diagnosis.hint,
        "notes": data["notes"], "evidence": data["evidence"], "exceptions": data["exceptions"],
        "fingerprint": fp, "created": now,
    }


def event_from_row(row: Any) -> ExceptionEvent:
    """The stored event as the pure core takes it (relabel re-diagnoses from these)."""
    ts = row["ts"]
    return ExceptionEvent(
        app_id=row["app_id"], text=row["text"], attempt=row["attempt"], container_id=row["container_id"],
        role=row["role"] or "unknown", host=row["host"],
        ts=None if ts is None else (ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)).timestamp(),
        line=row["line"] or 0, level=row["level"], logger=row["logger"], exc_class=row["exc_class"],
        message=row["message"] or "", causes=tuple(Cause(**c) for c in row["causes"] or ()),
        frames=tuple(row["frames"] or ()), excerpt=tuple(row["excerpt"] or ()),
    )


def diagnosis_from_row(row: Any) -> Diagnosis:
    return Diagnosis.from_dict({
        "app_id": row["app_id"], "attempt": row["attempt"], "category": row["category"],
        "domain": row["domain"], "confidence": row["confidence"], "source": row["source"],
        "rule_id": row["rule_id"], "explain": row["explain"] or "", "remediation": row["remediation"] or "",
        "hint": row["hint"], "notes": row["notes"] or [], "evidence": row["evidence"] or [],
        "exceptions": row["exceptions"] or [], "rule_pack_version": row["rule_pack_version"],
        "model_version": row["model_version"], "final_status": row.get("final_status"),  # the application's
    })
