"""Ingest: envelopes from Kafka, multi-line assembly, exception events, and the stream app."""
