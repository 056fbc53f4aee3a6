"""Overview: failed applications over time, by category and by domain; this week against last."""

import altair as alt
import streamlit as st

from dashboard.common import DOMAIN_COLORS, db_url, empty, trend, window
from dashboard.queries import per_day, since, total, week_over_week

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
        colors = alt.Scale(domain=list(DOMAIN_COLORS), range=list(DOMAIN_COLORS.values()))
        st.altair_chart(alt.Chart(per_day(shown, "domain")).mark_area().encode(
            x=alt.X("day:T", title=None), y=alt.Y("n:Q", stack=True, title="applications"),
            color=alt.Color("key:N", title="domain", scale=colors), tooltip=["day:T", "key:N", "n:Q"],
        ), width="stretch")
        st.subheader("By category")
        by_category = per_day(shown, "top_category")
        top = total(shown, "top_category")["key"].head(8)
        by_category["key"] = by_category["key"].where(by_category["key"].isin(top), "other")
        st.altair_chart(alt.Chart(by_category.groupby(["day", "key"], as_index=False)["n"].sum()).mark_bar().encode(
            x=alt.X("day:T", title=None), y=alt.Y("n:Q", title="applications"),
            color=alt.Color("key:N", title="category"), tooltip=["day:T", "key:N", "n:Q"],
        ), width="stretch")

    st.subheader("This week against last week")
    week = week_over_week(every, w.end)
    if not empty(week):
        st.dataframe(week.head(10), hide_index=True, width="stretch")
        st.caption("Open a category in the Explorer:")
        links = st.columns(5)
        for i, category in enumerate(week["category"].head(10)):
            links[i % 5].page_link("pages/explorer.py", label=category, query_params={"category": category})
