"""The value an agent receives from the batched transport: one partition's run of records.

Pure data, no Kafka client types: agents, the store and tests build and read
``RecordBatch`` without a broker.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple


class RawRecord(NamedTuple):
    """One Kafka record as fetched: undecoded key and value bytes."""

    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class RecordBatch:
    """Consecutive records of one partition, delivered and acknowledged as one message.

    ``last_offset`` is the offset of the Faust message carrying the batch:
    acknowledging the message acknowledges every record in ``records``.
    """

    topic: str
    partition: int
    first_offset: int
    last_offset: int
    records: Sequence[RawRecord]

    def __post_init__(self) -> None:
        if not self.records:
            raise ValueError("a RecordBatch holds at least one record")
        if self.records[0].offset != self.first_offset:
            raise ValueError("first_offset must be the first record's offset")
        if self.records[-1].offset != self.last_offset:
            raise ValueError("last_offset must be the last record's offset")

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[RawRecord]:
        return iter(self.records)
