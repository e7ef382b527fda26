"""Kafka plumbing shared by the worker and the simulator: client options, topic layout."""
