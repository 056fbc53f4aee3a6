"""Overview: failed applications over time, by category and by domain; this week against last."""

import datetime as dt

import altair as alt
import streamlit as st

from dashboard.common import DOMAIN_COLORS, db_url, empty, query, window

st.title("Failed Spark applications")
w = window()
if w is not None:
    url = db_url()
    totals = query(url, "totals", w, "domain")
    n = int(totals["n"].sum()) if not totals.empty else 0
    unknown = int(totals.loc[totals["key"] == "-", "n"].sum()) if n else 0
    cols = st.columns(3)
    cols[0].metric("Failed applications", f"{n:,}")
    cols[1].metric("Infra and platform causes", f"{int(totals.loc[totals['key'].isin(['infra', 'platform']), 'n'].sum()):,}")
    cols[2].metric("Left unknown", f"{unknown / n:.1%}" if n else "-")

    by_domain = query(url, "daily", w, "domain").replace({"key": {"-": "unknown"}})
    if not empty(by_domain):
        st.subheader("By domain")
        colors = alt.Scale(domain=list(DOMAIN_COLORS), range=list(DOMAIN_COLORS.values()))
        st.altair_chart(alt.Chart(by_domain).mark_area().encode(
            x=alt.X("day:T", title=None), y=alt.Y("n:Q", stack=True, title="applications"),
            color=alt.Color("key:N", title="domain", scale=colors), tooltip=["day:T", "key:N", "n:Q"],
        ), width="stretch")

    by_category = query(url, "daily", w, "top_category")
    if not by_category.empty:
        st.subheader("By category")
        top = by_category.groupby("key")["n"].sum().nlargest(8).index
        shown = by_category.assign(key=by_category["key"].where(by_category["key"].isin(top), "other"))
        shown = shown.groupby(["day", "key"], as_index=False)["n"].sum()
        st.altair_chart(alt.Chart(shown).mark_bar().encode(
            x=alt.X("day:T", title=None), y=alt.Y("n:Q", title="applications"),
            color=alt.Color("key:N", title="category"), tooltip=["day:T", "key:N", "n:Q"],
        ), width="stretch")

    st.subheader("This week against last week")
    week = query(url, "week_over_week", w.end)
    if not empty(week):
        st.dataframe(week.head(10), hide_index=True, width="stretch")
        st.caption("Open a category in the Explorer:")
        links = st.columns(5)
        for i, category in enumerate(week["category"].head(10)):
            links[i % 5].page_link("pages/explorer.py", label=category, query_params={"category": category})
