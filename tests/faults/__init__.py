"""Fault-injection harness: real servers, kill -9, an independent oracle (issue #8)."""
