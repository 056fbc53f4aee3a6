"""End to end in headless Debian chromium: every page on a seeded store, and on the demo's own store.

``make test`` installs chromium when missing (``.ci/system-deps``). Each page
must render its title and its charts without a Streamlit error box; the
seeded pages are saved under ``var/screenshots/`` for people to look at
(``make screenshots`` makes ``docs/screenshots/`` the same way).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from sparktriage.tools.demo import sample_dirs
from sparktriage.history.seed import seed_store
from tests.browser import CHROMIUM, PAGES, browser_page, dashboard, open_page, screenshots

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


@pytest.fixture(scope="module", autouse=True)
def chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            raise FileNotFoundError("CI=true but chromium is missing: .ci/system-deps installs it")
        pytest.skip("no chromium on this machine")


def test_every_page_renders_on_a_seeded_store(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/seeded.db"
    seed_store(db, days=45, apps_per_day=60, seed=9, end=dt.date(2026, 11, 20))
    (SHOTS / "stale.png").parent.mkdir(parents=True, exist_ok=True)
    (SHOTS / "stale.png").write_bytes(b"")
    shots = screenshots(db, SHOTS)
    assert [p.name for p in shots] == sorted(f"{path or 'overview'}.png" for path in PAGES), \
        "one fresh screenshot per page, nothing left over from an earlier run"
    assert all(p.stat().st_size > 20_000 for p in shots), "each screenshot holds a drawn page"


def _metric(page, label: str) -> str:  # noqa: ANN001 - a playwright Page
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return metric.locator('[data-testid="stMetricValue"]').inner_text()


def test_the_demo_store_shows_its_applications_on_every_page(demo_db: str) -> None:
    """Right after ``make demo``, every page shows the demo's applications (none says it has nothing)."""
    n = len(sample_dirs())
    with dashboard(demo_db) as base, browser_page() as page:
        for path in PAGES:
            open_page(page, base, path)
            text = page.locator('[data-testid="stMain"]').first.inner_text()
            assert "No diagnoses" not in text and "Nothing in this window" not in text, f"/{path} shows nothing"
            assert page.locator('[data-testid="stException"]').count() == 0, f"/{path} shows an error"
            if path == "":
                assert _metric(page, "Failed applications") == str(n)
            elif path == "explorer":
                assert f"{n:,} newest matching applications" in text
            elif path == "quality":
                decided = [_metric(page, f"Decided by {who}")
                           for who in ("a rule", "the model", "a person", "nothing (left unknown)")]
                assert sum(int(value.split()[0]) for value in decided) == n, decided
