"""Streamlit dashboards over the store."""
