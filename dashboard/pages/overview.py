"""Overview: failed applications over time, by domain and by every category; this week against last."""

import altair as alt
import streamlit as st

from dashboard.common import CATEGORY_COLORS, DOMAIN_COLORS, color, db_url, empty, query, table, trend, window
from dashboard.queries import STALLED_HEADERS, per_day, since, total, week_over_week

st.title("Failed Spark applications")
w = window()
if w is not None:
    every = trend(db_url(), w)  # one query; everything below is derived from it
    shown = since(every, w.start)
    n = int(shown["n"].sum())
    domains = total(shown, "domain").set_index("key")["n"]
    cols = st.columns(3)
    cols[0].metric("Failed applications", f"{n:,}")
    cols[1].metric("Infra and platform causes", f"{int(domains.get('infra', 0) + domains.get('platform', 0)):,}")
    cols[2].metric("Left unknown", f"{domains.get('unknown', 0) / n:.1%}" if n else "-")

    if not empty(shown):
        st.subheader("By domain")
        st.altair_chart(alt.Chart(per_day(shown, "domain")).mark_area().encode(
            x=alt.X("day:T", title=None, axis=alt.Axis(format="%b %d")),
            y=alt.Y("n:Q", stack=True, title="failed applications"),
            color=color("key", DOMAIN_COLORS, "domain"),
            tooltip=[alt.Tooltip("day:T", title="day", format="%Y-%m-%d"), alt.Tooltip("key:N", title="domain"),
                     alt.Tooltip("n:Q", title="failed applications")],
        ), width="stretch")

        st.subheader("By category")
        st.caption("Every category, most frequent first: the share of the window's failures, then each day.")
        totals = total(shown, "top_category").rename(columns={"key": "category"})
        totals["share"] = totals["n"] / n
        order = totals["category"].tolist()
        bars = alt.Chart(totals).mark_bar().encode(
            x=alt.X("share:Q", title="share of failed applications", axis=alt.Axis(format="%")),
            y=alt.Y("category:N", sort=order, title=None, axis=alt.Axis(labelLimit=220)),
            color=alt.Color("category:N", legend=None, scale=alt.Scale(
                domain=list(CATEGORY_COLORS), range=list(CATEGORY_COLORS.values()))),
            tooltip=["category:N", alt.Tooltip("n:Q", title="failed applications"),
                     alt.Tooltip("share:Q", format=".1%")])
        daily = per_day(shown, "top_category").rename(columns={"key": "category"})
        heat = alt.Chart(daily).mark_rect().encode(
            x=alt.X("yearmonthdate(day):O", title=None, axis=alt.Axis(format="%b %d", labelAngle=-45)),
            y=alt.Y("category:N", sort=order, title=None, axis=None),
            color=alt.Color("n:Q", title="failed applications", scale=alt.Scale(scheme="blues")),
            tooltip=[alt.Tooltip("day:T", title="day", format="%Y-%m-%d"), "category:N",
                     alt.Tooltip("n:Q", title="failed applications")])
        st.altair_chart(alt.hconcat(bars.properties(width=200), heat.properties(width=430)).resolve_scale(
            color="independent"), width="stretch")

    stuck = query(db_url(), "stalled")  # running now, stalled: apart from the failures above
    if not stuck.empty:
        st.subheader(f"Running but stalled ({len(stuck)})")
        table(stuck, STALLED_HEADERS, times=("noticed",))

    st.subheader("This week against last week")
    week = week_over_week(every, w.end)
    if not empty(week):
        table(week.head(10), {"category": "Category", "this_week": "This week", "last_week": "Last week",
                              "change": "Change"})
        st.caption("Open a category in the Explorer:")
        links = st.columns(5)
        for i, category in enumerate(week["category"].head(10)):
            links[i % 5].page_link("pages/explorer.py", label=category, query_params={"category": category})
