"""Infra: infra and platform failures per category, days far above their baseline marked, the hosts and queues."""

import datetime as dt
from dataclasses import replace

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.common import CATEGORY_COLORS, db_url, empty, query, table, trend, window
from dashboard.queries import per_day, spikes

BASELINE_DAYS = 7
st.title("Infra and platform")
w = window()
if w is not None:
    url = db_url()
    # a week more than shown, so that the first days shown have a baseline too
    every = trend(url, replace(w, start=w.start - dt.timedelta(days=BASELINE_DAYS)), days=0)
    daily = per_day(every[every["domain"].isin(["infra", "platform"])], "top_category")
    marked = spikes(daily, window=BASELINE_DAYS)
    shown = pd.Timestamp(w.start.date())
    marked, daily = marked[marked["day"] >= shown], daily[daily["day"] >= shown]
    if not empty(marked):
        flagged = marked[marked["spike"]]
        cols = st.columns(2)
        cols[0].metric("Infra and platform failures", f"{int(daily['n'].sum()):,}")
        cols[1].metric("Spike days", f"{flagged['day'].nunique():,}")
        st.caption(f"One chart per category, largest first; a red dot is a spike: a day over 3 times "
                   f"its trailing {BASELINE_DAYS}-day median.")
        order = marked.groupby("key")["n"].sum().sort_values(ascending=False).index.tolist()
        scale = alt.Scale(domain=list(CATEGORY_COLORS), range=list(CATEGORY_COLORS.values()))
        days = alt.X("day:T", title=None, axis=alt.Axis(format="%b %d", labelAngle=-45, tickCount=5))
        line = alt.Chart().mark_line(point=alt.OverlayMarkDef(size=12)).encode(
            x=days, y=alt.Y("n:Q", title="failures"), color=alt.Color("key:N", legend=None, scale=scale),
            tooltip=[alt.Tooltip("day:T", title="day", format="%Y-%m-%d"), alt.Tooltip("n:Q", title="failures")])
        dots = alt.Chart().mark_point(size=120, filled=True, color="red").encode(
            x=days, y="n:Q",
            tooltip=[alt.Tooltip("day:T", title="day", format="%Y-%m-%d"), alt.Tooltip("n:Q", title="failures"),
                     alt.Tooltip("baseline:Q", title="trailing median")]).transform_filter(alt.datum.spike)
        st.altair_chart(alt.layer(line, dots, data=marked).properties(width=230, height=110).facet(
            facet=alt.Facet("key:N", title=None, sort=order), columns=3).resolve_scale(y="independent"),
            width="content")
        if not flagged.empty:
            st.subheader("Spikes")
            table(flagged.sort_values("day", ascending=False),
                  {"day": "Day", "key": "Category", "n": "Failures", "baseline": "Trailing median"}, dates=("day",))
    hosts, queues = query(url, "machines", w)
    cols = st.columns(2)
    with cols[0]:
        st.subheader("Hosts most involved")
        st.caption("Shuffle fetch failures, executor loss, disk, network")
        table(hosts, {"key": "Host", "applications": "Failed applications"})
    with cols[1]:
        st.subheader("Queues most involved")
        table(queues, {"key": "Queue", "applications": "Failed applications"})

if w is not None:
    alerts = query(url, "spike_alerts")
    st.subheader("Spike alerts")
    st.caption("Raised by the worker as diagnoses arrive (alert_url): a category, host or queue far above the same "
               "window on the days before; one notification at the start, one at the end.")
    if alerts.empty:
        st.caption("None so far.")
    else:
        table(alerts, {"state": "State", "kind": "Kind", "key": "What", "started": "Started", "ended": "Ended",
                       "count": "Failures at start", "baseline": "Usual", "end_count": "Failures at end"},
              times=("started", "ended"))
