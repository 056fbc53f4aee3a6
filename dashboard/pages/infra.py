"""Infra: infra and platform failures over time, days far above their baseline, the hosts and queues involved."""

import datetime as dt
from dataclasses import replace

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.common import db_url, empty, query, trend, window
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
        line = alt.Chart(marked).mark_line().encode(
            x=alt.X("day:T", title=None), y=alt.Y("n:Q", title="applications"), color=alt.Color("key:N", title="category"))
        dots = alt.Chart(flagged).mark_point(size=140, filled=True, color="red").encode(
            x="day:T", y="n:Q", tooltip=["day:T", "key:N", "n:Q", alt.Tooltip("baseline:Q", title="trailing median")])
        st.altair_chart(line + dots, width="stretch")
        if not flagged.empty:
            st.subheader("Spikes (a day far above its trailing 7-day median)")
            st.dataframe(flagged.sort_values("day", ascending=False)[["day", "key", "n", "baseline"]],
                         hide_index=True, width="stretch")
    hosts, queues = query(url, "machines", w)
    cols = st.columns(2)
    with cols[0]:
        st.subheader("Hosts most involved")
        st.caption("Shuffle fetch failures, executor loss, disk, network")
        st.dataframe(hosts, hide_index=True, width="stretch")
    with cols[1]:
        st.subheader("Queues most involved")
        st.dataframe(queues, hide_index=True, width="stretch")
