"""Covering indexes for the dashboards' aggregates (applications by end time, current diagnoses, event hosts).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_applications_ended_cover", "applications",
                    ["ended", "app_id", "attempt", "team", "queue", "user", "wf_project"])
    op.create_index("ix_diagnoses_current_cover", "diagnoses",
                    ["app_id", "attempt", "top_category", "domain", "source", "category", "rule_id", "confidence"],
                    sqlite_where=sa.text("superseded IS NULL"), postgresql_where=sa.text("superseded IS NULL"))
    op.create_index("ix_events_app_host", "exception_events", ["app_id", "attempt", "host"])


def downgrade() -> None:
    op.drop_index("ix_events_app_host", "exception_events")
    op.drop_index("ix_diagnoses_current_cover", "diagnoses")
    op.drop_index("ix_applications_ended_cover", "applications")
