"""Record values become canonical events or an Invalid that says why, safely."""

import json
from typing import get_args

import pytest
from event_samples import VALID_PAYLOADS, as_bytes, payload, without

from collectpulse.events.decode import (
    MAX_DETAIL_CHARS,
    Invalid,
    Reason,
    decode,
    decode_many,
    future_event,
)
from collectpulse.events.models import MODEL_BY_TOPIC, PaymentEvent, ReferenceTopic, Topic
from collectpulse.kpi.labels import INVALID_REASON

MAX_BYTES = 65536


def _invalid(topic: Topic, value: bytes | None, max_bytes: int = MAX_BYTES) -> Invalid:
    result = decode(topic, value, max_bytes=max_bytes)
    assert isinstance(result, Invalid)
    return result


@pytest.mark.parametrize("topic", list(Topic))
def test_a_valid_record_of_each_topic_decodes_to_its_model(topic: Topic) -> None:
    event = decode(topic, as_bytes(VALID_PAYLOADS[topic]), max_bytes=MAX_BYTES)
    assert type(event) is MODEL_BY_TOPIC[topic]
    assert event == MODEL_BY_TOPIC[topic].model_validate(VALID_PAYLOADS[topic])


def test_unknown_fields_are_dropped() -> None:
    value = as_bytes(payload(Topic.PAYMENT, card_last4="4242", meta={"a": [1, 2]}))
    event = decode(Topic.PAYMENT, value, max_bytes=MAX_BYTES)
    assert isinstance(event, PaymentEvent)
    assert "card_last4" not in event.model_dump()


@pytest.mark.parametrize("value", [None, b""])
def test_a_record_without_value_is_empty(value: bytes | None) -> None:
    assert _invalid(Topic.OPEN, value).reason == "empty"


def test_a_value_over_the_limit_is_too_large_and_one_at_the_limit_is_decoded() -> None:
    value = as_bytes(VALID_PAYLOADS[Topic.OPEN])
    assert not isinstance(decode(Topic.OPEN, value, max_bytes=len(value)), Invalid)
    too_large = _invalid(Topic.OPEN, value, max_bytes=len(value) - 1)
    assert too_large.reason == "too_large"
    assert str(len(value)) in too_large.detail


@pytest.mark.parametrize(
    "value", [b"{", b"\xff\xfe{}", b"not json", b"   ", b"{'a': 1}", b"[" * 10_000]
)
def test_bytes_that_are_not_json_are_not_json(value: bytes) -> None:
    invalid = _invalid(Topic.OPEN, value)
    assert (invalid.reason, invalid.error_class) == ("not_json", "json_invalid")


@pytest.mark.parametrize("value", [b"null", b"42", b'"msg-0001"', b"[]", b"true"])
def test_json_that_is_not_an_object_is_not_object(value: bytes) -> None:
    assert _invalid(Topic.OPEN, value).reason == "not_object"


def test_a_missing_field_is_a_validation_error_naming_it() -> None:
    invalid = _invalid(Topic.PAYMENT, as_bytes(without(Topic.PAYMENT, "currency")))
    assert (invalid.reason, invalid.error_class) == ("validation", "missing")
    assert invalid.detail.startswith("currency: ")


def test_a_sent_without_campaign_is_a_validation_error_naming_it() -> None:
    invalid = _invalid(Topic.DELIVERY, as_bytes(without(Topic.DELIVERY, "campaign")))
    assert invalid.reason == "validation"
    assert "campaign" in invalid.detail


def test_an_event_on_the_wrong_topic_is_invalid() -> None:
    invalid = _invalid(Topic.PAYMENT, as_bytes(VALID_PAYLOADS[Topic.DELIVERY]))
    assert invalid.reason == "validation"


def test_detail_never_quotes_personal_data_from_the_input() -> None:
    secrets = ["jane.doe@example.com", "+4915112345678", "https://pay.example.com/r/tok"]
    value = as_bytes(
        payload(
            Topic.PAYMENT,
            customer_id=secrets[0] * 10,
            currency=secrets[1],
            amount_minor=secrets[2],
            status=secrets[0],
        )
    )
    invalid = _invalid(Topic.PAYMENT, value)
    assert not any(secret in invalid.detail for secret in secrets)


def test_detail_is_short_however_many_errors_there_are() -> None:
    invalid = _invalid(Topic.PROMISE, as_bytes({"x" * 500: "y" * 5000}))
    assert len(invalid.detail) <= MAX_DETAIL_CHARS
    assert "more" in invalid.detail


def test_decode_many_keeps_order_and_isolates_bad_records() -> None:
    good = as_bytes(VALID_PAYLOADS[Topic.CLICK])
    results = decode_many(Topic.CLICK, [good, b"{", None, good], MAX_BYTES)
    assert [type(result).__name__ for result in results] == [
        "ClickEvent",
        "Invalid",
        "Invalid",
        "ClickEvent",
    ]


def test_decode_reads_what_producers_write_with_any_json_library() -> None:
    pretty = json.dumps(VALID_PAYLOADS[Topic.PROMISE], indent=4, ensure_ascii=True).encode()
    assert not isinstance(decode(Topic.PROMISE, pretty, max_bytes=MAX_BYTES), Invalid)


@pytest.mark.parametrize("ahead_s", [-86_400, 0, 299, 300])
def test_an_event_at_most_the_tolerance_ahead_of_the_clock_is_not_a_future_event(
    ahead_s: int,
) -> None:
    assert future_event(1_800_000_000 + ahead_s, now_s=1_800_000_000, tolerance_s=300) is None


@pytest.mark.parametrize("ahead_s", [301, 600, 10 * 365 * 86_400])
def test_an_event_past_the_tolerance_ahead_of_the_clock_is_a_future_event(ahead_s: int) -> None:
    invalid = future_event(1_800_000_000 + ahead_s, now_s=1_800_000_000, tolerance_s=300)

    assert invalid is not None
    assert (invalid.reason, invalid.error_class) == ("future_event", "future_event")
    assert (
        invalid.detail == f"occurred_at is {ahead_s}s ahead of the worker's clock; tolerance 300s"
    )


def test_the_kpi_table_lists_every_reason_a_canonical_record_is_dead_lettered_for() -> None:
    canonical = set(get_args(Reason)) - {"provider_error"}
    assert set(INVALID_REASON.values) == canonical
    assert "future_event" in canonical


COST = {
    "event_id": "evt-cost-1",
    "occurred_at": "2025-03-01T08:00:00Z",
    "cost_id": "labour-2025-02",
    "category": "labour",
    "amount_minor": 1000,
    "currency": "EUR",
    "period_start": "2025-02-01",
    "period_end": "2025-03-01",
}
ADJUSTED = {**VALID_PAYLOADS[Topic.ACCOUNT], "change": "adjustment", "version": 2}


@pytest.mark.parametrize(
    ("topic", "body", "fields", "sign"),
    [
        (Topic.PAYMENT, VALID_PAYLOADS[Topic.PAYMENT], ("amount_minor",), 1),
        (Topic.ACCOUNT, VALID_PAYLOADS[Topic.ACCOUNT], ("balance_minor", "delta_minor"), 1),
        (Topic.ACCOUNT, ADJUSTED, ("delta_minor",), 1),
        (Topic.ACCOUNT, ADJUSTED, ("delta_minor",), -1),
        (ReferenceTopic.COST, COST, ("amount_minor",), 1),
    ],
)
def test_an_amount_past_the_limit_is_a_validation_error_naming_it(
    topic: Topic | ReferenceTopic, body: dict[str, object], fields: tuple[str, ...], sign: int
) -> None:
    # amount x commission_bp must fit Redis' 64-bit counters: such a record goes to the
    # DLQ with its field named instead of stopping the worker half-way through a write
    for value, valid in ((sign * 10**14, True), (sign * (10**14 + 1), False), (10**30, False)):
        record = {**body, **dict.fromkeys(fields, value)}
        result = decode(topic, json.dumps(record).encode(), max_bytes=MAX_BYTES)
        if valid:
            assert not isinstance(result, Invalid), result
        else:
            assert isinstance(result, Invalid) and result.reason == "validation", result
            assert result.detail.startswith(f"{fields[0]}: "), result.detail
