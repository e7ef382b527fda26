"""Malformed records to exercise the dead-letter path: not JSON, schema violations, oversized.

Seeded apart from the event stream, so adding poison never changes which
valid events are generated: they are only interleaved with bad records.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterable, Iterator
from typing import Literal

from collectpulse.events.models import Topic
from collectpulse.simulate.records import Record

PoisonKind = Literal["not_json", "schema", "oversized"]
# Kafka's default limit for one record batch is about 1 MiB.
DEFAULT_MAX_RECORD_BYTES = 1_000_000
_ENVELOPE_ROOM_BYTES = 1024


class PoisonMaker:
    """Makes malformed records for every canonical topic, deterministically from a seed."""

    def __init__(
        self,
        seed: int,
        *,
        max_event_bytes: int,
        max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    ) -> None:
        self._rng = random.Random(f"poison:{seed}")
        self._seed = seed
        self._serial = itertools.count(1)
        self._max_event_bytes = max_event_bytes
        kinds: list[PoisonKind] = ["not_json", "schema"]
        # An oversized value the broker itself would refuse tests nothing of ours.
        if max_event_bytes + _ENVELOPE_ROOM_BYTES <= max_record_bytes:
            kinds.append("oversized")
        self.kinds: tuple[PoisonKind, ...] = tuple(kinds)

    def make(self, kind: PoisonKind | None = None) -> Record:
        """One malformed record of `kind` (a random one if None) on a random topic."""
        rng = self._rng
        kind = kind or rng.choice(self.kinds)
        event_id = f"poison{self._seed}-{next(self._serial)}"
        topic = rng.choice(tuple(Topic))
        if kind == "not_json":
            value = rng.choice(
                (
                    f'{{"event_id": "{event_id}", "occurred_at": "2025-'.encode(),
                    b"<html><body>502 Bad Gateway</body></html>",
                    b"\xff\xfe\x00garbage",
                )
            )
        elif kind == "schema":
            value = json.dumps(
                rng.choice(
                    (
                        {"event_id": event_id, "occurred_at": 1_700_000_000},
                        {"event_id": event_id, "occurred_at": "2025-03-01T09:30:00"},
                        [{"event_id": event_id}],
                    )
                )
            ).encode()
        else:
            padding = "x" * self._max_event_bytes
            body = {"event_id": event_id, "occurred_at": "2025-03-01T09:30:00Z", "pad": padding}
            value = json.dumps(body).encode()
        return Record(topic, event_id.encode(), value)

    def mix(self, records: Iterable[Record], *, rate: float) -> Iterator[tuple[Record, bool]]:
        """Each slot is poison with probability `rate`, else the next valid record.

        Yields `(record, is_poison)` and ends when `records` does.
        """
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"poison rate must be in [0, 1), got {rate}")
        valid = iter(records)
        while True:
            if rate and self._rng.random() < rate:
                yield self.make(), True
                continue
            record = next(valid, None)
            if record is None:
                return
            yield record, False


__all__ = ["DEFAULT_MAX_RECORD_BYTES", "PoisonKind", "PoisonMaker"]
