"""The experiment agent's decoding: valid configs pass, bad and future ones become DLQ records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from collectpulse.events.decode import Invalid
from collectpulse.events.roster import ExperimentEvent
from collectpulse.stream.batch import RawRecord, RecordBatch
from collectpulse.stream.experiment_agent import decode_configs

NOW = 1_800_000_000


def iso(at_s: int) -> str:
    return datetime.fromtimestamp(at_s, UTC).isoformat()


def config(**change: Any) -> bytes:
    body = {
        "event_id": "cfg",
        "occurred_at": iso(NOW - 60),
        "campaign": "tone",
        "variants": {"control": 0.5, "b": 0.5},
        "control": "control",
        "started_at": iso(NOW - 3600),
        **change,
    }
    return json.dumps(body).encode()


def test_valid_configs_pass_and_the_rest_say_why_they_are_dead_lettered() -> None:
    values = [
        config(),
        config(control="x"),
        config(occurred_at=iso(NOW + 600), started_at=iso(NOW + 600)),  # ahead of the clock
        config(occurred_at=iso(NOW + 60), started_at=iso(NOW + 60)),  # within the tolerance
        b"not json",
        None,
    ]
    records = [RawRecord(i, b"tone", v, (), 0) for i, v in enumerate(values)]
    batch = RecordBatch("x.experiment", 1, 0, len(records) - 1, records)
    decoded = decode_configs(batch, max_bytes=65536, now_s=NOW, future_tolerance_s=300)
    kinds = [
        type(r.event).__name__ if not isinstance(r.event, Invalid) else r.event.error_class
        for r in decoded
    ]
    assert kinds == [
        "ExperimentEvent",
        "unknown_control",
        "future_event",
        "ExperimentEvent",
        "json_invalid",
        "empty",
    ]
    assert [r.offset for r in decoded] == list(range(6))
    assert isinstance(decoded[0].event, ExperimentEvent)
