"""End to end: ``sparktriage dashboard`` on a seeded store, every page loaded in headless Debian chromium.

Playwright drives the system's ``/usr/bin/chromium`` (``make test`` installs
it when missing; no browser is downloaded). Each page must render its title
and charts without a Streamlit error box; a screenshot of each is saved
under ``var/screenshots/`` for people to look at.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sparktriage.broker import free_port, wait_for_port
from sparktriage.seed import seed_store

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
PAGES = {"": "Failed Spark applications", "teams": "Teams", "infra": "Infra and platform",
         "explorer": "Explorer", "quality": "Classification quality"}


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            raise FileNotFoundError("CI=true but chromium is missing: .ci/system-deps installs it")
        pytest.skip("no chromium on this machine")
    url = f"sqlite:///{tmp_path_factory.mktemp('dash')}/d.db"
    seed_store(url, days=45, apps_per_day=60, seed=9, end=dt.date(2026, 11, 20))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "sparktriage.cli", "--db", url, "dashboard", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(20)


def test_every_page_renders_in_chromium(dashboard: str) -> None:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for path, title in PAGES.items():
            page.goto(f"{dashboard}/{path}")
            page.get_by_role("heading", name=title).wait_for(timeout=60_000)
            page.wait_for_selector('[data-testid="stDataFrame"], [data-testid="stVegaLiteChart"]', timeout=60_000)
            page.wait_for_timeout(1500)  # let the charts draw before the picture
            assert page.locator('[data-testid="stException"]').count() == 0, f"/{path} shows an error"
            page.screenshot(path=str(SHOTS / f"{path or 'overview'}.png"), full_page=True)
        browser.close()
    assert sorted(p.name for p in SHOTS.glob("*.png")) >= sorted(f"{n or 'overview'}.png" for n in PAGES)
