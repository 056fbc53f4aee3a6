"""Delivery: the webhook and the outbox's sender, the Kafka topics, spike alerts, the read API."""
