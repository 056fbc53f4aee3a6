"""Trained model artifacts (``models/<name>/<version>/``) with their model cards."""
