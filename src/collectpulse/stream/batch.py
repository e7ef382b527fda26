"""The value an agent receives from the batched transport: one partition's run of records.

Pure data, no Kafka client types: agents, the store and tests build and read
``RecordBatch`` without a broker.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol


class KafkaRecord(Protocol):
    """One Kafka record as fetched: undecoded key and value bytes.

    aiokafka's ``ConsumerRecord`` has these attributes, so the transport hands
    the fetched records over as they are (a copy per record cost ~1.5 µs).
    """

    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...
    @property
    def timestamp(self) -> int:
        """Milliseconds since the epoch (the producer's or the broker's time); -1 if none."""
        ...


class RawRecord(NamedTuple):
    """A ``KafkaRecord`` built by hand (tests, benchmarks)."""

    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]
    timestamp: int


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
    records: Sequence[KafkaRecord]

    def __post_init__(self) -> None:
        if not self.records:
            raise ValueError("a RecordBatch holds at least one record")
        if self.records[0].offset != self.first_offset:
            raise ValueError("first_offset must be the first record's offset")
        if self.records[-1].offset != self.last_offset:
            raise ValueError("last_offset must be the last record's offset")

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[KafkaRecord]:
        return iter(self.records)
