"""Quality: who decides (rules, model, unknown), how sure, which rules fire, what nothing classifies."""

import altair as alt
import streamlit as st

from dashboard.common import db_url, empty, query, window
from dashboard.queries import rule_hits

st.title("Classification quality")
w = window()
if w is not None:
    url = db_url()
    decided = query(url, "decisions", w)  # one query: shares, confidence and rule hits derive from it
    if not empty(decided):
        share = decided.groupby("source")["n"].sum()
        total = int(share.sum())
        cols = st.columns(4)
        for col, (name, key) in zip(cols, (("Rules", "rule"), ("Model", "model"), ("Human", "human"), ("Unknown", "none"))):
            col.metric(f"Decided by {name.lower()}" if key != "none" else "Left unknown", f"{share.get(key, 0) / total:.1%}")
        st.subheader("Confidence")
        hist = decided.groupby(["source", "confidence"], as_index=False)["n"].sum()
        st.altair_chart(alt.Chart(hist).mark_bar().encode(
            x=alt.X("confidence:O", title="confidence (decile)"), y=alt.Y("n:Q", title="applications"),
            color="source:N"), width="stretch")
        st.subheader("Rule hits")
        st.dataframe(rule_hits(decided), hide_index=True, width="stretch")
    st.subheader("What nothing classifies")
    st.caption("Exceptions of applications left unknown, grouped by class and masked message: the next rules to write.")
    st.dataframe(query(url, "unknown_templates", w), hide_index=True, width="stretch")
    st.subheader("Relabel runs")
    st.dataframe(query(url, "relabel_runs"), hide_index=True, width="stretch")
