"""sparktriage dashboards: ``sparktriage dashboard`` runs this with Streamlit.

Five pages over the store: Overview (trends by category and domain), Teams
(per-team breakdowns), Infra (infra and platform failures, spikes, hosts),
Explorer (filter, then one application's exceptions tab) and Quality (rules
vs model vs unknown, confidence, what nothing classifies, relabel history).
"""

import streamlit as st

st.set_page_config(page_title="sparktriage", page_icon=":material/troubleshoot:", layout="wide")
pages = [
    st.Page("pages/overview.py", title="Overview", icon=":material/monitoring:", default=True),
    st.Page("pages/teams.py", title="Teams", icon=":material/groups:"),
    st.Page("pages/infra.py", title="Infra", icon=":material/dns:"),
    st.Page("pages/explorer.py", title="Explorer", icon=":material/search:"),
    st.Page("pages/quality.py", title="Quality", icon=":material/rule:"),
]
st.navigation(pages).run()
