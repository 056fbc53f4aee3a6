"""The current diagnosis's category, top-level category and domain on its application, with the read API's indexes.

The read API's lists filter by category and order by the application's end;
its summaries count a window by category and domain. With both on one table,
each is one index walk that stops at its page, or one index-only count,
instead of a join of two million-row tables.

The copy is filled from the current diagnoses (one UPDATE ... FROM, which
PostgreSQL and SQLite >= 3.33 both read). On a large PostgreSQL store every
application row is rewritten: run ``VACUUM ANALYZE applications`` after it
(autovacuum does it too, later) so the summaries' index-only scans skip the rows.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_applications_category_ended": ["top_category", "ended"],
    "ix_applications_team_category_ended": ["team", "top_category", "ended"],
    "ix_applications_user_ended": ["user", "ended"],
    "ix_applications_summary": ["ended", "team", "final_status", "top_category", "domain"],
}


def upgrade() -> None:
    op.add_column("applications", sa.Column("category", sa.String(128)))
    op.add_column("applications", sa.Column("top_category", sa.String(64)))
    op.add_column("applications", sa.Column("domain", sa.String(16)))
    op.execute("update applications set category = d.category, top_category = d.top_category, domain = d.domain "
               "from diagnoses as d where d.app_id = applications.app_id and d.attempt = applications.attempt "
               "and d.superseded is null")
    for name, columns in INDEXES.items():
        op.create_index(name, "applications", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, "applications")
    for column in ("domain", "top_category", "category"):
        op.drop_column("applications", column)
