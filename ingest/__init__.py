"""Ingest: envelopes from Kafka, the stream app and its state (the log text itself is read by ``logtext``)."""
