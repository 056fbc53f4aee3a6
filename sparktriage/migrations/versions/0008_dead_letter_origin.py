"""Dead letters kept once per origin.

A record refused after a crash of the worker (consumed again) or of the
repacking stage (sent again) was kept twice. Each dead letter now carries a
digest of where its record was first read and its bytes
(``store.base.dead_letter_origin``), unique; older rows have none.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("dead_letters", sa.Column("origin", sa.String(64)))
    op.create_index("ux_dead_letters_origin", "dead_letters", ["origin"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_dead_letters_origin", "dead_letters")
    op.drop_column("dead_letters", "origin")
