"""Pages of the Streamlit app (one module a page)."""
