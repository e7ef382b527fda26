"""Reading `collectpulse publish` input: formats, wrappers, validation and line numbers."""

from __future__ import annotations

import json

from collectpulse.events.models import Topic
from collectpulse.publish.reading import BadRecord, Record, read_records

NOW_S = 1_764_836_400  # 2025-12-04T08:20:00Z
SENT = {
    "event_id": "e-1",
    "occurred_at": "2025-12-04T08:00:00Z",
    "message_id": "m-42",
    "status": "sent",
    "channel": "email",
    "customer_id": "c-7",
    "campaign": "dunning-30d",
    "variant": "control",
}
OPEN = {"event_id": "e-2", "occurred_at": "2025-12-04T08:10:00Z", "message_id": "m-42"}
PAYMENT = {
    "event_id": "e-3",
    "occurred_at": "2025-12-04T08:15:00Z",
    "payment_id": "p-1",
    "customer_id": "c-7",
    "status": "succeeded",
    "amount_minor": 100,
    "currency": "EUR",
}


def read(text: str, topic: Topic | None = None) -> tuple[list[Record], list[BadRecord]]:
    return read_records(
        text, topic=topic, max_event_bytes=65536, now_s=NOW_S, future_tolerance_s=300
    )


def test_json_lines_become_records_with_the_contract_key_and_their_line() -> None:
    text = json.dumps(OPEN) + "\n" + json.dumps(OPEN | {"event_id": "e-9"}) + "\n"
    records, bad = read(text, Topic.OPEN)
    assert bad == []
    assert [(r.line, r.topic, r.event_id, r.key) for r in records] == [
        (1, Topic.OPEN, "e-2", b"m-42"),
        (2, Topic.OPEN, "e-9", b"m-42"),
    ]


def test_the_key_is_the_field_the_contract_names_per_topic() -> None:
    records, bad = read(json.dumps(PAYMENT), Topic.PAYMENT)
    assert bad == []
    assert records[0].key == b"c-7"


def test_an_object_spread_over_lines_is_numbered_by_its_first_line() -> None:
    text = "\n" + json.dumps(SENT, indent=2) + "\n" + json.dumps(SENT | {"event_id": "e-5"})
    records, bad = read(text, Topic.DELIVERY)
    assert bad == []
    assert [r.line for r in records] == [2, 2 + len(json.dumps(SENT, indent=2).splitlines())]


def test_a_json_array_yields_its_elements() -> None:
    text = "[\n" + json.dumps(OPEN) + ",\n" + json.dumps(OPEN | {"event_id": "e-3"}) + "\n]\n"
    records, bad = read(text, Topic.OPEN)
    assert bad == []
    assert [(r.line, r.event_id) for r in records] == [(2, "e-2"), (3, "e-3")]


def test_an_unclosed_array_is_an_error() -> None:
    _, bad = read("[" + json.dumps(OPEN), Topic.OPEN)
    assert [b.reason for b in bad] == ["the JSON array has no closing ]"]


def test_a_line_that_fails_validation_is_named_with_the_failing_field() -> None:
    text = json.dumps(OPEN) + "\n" + json.dumps({"event_id": "e-4"}) + "\n"
    records, bad = read(text, Topic.OPEN)
    assert len(records) == 1
    assert len(bad) == 1 and bad[0].line == 2
    assert "occurred_at: Field required" in bad[0].reason
    assert str(bad[0]).startswith("line 2: not a valid open event")


def test_broken_json_does_not_hide_the_lines_after_it() -> None:
    text = json.dumps(OPEN) + '\n{"event_id": \n' + json.dumps(OPEN | {"event_id": "e-3"}) + "\n"
    records, bad = read(text, Topic.OPEN)
    assert [r.line for r in records] == [1, 3]
    assert [b.line for b in bad] == [2]
    assert bad[0].reason.startswith("not valid JSON")


def test_without_topic_a_wrapper_names_each_event_type() -> None:
    lines = [{"topic": "delivery", "event": SENT}, {"topic": "open", "event": OPEN}]
    records, bad = read("\n".join(json.dumps(line) for line in lines))
    assert bad == []
    assert [(r.topic, r.key) for r in records] == [(Topic.DELIVERY, b"m-42"), (Topic.OPEN, b"m-42")]


def test_without_topic_a_bare_event_is_refused_as_ambiguous() -> None:
    _, bad = read(json.dumps(OPEN))
    assert len(bad) == 1
    assert "without --topic" in bad[0].reason


def test_a_wrapper_with_an_unknown_topic_names_the_valid_ones() -> None:
    _, bad = read(json.dumps({"topic": "opens", "event": OPEN}))
    assert "must be one of delivery, bounce, open" in bad[0].reason


def test_an_event_the_worker_would_dead_letter_as_future_is_refused() -> None:
    future = OPEN | {"occurred_at": "2025-12-04T09:00:00Z"}  # 40 min ahead, tolerance 5 min
    _, bad = read(json.dumps(future), Topic.OPEN)
    assert "ahead of the worker's clock" in bad[0].reason


def test_errors_never_quote_input_values() -> None:
    secret = "jane.doe@example.com"
    _, bad = read(json.dumps(PAYMENT | {"amount_minor": secret}), Topic.PAYMENT)
    assert bad and secret not in bad[0].reason


def test_the_value_keeps_unknown_fields_for_the_consumer() -> None:
    records, _ = read(json.dumps(OPEN | {"extra": 1}), Topic.OPEN)
    assert json.loads(records[0].value)["extra"] == 1


def test_empty_input_has_no_records_and_no_errors() -> None:
    assert read("  \n", Topic.OPEN) == ([], [])
