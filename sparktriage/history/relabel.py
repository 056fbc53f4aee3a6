"""``sparktriage relabel``: re-diagnose stored history with the current rules and model.

When a rule is fixed, a dashboard's trend line should not jump at the fix:
relabel runs the same pure core (``diagnose``) over the exception events the
store kept, in batches ordered by (app id, attempt). A diagnosis whose
content changed (its rule-pack or model version alone does not count) is
superseded by a new one carrying the run's id, in the batch's transaction,
together with the run's cursor: an interrupted run resumes after its last
committed batch, and a second run finds nothing left to change. Human
corrections (source ``human``) are never touched.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa

from classifiers.core import Classifier
from sparktriage.payload import payload_text, supersedes
from sparktriage.records import AppInfo, Diagnosis, ExceptionEvent
from sparktriage.settings import Settings
from sparktriage.store import outbox
from sparktriage.store import schema as t
from sparktriage.store.base import fingerprint, idempotency_key
from sparktriage.store.reads import app_info
from sparktriage.store.sql import SqlStore, diagnosis_from_row, diagnosis_row, event_from_row, make_current
from sparktriage.delivery.webhook import webhook_urls

BATCH = 1000


@dataclass(frozen=True)
class Filters:
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    team: str | None = None
    category: str | None = None
    app: str | None = None
    where_rule: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in vars(self).items()}


@dataclass(frozen=True)
class Change:
    app: AppInfo
    old: Diagnosis
    new: Diagnosis
    old_diagnosed: float | None = None  # when the replaced diagnosis was made (epoch seconds)
    diagnosed: float = field(default_factory=lambda: dt.datetime.now(dt.UTC).timestamp())

    def payload(self, settings: Settings | None) -> str:
        """The document re-sent for the change (webhook and topic alike), marked as superseding the old one."""
        return payload_text(self.app, self.new, diagnosed=self.diagnosed, replaces=supersedes(self.old, self.old_diagnosed),
                            dashboard_url=settings.dashboard_url if settings is not None else None)


@dataclass
class RelabelResult:
    run_id: int | None
    scanned: int = 0
    changed: int = 0
    matrix: Counter[tuple[str, str]] = field(default_factory=Counter)
    sample: list[Change] = field(default_factory=list)
    resumed: bool = False


def _epoch(value: dt.datetime | None) -> float | None:
    """A stored time as epoch seconds (SQLite gives it back without its time zone: UTC)."""
    return None if value is None else (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()


def _targets(conn: sa.Connection, filters: Filters, after: tuple[str, int] | None, limit: int) -> list[Any]:
    d, a, lab = t.diagnoses, t.applications, t.labels
    query = (
        sa.select(d, a.c.team, a.c.user, a.c.queue, a.c.wf_project, a.c.wf_flow, a.c.wf_job, a.c.wf_execution,
                  a.c.started, a.c.ended, a.c.final_status)
        .join(a, sa.and_(a.c.app_id == d.c.app_id, a.c.attempt == d.c.attempt))
        .where(d.c.superseded.is_(None), d.c.source != "human",
               ~sa.select(lab.c.id).where(lab.c.app_id == d.c.app_id, lab.c.attempt == d.c.attempt).exists())
        .order_by(d.c.app_id, d.c.attempt).limit(limit)
    )
    if after is not None:
        query = query.where(sa.tuple_(d.c.app_id, d.c.attempt) > sa.tuple_(*after))
    if filters.since is not None:
        query = query.where(a.c.ended >= filters.since)
    if filters.until is not None:
        query = query.where(a.c.ended < filters.until)
    if filters.team:
        query = query.where(a.c.team == filters.team)
    if filters.category:
        query = query.where(sa.or_(d.c.category == filters.category, d.c.top_category == filters.category))
    if filters.app:
        query = query.where(d.c.app_id == filters.app)
    if filters.where_rule:
        query = query.where(d.c.rule_id == filters.where_rule)
    return list(conn.execute(query).mappings())


def _events(conn: sa.Connection, rows: Sequence[Any]) -> dict[tuple[str, int], list[ExceptionEvent]]:
    e = t.exception_events
    keys = {(r["app_id"], r["attempt"]) for r in rows}
    out: dict[tuple[str, int], list[ExceptionEvent]] = {k: [] for k in keys}
    query = sa.select(e).where(e.c.app_id.in_(sorted({k[0] for k in keys}))).order_by(e.c.app_id, e.c.attempt, e.c.seq)
    for row in conn.execute(query).mappings():
        if (row["app_id"], row["attempt"]) in out:
            out[(row["app_id"], row["attempt"])].append(event_from_row(row))
    return out


def _same(old: Diagnosis, new: Diagnosis) -> bool:
    """Equal but for the versions that made them: nothing worth a new row."""
    return replace(old, rule_pack_version=None, model_version=None, final_status=None) == \
        replace(new, rule_pack_version=None, model_version=None, final_status=None)


def _open_run(conn: sa.Connection, filters: Filters, classifier: Classifier, who: str) -> tuple[int, Any, bool]:
    """The unfinished run with the same filters and versions (resumed), or a new one."""
    r = t.relabel_runs
    versions = (classifier.engine.version, getattr(classifier.model, "version", None))
    for run in conn.execute(sa.select(r).where(r.c.status.in_(("running", "interrupted"))).order_by(r.c.id.desc())
                            ).mappings():
        if run["filters"] == filters.to_dict() and (run["rule_pack_version"], run["model_version"]) == versions:
            conn.execute(sa.update(r).where(r.c.id == run["id"]).values(status="running"))
            return run["id"], run, True
    run_id = conn.execute(sa.insert(r).values(
        who=who, started=dt.datetime.now(dt.UTC), rule_pack_version=versions[0], model_version=versions[1],
        filters=filters.to_dict(), counts={"scanned": 0, "changed": 0, "matrix": {}}, status="running",
    )).inserted_primary_key[0]
    return run_id, None, False


def _cursor(run: Any) -> tuple[str, int] | None:
    if run is None or not run["cursor"]:
        return None
    app_id, attempt = run["cursor"].rsplit("#", 1)
    return app_id, int(attempt)


def relabel(store: SqlStore, classifier: Classifier, filters: Filters = Filters(), *, dry_run: bool = False,
            settings: Settings | None = None, notify: Callable[[list[Change]], None] | None = None,
            progress: Callable[[int], None] | None = None, batch: int = BATCH, sample: int = 10,
            who: str | None = None) -> RelabelResult:
    """Re-diagnose the current diagnoses matching ``filters``; see the module docstring.

    ``notify`` (``--notify``) gets each committed batch's changes (for the
    output topic); with ``settings`` holding webhook URLs, the changed
    diagnoses also join the webhook outbox in the batch's transaction.
    """
    who = who or getpass.getuser()
    result = RelabelResult(run_id=None)
    after = None
    if not dry_run:
        with store.engine.begin() as conn:
            result.run_id, run, result.resumed = _open_run(conn, filters, classifier, who)
        after = _cursor(run)
        if run is not None:
            counts = run["counts"] or {}
            result.scanned, result.changed = counts.get("scanned", 0), counts.get("changed", 0)
            result.matrix.update({tuple(k.split(" -> ")): v for k, v in counts.get("matrix", {}).items()})
    try:
        while True:
            with store.engine.begin() as conn:
                rows = _targets(conn, filters, after, batch)
                if not rows:
                    break
                events = _events(conn, rows)
                changes = []
                for row in rows:
                    app = app_info(row)
                    old = replace(diagnosis_from_row(row), final_status=app.final_status)
                    new = classifier.diagnose(events[(app.app_id, app.attempt)], app)
                    if not _same(old, new):
                        changes.append((row["id"], Change(app, old, new, _epoch(row["created"]))))
                result.scanned += len(rows)
                result.changed += len(changes)
                result.matrix.update((c.old.category, c.new.category) for _, c in changes)
                result.sample.extend(c for _, c in changes[: max(0, sample - len(result.sample))])
                after = (rows[-1]["app_id"], rows[-1]["attempt"])
                if not dry_run:
                    _apply(conn, result, changes, after, settings)
            if notify is not None and not dry_run and changes:
                notify([c for _, c in changes])
            if progress is not None:
                progress(len(rows))
    except KeyboardInterrupt:
        if result.run_id is not None:
            with store.engine.begin() as conn:
                conn.execute(sa.update(t.relabel_runs).where(t.relabel_runs.c.id == result.run_id)
                             .values(status="interrupted"))
        raise
    if result.run_id is not None:
        with store.engine.begin() as conn:
            conn.execute(sa.update(t.relabel_runs).where(t.relabel_runs.c.id == result.run_id)
                         .values(status="finished", finished=dt.datetime.now(dt.UTC)))
    return result


def _apply(conn: sa.Connection, result: RelabelResult, changes: list[tuple[int, Change]], cursor: tuple[str, int],
           settings: Settings | None) -> None:
    """One batch's writes and the run's progress, in the batch's transaction."""
    now = dt.datetime.now(dt.UTC)
    for old_id, change in changes:
        fp = fingerprint(change.new)
        row = {**diagnosis_row(change.app, change.new, fp, now), "relabel_run_id": result.run_id}
        new_id = make_current(conn, row, replaces=old_id, now=now)
        urls = webhook_urls(settings, change.app) if settings is not None else []
        if urls:
            body = change.payload(settings)
            outbox.enqueue(conn, app_id=change.app.app_id, attempt=change.app.attempt, diagnosis_id=new_id,
                           key=idempotency_key(change.app, fp), outgoing=[(u, body) for u in urls], now=now)
    counts = {"scanned": result.scanned, "changed": result.changed,
              "matrix": {f"{a} -> {b}": n for (a, b), n in result.matrix.items()}}
    conn.execute(sa.update(t.relabel_runs).where(t.relabel_runs.c.id == result.run_id)
                 .values(cursor=f"{cursor[0]}#{cursor[1]}", counts=counts))


def render(result: RelabelResult, dry_run: bool) -> str:
    """The old -> new category matrix and a sample of changed applications with their evidence."""
    head = "dry run: nothing written" if dry_run else f"relabel run {result.run_id}" + (
        " (resumed)" if result.resumed else "")
    lines = [f"{head}; {result.scanned:,} diagnoses scanned, {result.changed:,} changed"]
    if result.matrix:
        width = max(len(a) for a, _ in result.matrix)
        lines += ["", f"{'old'.ljust(width)}  ->  new  (applications)"]
        lines += [f"{a.ljust(width)}  ->  {b}  ({n:,})" for (a, b), n in result.matrix.most_common()]
    if result.sample:
        lines += ["", "sample of changed applications:"]
        for c in result.sample:
            evidence = c.new.evidence or c.old.evidence  # unknown keeps no evidence of its own
            excerpt = evidence[0].excerpt.split("\n", 1)[0][:160] if evidence else ""
            lines.append(f"  {c.app.app_id} #{c.app.attempt}: {c.old.category} ({c.old.rule_id}) -> "
                         f"{c.new.category} ({c.new.rule_id or c.new.source})\n      {excerpt}")
    return "\n".join(lines)
