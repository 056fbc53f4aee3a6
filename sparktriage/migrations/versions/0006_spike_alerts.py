"""Spike alerts: one row per alert, at most one open per (kind, key).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spike_alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(256), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("baseline", sa.Float, nullable=False),
        sa.Column("ended", sa.DateTime(timezone=True)),
        sa.Column("end_count", sa.Integer),
    )
    op.create_index("ix_spike_alerts_key", "spike_alerts", ["kind", "key", "started"])
    op.create_index("uq_spike_alerts_open", "spike_alerts", ["kind", "key"], unique=True,
                    sqlite_where=sa.text("ended IS NULL"), postgresql_where=sa.text("ended IS NULL"))


def downgrade() -> None:
    op.drop_table("spike_alerts")
