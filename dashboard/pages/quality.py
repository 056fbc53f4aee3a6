"""Quality: who decides (rules, model, unknown), how sure, which rules fire, what nothing classifies."""

import altair as alt
import streamlit as st

from dashboard.common import db_url, empty, query, window

st.title("Classification quality")
w = window()
if w is not None:
    url = db_url()
    sources = query(url, "totals", w, "source")
    if not empty(sources):
        total = int(sources["n"].sum())
        share = dict(zip(sources["key"], sources["n"]))
        cols = st.columns(4)
        for col, (name, key) in zip(cols, (("Rules", "rule"), ("Model", "model"), ("Human", "human"), ("Unknown", "none"))):
            col.metric(f"Decided by {name.lower()}" if key != "none" else "Left unknown", f"{share.get(key, 0) / total:.1%}")
        st.subheader("Confidence")
        hist = query(url, "confidence_histogram", w)
        st.altair_chart(alt.Chart(hist).mark_bar().encode(
            x=alt.X("confidence:O", title="confidence (bucket)"), y=alt.Y("n:Q", title="applications"),
            color="source:N"), width="stretch")
        st.subheader("Rule hits")
        st.dataframe(query(url, "rule_hits", w), hide_index=True, width="stretch")
    st.subheader("What nothing classifies")
    st.caption("Exceptions of applications left unknown, grouped by class and masked message: the next rules to write.")
    st.dataframe(query(url, "unknown_templates", w), hide_index=True, width="stretch")
    st.subheader("Relabel runs")
    st.dataframe(query(url, "relabel_runs"), hide_index=True, width="stretch")
