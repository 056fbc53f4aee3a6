"""Quality: who decides (rules, model, people, nothing), how sure, which rules fire, what nothing classifies."""

import altair as alt
import streamlit as st

from dashboard.common import SOURCE_COLORS, SOURCE_NAMES, color, db_url, empty, query, share, table, window
from dashboard.queries import rule_hits

st.title("Classification quality")
w = window()
if w is not None:
    url = db_url()
    decided = query(url, "decisions", w)  # one query: shares, confidence and rule hits derive from it
    if not empty(decided):
        by_source = decided.groupby("source")["n"].sum()
        total = int(by_source.sum())
        cols = st.columns(4)
        for col, key in zip(cols, SOURCE_NAMES):
            col.metric(f"Decided by {SOURCE_NAMES[key]}", share(by_source.get(key, 0), total))
        everywhere = query(url, "sources")
        st.caption("In the whole store: " + ", ".join(
            f"{everywhere.get(key, 0):,} decided by {name}" for key, name in SOURCE_NAMES.items()) + ".")
        st.subheader("Confidence")
        hist = decided.groupby(["source", "confidence"], as_index=False)["n"].sum()
        hist["decided by"] = hist["source"].map(SOURCE_NAMES).fillna(hist["source"])
        st.altair_chart(alt.Chart(hist).mark_bar().encode(
            x=alt.X("confidence:O", title="confidence (lower edge of its tenth)", axis=alt.Axis(format=".0%")),
            y=alt.Y("n:Q", title="applications"), color=color("decided by", SOURCE_COLORS, "decided by"),
            tooltip=["decided by:N", alt.Tooltip("confidence:O", format=".0%"), alt.Tooltip("n:Q", title="applications")],
        ), width="stretch")
        st.subheader("Rule hits")
        table(rule_hits(decided), {"rule_id": "Rule", "category": "Category", "applications": "Applications"})
    st.subheader("What nothing classifies")
    st.caption("Exceptions of applications left unknown, grouped by class and masked message: the next rules to write.")
    table(query(url, "unknown_templates", w), {"template": "Template", "count": "Exceptions", "example": "Example"})
    st.subheader("Relabel runs")
    table(query(url, "relabel_runs"), {"id": "Run", "who": "By", "started": "Started (UTC)",
                                       "finished": "Finished (UTC)", "status": "Status",
                                       "rule_pack_version": "Rule packs", "scanned": "Scanned", "changed": "Changed"},
          times=("started", "finished"))
