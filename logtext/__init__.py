"""Reading Spark log text into exception events: multi-line assembly, events, signals, shapes, runs, last lines.

Pure (no stream, no store): the core (``classifiers``) and the stream app (``ingest``) both read logs through it.
"""
