"""The dashboard in headless Debian chromium: serve it on a store, load every page, take screenshots.

Used by ``tests/test_dashboard_browser.py`` and by ``make screenshots``
(``python -m tests.browser OUT_DIR``: a seeded store's pages into OUT_DIR,
which is how ``docs/screenshots/`` is made). Playwright drives the system's
``/usr/bin/chromium``; no browser is downloaded.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sparktriage.tools.broker import free_port, wait_for_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: path under the dashboard -> the page's title
PAGES = {"": "Failed Spark applications", "teams": "Teams", "infra": "Infra and platform",
         "explorer": "Explorer", "quality": "Classification quality"}
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@contextmanager
def dashboard(db: str) -> Iterator[str]:
    """``sparktriage dashboard`` on the store at ``db``; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "sparktriage.cli", "--db", db, "dashboard", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(20)


@contextmanager
def browser_page(height: int = 2400) -> Iterator[Any]:
    """A chromium page tall enough that a full page fits in one screenshot (Streamlit scrolls inside)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": height})
        finally:
            browser.close()


def open_page(page: Any, base: str, path: str) -> None:
    """Load one dashboard page and wait until its title and its charts or tables have drawn."""
    page.goto(f"{base}/{path}")
    page.get_by_role("heading", name=PAGES[path]).wait_for(timeout=60_000)
    page.wait_for_selector('[data-testid="stDataFrame"], [data-testid="stVegaLiteChart"], [data-testid="stAlert"]',
                           timeout=60_000)
    page.wait_for_timeout(3000)  # let the charts and code blocks draw before anyone looks


def screenshots(db: str, out: Path) -> list[Path]:
    """Every page of the dashboard over ``db`` as ``out/<page>.png`` (``out`` emptied first)."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    with dashboard(db) as base, browser_page() as page:
        for path in PAGES:
            open_page(page, base, path)
            page.screenshot(path=str(out / f"{path or 'overview'}.png"))
    return sorted(out.glob("*.png"))


def main() -> None:
    from sparktriage.history.seed import seed_store

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/seeded.db"
        seed_store(db, days=45, apps_per_day=60, seed=9, end=dt.date(2026, 11, 20))
        for shot in screenshots(db, out):
            print(shot)


if __name__ == "__main__":
    main()
