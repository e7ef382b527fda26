"""decode_batch: one Record per fetched record, with the event time computed once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from collectpulse.events.decode import Invalid
from collectpulse.events.models import Topic
from collectpulse.store.context import Record
from collectpulse.stream.agents import decode_batch
from collectpulse.stream.batch import RawRecord, RecordBatch

OPEN = {"event_id": "e1", "occurred_at": "2026-11-23T10:00:05.9+01:00", "message_id": "m1"}
OPEN_S = int(datetime(2026, 11, 23, 9, 0, 5, tzinfo=UTC).timestamp())
TOLERANCE_S = 300
LIMITS: dict[str, Any] = {"max_bytes": 65536, "now_s": OPEN_S, "future_tolerance_s": TOLERANCE_S}


def test_each_record_keeps_its_offset_timestamp_and_whole_second_event_time() -> None:
    values = [orjson.dumps(OPEN), b"{not json"]
    batch = RecordBatch(
        "collections.open",
        2,
        10,
        11,
        [RawRecord(10 + i, b"m1", v, (), 1_700_000_000_000 + i) for i, v in enumerate(values)],
    )

    good, bad = decode_batch(Topic.OPEN, batch, **LIMITS)

    expected_s = int(datetime(2026, 11, 23, 9, 0, 5, tzinfo=UTC).timestamp())
    assert (good.offset, good.timestamp_ms, good.key_ok) == (10, 1_700_000_000_000, True)
    assert good.occurred_s == expected_s
    assert good.event_s(good.event) == expected_s  # type: ignore[arg-type]
    assert isinstance(bad.event, Invalid)
    assert (bad.offset, bad.occurred_s) == (11, -1)


def test_a_record_built_without_the_event_time_computes_it_from_its_event() -> None:
    (decoded,) = decode_batch(
        Topic.OPEN,
        RecordBatch("collections.open", 0, 0, 0, [RawRecord(0, b"m1", orjson.dumps(OPEN), (), 0)]),
        **LIMITS,
    )
    bare = decoded._replace(occurred_s=-1)

    assert bare.event_s(bare.event) == decoded.occurred_s  # type: ignore[arg-type]


def _open_batch(now_s: int) -> list[Record]:
    batch = RecordBatch(
        "collections.open", 0, 0, 0, [RawRecord(0, b"m1", orjson.dumps(OPEN), (), 0)]
    )
    return decode_batch(Topic.OPEN, batch, max_bytes=65536, now_s=now_s, future_tolerance_s=300)


def test_an_event_more_than_the_tolerance_ahead_of_the_clock_is_a_future_event() -> None:
    (record,) = _open_batch(now_s=OPEN_S - TOLERANCE_S - 1)

    assert isinstance(record.event, Invalid)
    assert (record.event.reason, record.event.error_class) == ("future_event", "future_event")
    assert record.event.detail == "occurred_at is 301s ahead of the worker's clock; tolerance 300s"
    assert record.occurred_s == -1  # never placed in a bucket


def test_an_event_ahead_of_the_clock_within_the_tolerance_is_decoded() -> None:
    (record,) = _open_batch(now_s=OPEN_S - TOLERANCE_S)

    assert not isinstance(record.event, Invalid)
    assert record.occurred_s == OPEN_S
