"""Teams: which failure types dominate for one team, its trend, its failing jobs, user vs infra."""

import altair as alt
import streamlit as st

from dashboard.common import db_url, empty, query, trend, window
from dashboard.queries import per_day, since, total

st.title("Teams")
w = window(filters=("team",))
if w is not None:
    url = db_url()
    if w.team is None:
        st.caption("Every team in the window; pick one in the sidebar for its breakdown.")
        table = query(url, "teams", w)
        if not empty(table):
            table["user share"] = (table["user"] / table["failures"]).round(2)
            table["infra share"] = ((table["infra"] + table["platform"]) / table["failures"]).round(2)
            st.dataframe(table, hide_index=True, width="stretch")
    else:
        st.header(w.team)
        row = query(url, "teams", w)
        if not empty(row):
            r = row.iloc[0]
            cols = st.columns(3)
            cols[0].metric("Failed applications", f"{int(r['failures']):,}")
            cols[1].metric("User and data causes", f"{(r['user'] + r['data']) / r['failures']:.0%}")
            cols[2].metric("Infra and platform causes", f"{(r['infra'] + r['platform']) / r['failures']:.0%}")
            every = since(trend(url, w), w.start)
            st.subheader("Failure breakdown")
            st.altair_chart(alt.Chart(total(every, "top_category")).mark_bar().encode(
                x=alt.X("n:Q", title="applications"), y=alt.Y("key:N", sort="-x", title=None),
                tooltip=["key:N", "n:Q"]), width="stretch")
            st.subheader("Trend")
            st.altair_chart(alt.Chart(per_day(every, "domain")).mark_line(point=True).encode(
                x=alt.X("day:T", title=None), y=alt.Y("n:Q", title="applications"), color=alt.Color("key:N", title="domain")),
                width="stretch")
            st.subheader("Jobs that fail most, and why")
            st.dataframe(query(url, "failing_jobs", w), hide_index=True, width="stretch")
