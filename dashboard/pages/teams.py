"""Teams: which failure types dominate for one team, its trend, its failing jobs, user vs infra."""

import altair as alt
import streamlit as st

from dashboard.common import CATEGORY_COLORS, DOMAIN_COLORS, color, db_url, empty, query, table, trend, window
from dashboard.queries import per_day, since, total

st.title("Teams")
w = window(filters=("team",))
if w is not None:
    url = db_url()
    if w.team is None:
        st.caption("Every team in the window; pick one in the sidebar for its breakdown.")
        teams = query(url, "teams", w)
        if not empty(teams):
            teams["user share"] = (teams["user"] + teams["data"]) / teams["failures"]
            teams["infra share"] = (teams["infra"] + teams["platform"]) / teams["failures"]
            table(teams, {"team": "Team", "failures": "Failed applications", "user share": "User and data causes",
                          "infra share": "Infra and platform causes", "user": "User", "data": "Data",
                          "infra": "Infra", "platform": "Platform"}, percent=("user share", "infra share"))
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
            breakdown = total(every, "top_category").rename(columns={"key": "category"})
            breakdown["share"] = breakdown["n"] / breakdown["n"].sum()
            st.altair_chart(alt.Chart(breakdown).mark_bar().encode(
                x=alt.X("share:Q", title="share of the team's failed applications", axis=alt.Axis(format="%")),
                y=alt.Y("category:N", sort="-x", title=None, axis=alt.Axis(labelLimit=220)),
                color=alt.Color("category:N", legend=None, scale=alt.Scale(
                    domain=list(CATEGORY_COLORS), range=list(CATEGORY_COLORS.values()))),
                tooltip=["category:N", alt.Tooltip("n:Q", title="failed applications"),
                         alt.Tooltip("share:Q", format=".1%")]), width="stretch")
            st.subheader("Trend")
            st.altair_chart(alt.Chart(per_day(every, "domain")).mark_line(point=True).encode(
                x=alt.X("day:T", title=None, axis=alt.Axis(format="%b %d")),
                y=alt.Y("n:Q", title="failed applications"), color=color("key", DOMAIN_COLORS, "domain"),
                tooltip=[alt.Tooltip("day:T", title="day", format="%Y-%m-%d"), alt.Tooltip("key:N", title="domain"),
                         alt.Tooltip("n:Q", title="failed applications")]), width="stretch")
            st.subheader("Jobs that fail most, and why")
            table(query(url, "failing_jobs", w), {"project": "Project", "flow": "Flow", "job": "Job",
                                                  "failures": "Failed runs", "usual_cause": "Usual cause"})
