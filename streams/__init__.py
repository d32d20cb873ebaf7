"""Kafka topics and stream processors: ingest, burst assembly, focusing jobs, delivery."""
