"""What every page shares: the store's engine, the sidebar filters, cached queries.

The store URL comes from ``sparktriage dashboard`` (``-- --db URL`` on the
Streamlit command line) or, in tests, from ``st.session_state["db"]``.
Query results are cached for a minute per (store, filters), so moving
between pages and widgets does not query again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import replace
from typing import Any

import altair as alt
import pandas as pd
import sqlalchemy as sa
import streamlit as st

from dashboard import queries
from sparktriage.taxonomy import CATEGORIES, UNKNOWN

DEFAULT_DAYS = 14
#: One colour per domain, per category and per deciding source, the same on every page.
DOMAIN_COLORS = {"user": "#4c78a8", "data": "#f58518", "infra": "#e45756", "platform": "#72b7b2", "unknown": "#bab0ac"}
_PALETTE = ("#4c78a8", "#9ecae9", "#f58518", "#ffbf79", "#54a24b", "#88d27a", "#b79a20", "#f2cf5b", "#439894",
            "#83bcb6", "#e45756", "#ff9d98", "#79706e", "#d6a5c9", "#d67195", "#fcbfd2", "#b279a2", "#9e765f",
            "#d8b5a5", "#1f77b4", "#2ca02c", "#8c564b", "#17becf", "#bcbd22", "#7f7f7f")
CATEGORY_COLORS = {c: _PALETTE[i % len(_PALETTE)] for i, c in enumerate(c for c in CATEGORIES if c != UNKNOWN)}
CATEGORY_COLORS[UNKNOWN] = DOMAIN_COLORS["unknown"]
SOURCE_NAMES = {"rule": "a rule", "model": "the model", "human": "a person", "none": "nothing (left unknown)"}
SOURCE_COLORS = {"a rule": "#4c78a8", "the model": "#f58518", "a person": "#54a24b", "nothing (left unknown)": "#bab0ac"}


def color(field: str, palette: dict[str, str], title: str) -> alt.Color:
    """An Altair colour encoding that gives every value its fixed colour of ``palette``."""
    return alt.Color(f"{field}:N", title=title, scale=alt.Scale(domain=list(palette), range=list(palette.values())))


def share(part: float, whole: float) -> str:
    """``part`` of ``whole`` as a count and a percentage, for a metric."""
    return f"{int(part):,} ({part / whole:.1%})" if whole else "0"


def table(frame: pd.DataFrame, headers: dict[str, str], *, percent: tuple[str, ...] = (),
          dates: tuple[str, ...] = (), times: tuple[str, ...] = ()) -> None:
    """A dataframe with column headers in words: shares as percentages, days as dates, times to the minute.

    Only the columns named in ``headers`` are shown, in that order.
    """
    config: dict[str, Any] = {}
    for name in percent:
        config[headers[name]] = st.column_config.NumberColumn(format="%.0f%%")
    for name in dates:
        config[headers[name]] = st.column_config.DateColumn(format="YYYY-MM-DD")
    for name in times:
        config[headers[name]] = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm", timezone="UTC")
    shown = frame[list(headers)].rename(columns=headers)
    for name in percent:
        shown[headers[name]] = shown[headers[name]] * 100
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config)


def db_url() -> str:
    if "db" not in st.session_state:
        parser = argparse.ArgumentParser(add_help=False)
        parser.add_argument("--db", default="sqlite:///var/sparktriage.db")
        st.session_state["db"] = parser.parse_known_args(sys.argv[1:])[0].db
    return st.session_state["db"]


@st.cache_resource
def engine(url: str) -> sa.Engine:
    return sa.create_engine(url)


@st.cache_data(ttl=60, show_spinner=False)
def query(url: str, name: str, *args: Any) -> Any:
    """``dashboard.queries.<name>(engine, *args)``, cached per store and arguments."""
    return getattr(queries, name)(engine(url), *args)


def window(*, filters: tuple[str, ...] = ()) -> queries.Window | None:
    """The sidebar: a date range (default: the last 14 days with data) and the page's filters.

    Filters also come from the page's query parameters, so a link from
    another page (a category in Overview) opens this one filtered.
    """
    url = db_url()
    span = query(url, "data_range")
    if span is None:
        st.info(f"No diagnoses in {url} yet. Run the worker, or `sparktriage seed` for a demo history.")
        return None
    first, last = span
    params = st.query_params
    default = (max(first, last - dt.timedelta(days=DEFAULT_DAYS - 1)), last)
    picked = st.sidebar.date_input("Applications that ended", value=default, min_value=first, max_value=last)
    start, end = (picked if isinstance(picked, tuple) and len(picked) == 2 else default)
    base = queries.Window(start=dt.datetime.combine(start, dt.time(), dt.UTC),
                          end=dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC))
    choices = query(url, "options", base) if set(filters) - {"category"} else {}
    chosen: dict[str, str | None] = {}
    for name in filters:
        values = sorted(CATEGORIES) if name == "category" else choices[name]
        preset = params.get(name)
        index = values.index(preset) + 1 if preset in values else 0
        choice = st.sidebar.selectbox(name.capitalize(), ["(all)", *values], index=index, key=f"filter_{name}")
        chosen[name] = None if choice == "(all)" else choice
    return replace(base, **chosen)


def trend(url: str, w: queries.Window, days: int = 14) -> pd.DataFrame:
    """The window's ``trend``, reaching back at least ``days`` before its end (for week-over-week)."""
    return query(url, "trend", replace(w, start=min(w.start, w.end - dt.timedelta(days=days))))


def label(url: str, app_id: str, attempt: int, category: str, note: str, author: str) -> None:
    """A human correction from the Explorer, stored as ``sparktriage label`` stores it; caches refreshed."""
    from sparktriage.store import open_store

    open_store(url).label(app_id, attempt, category, note=note or None, author=author or "dashboard")
    query.clear()


def empty(frame: pd.DataFrame) -> bool:
    if frame.empty:
        st.caption("Nothing in this window.")
        return True
    return False
