"""The store's tables (SQLAlchemy Core), shared by the worker, dashboards and relabel.

One current diagnosis per (app_id, attempt): older ones stay with
``superseded`` set, so history keeps what every rule-pack and model version
said. JSON columns hold the nested parts of records (evidence, causes...).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
UTC = sa.DateTime(timezone=True)

applications = sa.Table(
    "applications", metadata,
    sa.Column("app_id", sa.String(128), primary_key=True),
    sa.Column("attempt", sa.Integer, primary_key=True),
    sa.Column("team", sa.String(128), index=True),
    sa.Column("user", sa.String(128)),
    sa.Column("queue", sa.String(128)),
    sa.Column("wf_project", sa.String(256)),
    sa.Column("wf_flow", sa.String(256)),
    sa.Column("wf_job", sa.String(256)),
    sa.Column("wf_execution", sa.String(256)),
    sa.Column("started", UTC),
    sa.Column("ended", UTC, index=True),
    sa.Column("final_status", sa.String(32)),
    sa.Column("updated", UTC, nullable=False),
    # The current diagnosis's category, top-level category and domain (null: none yet), kept here by
    # every write that changes which diagnosis is current (sql.make_current): the read API's lists
    # and summaries filter, order and count on this one table and its indexes, never through a join.
    sa.Column("category", sa.String(128)),
    sa.Column("top_category", sa.String(64)),
    sa.Column("domain", sa.String(16)),
)

exception_events = sa.Table(
    "exception_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("app_id", sa.String(128), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("container_id", sa.String(128)),
    sa.Column("role", sa.String(32)),
    sa.Column("host", sa.String(256)),
    sa.Column("ts", UTC),
    sa.Column("line", sa.Integer),
    sa.Column("level", sa.String(16)),
    sa.Column("logger", sa.String(256)),
    sa.Column("exc_class", sa.String(512)),
    sa.Column("message", sa.Text),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("causes", sa.JSON),
    sa.Column("frames", sa.JSON),
    sa.Column("excerpt", sa.JSON),
    sa.Column("excerpt_purged_at", UTC),
    sa.UniqueConstraint("app_id", "attempt", "seq", name="uq_event_seq"),
)

diagnoses = sa.Table(
    "diagnoses", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("app_id", sa.String(128), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("category", sa.String(128), nullable=False),
    sa.Column("top_category", sa.String(64), nullable=False, index=True),
    sa.Column("domain", sa.String(16), nullable=False),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("rule_id", sa.String(128)),
    sa.Column("model_version", sa.String(256)),
    sa.Column("rule_pack_version", sa.String(1024)),
    sa.Column("explain", sa.Text),
    sa.Column("remediation", sa.Text),
    sa.Column("hint", sa.String(128)),
    sa.Column("notes", sa.JSON),
    sa.Column("evidence", sa.JSON),
    sa.Column("exceptions", sa.JSON),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("created", UTC, nullable=False, index=True),
    sa.Column("superseded", UTC),
    sa.Column("superseded_by", sa.Integer),
    sa.Column("relabel_run_id", sa.Integer),
    sa.Index("ix_diagnoses_app", "app_id", "attempt"),
)
# Exactly one current diagnosis per application attempt, enforced by the database.
sa.Index(
    "uq_diagnoses_current", diagnoses.c.app_id, diagnoses.c.attempt, unique=True,
    sqlite_where=diagnoses.c.superseded.is_(None), postgresql_where=diagnoses.c.superseded.is_(None),
)

labels = sa.Table(
    "labels", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("app_id", sa.String(128), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("category", sa.String(128), nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("author", sa.String(128)),
    sa.Column("created", UTC, nullable=False),
)

dead_letters = sa.Table(
    "dead_letters", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("payload", sa.Text),
    sa.Column("created", UTC, nullable=False),
    # where its record was first read, and its bytes (store.base.dead_letter_origin): kept once
    sa.Column("origin", sa.String(64)),
    sa.Index("ux_dead_letters_origin", "origin", unique=True),
)

relabel_runs = sa.Table(
    "relabel_runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("who", sa.String(128)),
    sa.Column("started", UTC, nullable=False),
    sa.Column("finished", UTC),
    sa.Column("rule_pack_version", sa.String(1024)),
    sa.Column("model_version", sa.String(256)),
    sa.Column("filters", sa.JSON),
    sa.Column("counts", sa.JSON),
    sa.Column("status", sa.String(16)),
    sa.Column("cursor", sa.String(256)),
)

# The outbox: one row per diagnosis and receiver, written in the diagnosis's
# own transaction, so a delivery survives any restart; the dispatcher sends
# pending rows and keeps their state here.
deliveries = sa.Table(
    "deliveries", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("app_id", sa.String(128), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("diagnosis_id", sa.Integer, nullable=False),
    sa.Column("sink", sa.String(16), nullable=False),
    sa.Column("url", sa.String(1024), nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("tries", sa.Integer, nullable=False),
    sa.Column("next_try", UTC, nullable=False),
    sa.Column("last_status", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("created", UTC, nullable=False),
    sa.Column("finished", UTC),
    sa.UniqueConstraint("idempotency_key", "url", name="uq_delivery_key_url"),
    sa.Index("ix_deliveries_due", "status", "next_try"),
)

# The delivery log: every try of every delivery, for the people debugging a receiver.
delivery_attempts = sa.Table(
    "delivery_attempts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("delivery_id", sa.Integer, nullable=False, index=True),
    sa.Column("try_number", sa.Integer, nullable=False),
    sa.Column("at", UTC, nullable=False),
    sa.Column("status", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("duration_ms", sa.Float, nullable=False),
)

# Covering indexes for the dashboards' aggregates: a window of applications by
# end time, their current diagnosis and their events' hosts are read from the
# indexes alone, never from the wide rows (texts, evidence JSON).
sa.Index("ix_applications_ended_cover", applications.c.ended, applications.c.app_id, applications.c.attempt,
         applications.c.team, applications.c.queue, applications.c.user, applications.c.wf_project)
sa.Index("ix_diagnoses_current_cover", diagnoses.c.app_id, diagnoses.c.attempt, diagnoses.c.top_category,
         diagnoses.c.domain, diagnoses.c.source, diagnoses.c.category, diagnoses.c.rule_id, diagnoses.c.confidence,
         sqlite_where=diagnoses.c.superseded.is_(None), postgresql_where=diagnoses.c.superseded.is_(None))
sa.Index("ix_events_app_host", exception_events.c.app_id, exception_events.c.attempt, exception_events.c.host)
# The read API's (store/reads.py): a list by category, by team and category, by user, newest end first, walks
# one index and stops at its page; a summary counts a window from one covering index, never the rows.
sa.Index("ix_applications_category_ended", applications.c.top_category, applications.c.ended)
sa.Index("ix_applications_team_category_ended", applications.c.team, applications.c.top_category,
         applications.c.ended)
sa.Index("ix_applications_user_ended", applications.c.user, applications.c.ended)
sa.Index("ix_applications_summary", applications.c.ended, applications.c.team, applications.c.final_status,
         applications.c.top_category, applications.c.domain)

# Bearer tokens of the read API: only a hash of each secret is kept; ``teams``
# is the scope (a JSON list of team names), null for every team.
api_tokens = sa.Table(
    "api_tokens", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("teams", sa.JSON),
    sa.Column("created", UTC, nullable=False),
    sa.Column("revoked", UTC),
)

# Spike alerts (sparktriage/delivery/spikes.py): a category, host or queue far above its
# trailing baseline. At most one open alert per (kind, key), enforced by the
# database: several workers evaluating together open it, and close it, once.
spike_alerts = sa.Table(
    "spike_alerts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("key", sa.String(256), nullable=False),
    sa.Column("started", UTC, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("baseline", sa.Float, nullable=False),
    sa.Column("ended", UTC),
    sa.Column("end_count", sa.Integer),
    sa.Index("ix_spike_alerts_key", "kind", "key", "started"),
)
sa.Index("uq_spike_alerts_open", spike_alerts.c.kind, spike_alerts.c.key, unique=True,
         sqlite_where=spike_alerts.c.ended.is_(None), postgresql_where=spike_alerts.c.ended.is_(None))
