"""What every store must keep true, checked after the writes that could break it."""

from __future__ import annotations

import sqlalchemy as sa


def assert_applications_carry_their_current_diagnosis(engine: sa.Engine) -> None:
    """Each application's category, top-level category and domain are its current diagnosis's (null: none):
    the read API filters and counts on these copies, so a write that misses one shows a wrong answer."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "select a.app_id, a.attempt, a.category, a.top_category, a.domain, d.category, d.top_category, d.domain "
            "from applications a left join diagnoses d on d.app_id = a.app_id and d.attempt = a.attempt "
            "and d.superseded is null")).all()
    wrong = [tuple(r) for r in rows if tuple(r[2:5]) != tuple(r[5:8])]
    assert rows and not wrong, wrong[:5]
