"""Room for long version strings: one rule-pack version names every pack in use.

With seven built-in packs and a user's own, ``breadth@2026.11.1+cluster@...``
outgrew 128 characters, and storing a diagnosis failed on PostgreSQL.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("diagnoses", "relabel_runs")


def _resize(pack: int, model: int, old_pack: int, old_model: int) -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:  # SQLite rebuilds the table; others ALTER in place
            batch.alter_column("rule_pack_version", type_=sa.String(pack), existing_type=sa.String(old_pack))
            batch.alter_column("model_version", type_=sa.String(model), existing_type=sa.String(old_model))


def upgrade() -> None:
    _resize(1024, 256, 128, 64)


def downgrade() -> None:
    _resize(128, 64, 1024, 256)
