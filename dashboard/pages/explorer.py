"""Explorer: filter failed applications, then open one to see its exceptions tab."""

import pandas as pd
import streamlit as st

from dashboard.common import SOURCE_NAMES, db_url, empty, label, query, table, window
from dashboard.queries import STALLED_HEADERS, UNSURE_HEADERS
from sparktriage.taxonomy import CATEGORIES

st.title("Explorer")
w = window(filters=("team", "category", "user", "project"))
if w is not None:
    url = db_url()
    apps = query(url, "applications", w)
    st.caption(f"{len(apps):,} newest matching applications" + (" (the first 200)" if len(apps) == 200 else ""))
    for title, name, args, headers, when in (
            ("Running but stalled", "stalled", (), STALLED_HEADERS, "noticed"),
            ("Ended with no known status, or no known end (not counted as failed)", "unsure_ends", (w,),
             UNSURE_HEADERS, "ended")):
        apart = query(url, name, *args)
        if not apart.empty:
            with st.expander(f"{title}: {len(apart)}"):
                table(apart, headers, times=(when,))
    if not empty(apps):
        table(apps, {"ended": "Ended (UTC)", "app_id": "Application", "attempt": "Attempt", "team": "Team",
                     "user": "User", "wf_project": "Project", "wf_flow": "Flow", "wf_job": "Job",
                     "category": "Category", "source": "Decided by", "rule_id": "Rule", "confidence": "Confidence"},
              times=("ended",))
    keys = [f"{a} #{n}" for a, n in zip(apps["app_id"], apps["attempt"])]
    preset = st.query_params.get("app")
    if preset and " #" in preset and preset not in keys:
        keys.insert(0, preset)  # a link (the document's dashboard_url) opens its application whatever the window
    if keys:
        picked = st.selectbox("Open an application", keys, index=keys.index(preset) if preset in keys else 0,
                              key="open_app")
        app_id, attempt = picked.rsplit(" #", 1)
        tab = query(url, "application", app_id, int(attempt))
        if tab is not None:
            d, app = tab["diagnosis"], tab["app"]
            st.header(f"{d['category']}  ·  {d['domain']}")
            decided = f"the rule `{d['rule_id']}`" if d["rule_id"] else (
                f"the model {d['model_version']}" if d["source"] == "model" else SOURCE_NAMES.get(d["source"], d["source"]))
            st.markdown(f"**{d['explain']}**  \nDecided by {decided}, confidence {d['confidence']:.0%}; "
                        f"rule packs `{d['rule_pack_version']}`.")
            if d["remediation"]:
                st.success(f"What to change: {d['remediation']}")
            if d["hint"]:
                st.caption(f"Best guess kept as a hint: {d['hint']}")
            st.caption(f"{app.get('team')} · {app.get('user')} · queue {app.get('queue')} · "
                       f"{app.get('wf_project')}/{app.get('wf_flow')}/{app.get('wf_job')} · {app.get('final_status')}")
            st.subheader("Evidence")
            for ev in d["evidence"] or []:
                st.caption(f"{ev.get('role')} {ev.get('container_id') or ''} on {ev.get('host') or '?'}, line {ev.get('line')}")
                st.code(ev.get("excerpt") or "", language="text")
            st.subheader("Every distinct exception")
            groups = pd.DataFrame(d["exceptions"] or [], columns=["exc_class", "message", "count", "first_ts",
                                                                  "first_container", "roles", "category"])
            groups["first_ts"] = pd.to_datetime(groups["first_ts"], unit="s", utc=True)
            table(groups, {"count": "Times", "exc_class": "Exception", "message": "Message", "category": "Rule says",
                           "first_ts": "First seen (UTC)", "first_container": "First in container", "roles": "Roles"},
                  times=("first_ts",))
            with st.form("correct", clear_on_submit=True):
                st.caption("Wrong? Record the right root cause; relabel will never override it.")
                cols = st.columns([2, 3, 2])
                right = cols[0].selectbox("Category", sorted(CATEGORIES), index=sorted(CATEGORIES).index(d["category"])
                                          if d["category"] in CATEGORIES else 0, key="correct_category")
                note = cols[1].text_input("Why", key="correct_note")
                author = cols[2].text_input("Who", key="correct_author")
                if st.form_submit_button("Save correction"):
                    label(url, app_id, int(attempt), right, note, author)
                    st.success(f"Recorded: {app_id} is {right}.")
            if tab["history"]:
                st.subheader("Earlier diagnoses")
                table(pd.DataFrame(tab["history"]), {"created": "Diagnosed (UTC)", "category": "Category",
                                                     "rule_id": "Rule", "source": "Decided by",
                                                     "rule_pack_version": "Rule packs", "superseded": "Replaced (UTC)"},
                      times=("created", "superseded"))
