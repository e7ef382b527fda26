"""Dead-letter records: the original bytes plus headers that say where and why."""

from __future__ import annotations

from collections.abc import Sequence

from collectpulse.events.decode import Invalid

DLQ_TOPIC = "dlq"


def dlq_headers(
    *, source_topic: str, partition: int, offset: int, invalid: Invalid
) -> Sequence[tuple[str, bytes]]:
    """Headers of a dead-lettered record; ``detail`` never carries input values."""
    return (
        ("cp-source-topic", source_topic.encode()),
        ("cp-source-partition", str(partition).encode()),
        ("cp-source-offset", str(offset).encode()),
        ("cp-error-reason", invalid.reason.encode()),
        ("cp-error-class", invalid.error_class.encode()),
        ("cp-error", invalid.detail.encode()),
    )
