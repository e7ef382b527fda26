"""What the worker's clock decides: future events are dead-lettered, processing lag is in ms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from collectpulse.events.models import Topic
from collectpulse.exporter.computed import pipeline, processing_lag_s
from collectpulse.store.context import Record, Snapshot, Timing
from collectpulse.store.effects import newest_event_ms, plan_partition
from collectpulse.store.fields import counter_field
from collectpulse.store.keys import DAY_S, FIELD_SEP, Keys
from collectpulse.store.plan import WritePlan
from collectpulse.store.reader import StoreView
from collectpulse.stream.agents import decode_batch
from collectpulse.stream.batch import RawRecord, RecordBatch

KEYS = Keys("cp")
PARTITION = 3
NOW_S = 1_800_000_000
NOW_MS = NOW_S * 1000 + 900  # the batch is applied at NOW_S + 0.9 s
TOLERANCE_S = 300
TIMING = Timing(
    now_s=NOW_S,
    now_ms=NOW_MS,
    bucket_s=60,
    retention_s=14 * DAY_S,
    fine_ttl_s=7 * DAY_S,
    dedupe_horizon_s=7 * DAY_S,
    max_event_bytes=4096,
)


def _open(event_id: str, at: datetime) -> bytes:
    return orjson.dumps({"event_id": event_id, "occurred_at": at.isoformat(), "message_id": "m1"})


def _decoded(*values: bytes) -> list[Record]:
    raws = [RawRecord(i, b"m1", v, (), NOW_MS) for i, v in enumerate(values)]
    batch = RecordBatch("collections.open", PARTITION, 0, len(raws) - 1, raws)
    return decode_batch(
        Topic.OPEN, batch, max_bytes=4096, now_s=NOW_S, future_tolerance_s=TOLERANCE_S
    )


def _plan(records: list[Record]) -> WritePlan:
    return plan_partition(
        partition=PARTITION,
        events=[(Topic.OPEN, records)],
        touches=[],
        snapshot=Snapshot(version="0"),
        keys=KEYS,
        timing=TIMING,
        cap=lambda _label, value: value,
    )


def _max(plan: WritePlan, name: str) -> int:
    return plan.hmax[(KEYS.totals(PARTITION), f"{name}{FIELD_SEP}open")]


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(NOW_S, UTC) + timedelta(seconds=seconds)


def test_a_future_event_is_counted_invalid_and_dead_lettered_and_never_bucketed() -> None:
    records = _decoded(_open("far", _at(10 * 60)), _open("near", _at(60)))

    plan = _plan(records)

    totals = KEYS.totals(PARTITION)
    invalid = counter_field("events_invalid", {"topic": "open", "reason": "future_event"})
    assert plan.incr[(totals, invalid)] == 1
    assert plan.incr[(totals, counter_field("events_dead_lettered", {"topic": "open"}))] == 1
    # only the event within the tolerance is remembered for dedupe and sets the newest time
    assert [ids for key, ids in plan.sadd.items() if ":seen:" in key] == [["near"]]
    assert _max(plan, "last_event_s") == NOW_S + 60


def test_the_newest_event_time_is_kept_to_the_millisecond() -> None:
    records = _decoded(_open("a", _at(0.123)), _open("b", _at(0.4569)), _open("c", _at(-3.999)))

    assert newest_event_ms(records, NOW_S) == NOW_S * 1000 + 456
    plan = _plan(records)
    assert _max(plan, "last_event_ms") == NOW_S * 1000 + 456
    assert _max(plan, "last_applied_ms") == NOW_MS


def test_processing_lag_is_the_newest_event_to_its_apply_in_milliseconds() -> None:
    assert processing_lag_s(NOW_S * 1000 + 456, NOW_MS) == 0.444
    assert processing_lag_s(NOW_S * 1000, NOW_S * 1000 + 5) == 0.005
    # an event dated after its apply (clock skew within the tolerance) has no lag, not < 0
    assert processing_lag_s(NOW_MS + 30_000, NOW_MS) == 0


def test_the_exporter_reports_the_sub_second_lag_of_what_a_batch_wrote() -> None:
    plan = _plan(_decoded(_open("a", _at(0.25))))
    totals = {field: value for (_, field), value in plan.hmax.items()}

    families = {f.name: f for f in pipeline(StoreView(NOW_S + 5, (PARTITION,), totals))}

    (lag,) = families["collectpulse_processing_lag_seconds"].samples
    assert (lag.labels, lag.value) == ({"topic": "open"}, 0.65)
    (last,) = families["collectpulse_last_event_timestamp_seconds"].samples
    assert last.value == NOW_S
