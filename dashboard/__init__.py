"""Streamlit dashboards over the store (``sparktriage dashboard``)."""

from __future__ import annotations

import sys
from pathlib import Path

from sparktriage.settings import Settings

APP = Path(__file__).resolve().parent / "app.py"


def streamlit_command(settings: Settings) -> list[str]:
    """``streamlit run`` for the dashboards on 127.0.0.1, reading the store at ``settings.db``."""
    return [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(settings.dashboard_port),
            "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--client.toolbarMode", "viewer",
            "--", "--db", settings.db]
