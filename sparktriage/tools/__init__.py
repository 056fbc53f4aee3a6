"""Local tools: classify on files, replay into Kafka, the demo and its embedded broker."""
