"""Dead-letter records: the original bytes (or one bad event of a batch) plus where and why."""

from __future__ import annotations

from collections.abc import Sequence

from collectpulse.events.decode import Invalid

DLQ_TOPIC = "dlq"


def dlq_headers(
    *,
    source_topic: str,
    partition: int,
    offset: int,
    invalid: Invalid,
    item_index: int | None = None,
) -> Sequence[tuple[str, bytes]]:
    """Headers of a dead-lettered record; ``detail`` never carries input values.

    ``item_index`` is set when the record is one bad event of a batch payload (the
    event's position in the source record), absent when the whole record is bad.
    """
    headers = (
        ("cp-source-topic", source_topic.encode()),
        ("cp-source-partition", str(partition).encode()),
        ("cp-source-offset", str(offset).encode()),
        ("cp-error-reason", invalid.reason.encode()),
        ("cp-error-class", invalid.error_class.encode()),
        ("cp-error", invalid.detail.encode()),
    )
    if item_index is None:
        return headers
    return (*headers, ("cp-item-index", str(item_index).encode()))
