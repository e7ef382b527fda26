"""The phase-2 contract: contacts, the roster and targets, and the schema_version 2 fields."""

import json
from typing import Any

import pytest
from event_samples import VALID_PAYLOADS, payload, without
from pydantic import ValidationError

from collectpulse.events.decode import Invalid, decode
from collectpulse.events.keys import dedupe_id, key_mismatch, partition_key
from collectpulse.events.models import ContactEvent, PaymentEvent, PromiseEvent, Topic
from collectpulse.events.roster import AgentEvent, TargetEvent, reference_key

MAX = 65536


def _decode(topic: Topic, data: dict[str, Any]) -> Any:
    return decode(topic, json.dumps(data).encode(), max_bytes=MAX)


def _refusal(topic: Topic, data: dict[str, Any]) -> Invalid:
    result = _decode(topic, data)
    assert isinstance(result, Invalid), result
    assert result.reason == "validation"
    return result


def test_the_sample_contact_is_valid() -> None:
    event = _decode(Topic.CONTACT, VALID_PAYLOADS[Topic.CONTACT])
    assert isinstance(event, ContactEvent)
    assert (event.direction, event.outcome, event.duration_s) == ("outbound", "right_party", 185)


def test_an_unidentified_inbound_contact_is_keyed_by_its_contact_id() -> None:
    data = payload(Topic.CONTACT, direction="inbound", customer_id=None)
    event = _decode(Topic.CONTACT, data)
    assert isinstance(event, ContactEvent) and event.customer_id is None
    assert partition_key(event) == b"call-0001"
    assert key_mismatch(event, b"call-0001") is None
    assert key_mismatch(event, b"cust-0001") == "record key is not the event's contact_id"
    # absent is the same as null
    assert _decode(Topic.CONTACT, {**without(Topic.CONTACT, "customer_id"), "direction": "inbound"})


def test_an_identified_contact_is_keyed_by_customer() -> None:
    event = _decode(Topic.CONTACT, VALID_PAYLOADS[Topic.CONTACT])
    assert partition_key(event) == b"cust-0001"
    assert key_mismatch(event, b"call-0001") == "record key is not the event's customer_id"


def test_a_contact_is_deduplicated_by_its_contact_id_other_events_by_event_id() -> None:
    contact = _decode(Topic.CONTACT, VALID_PAYLOADS[Topic.CONTACT])
    payment = _decode(Topic.PAYMENT, VALID_PAYLOADS[Topic.PAYMENT])
    assert dedupe_id(contact) == "call-0001"
    assert dedupe_id(payment) == "evt-payment-1"


@pytest.mark.parametrize(
    ("changes", "error_class", "words"),
    [
        ({"customer_id": None}, "outbound_customer", "outbound contact requires customer_id"),
        (
            {"direction": "inbound", "outcome": "voicemail"},
            "inbound_outcome",
            "inbound contact is right_party or wrong_party",
        ),
        (
            {"started_at": "2025-03-01T13:05:01Z"},
            "started_after_outcome",
            "started_at is after occurred_at",
        ),
        ({"duration_s": -1}, "greater_than_equal", "duration_s"),
        ({"duration_s": "12"}, "int_type", "duration_s"),
        ({"outcome": "hung_up"}, "literal_error", "outcome"),
        ({"channel": "sms"}, "literal_error", "channel"),
        ({"contact_id": ""}, "string_too_short", "contact_id"),
        ({"started_at": "2025-03-01T13:00:00"}, "timezone_aware", "started_at"),
    ],
)
def test_a_bad_contact_is_refused_with_a_clear_reason(
    changes: dict[str, Any], error_class: str, words: str
) -> None:
    invalid = _refusal(Topic.CONTACT, payload(Topic.CONTACT, **changes))
    assert invalid.error_class == error_class
    assert words in invalid.detail
    assert "cust-0001" not in invalid.detail  # no input values in the reason


def test_started_at_equal_to_occurred_at_in_another_offset_is_valid() -> None:
    event = _decode(Topic.CONTACT, payload(Topic.CONTACT, started_at="2025-03-01T13:05:00Z"))
    assert isinstance(event, ContactEvent)


@pytest.mark.parametrize("field", ["contact_id", "direction", "channel", "outcome", "started_at"])
def test_a_contact_missing_a_required_field_is_refused(field: str) -> None:
    assert _refusal(Topic.CONTACT, without(Topic.CONTACT, field)).error_class == "missing"


def test_version_1_events_stay_valid_and_version_2_fields_are_read() -> None:
    for topic in (Topic.PAYMENT, Topic.PROMISE, Topic.PAGEVIEW):
        assert not isinstance(_decode(topic, VALID_PAYLOADS[topic]), Invalid)
    payment = _decode(
        Topic.PAYMENT,
        payload(
            Topic.PAYMENT,
            schema_version=2,
            status="reversed",
            account_id="acc-1",
            contact_id="call-1",
            initiated_by="scheduled",
        ),
    )
    assert isinstance(payment, PaymentEvent)
    assert (payment.status, payment.account_id, payment.initiator) == (
        "reversed",
        "acc-1",
        "scheduled",
    )
    promise = _decode(Topic.PROMISE, payload(Topic.PROMISE, account_id="a", contact_id="c"))
    assert isinstance(promise, PromiseEvent) and promise.contact_id == "c"
    view = _decode(Topic.PAGEVIEW, payload(Topic.PAGEVIEW, device="tablet", load_ms=840))
    assert (view.device, view.load_ms) == ("tablet", 840)
    assert _refusal(Topic.PAGEVIEW, payload(Topic.PAGEVIEW, device="watch"))


@pytest.mark.parametrize(
    ("agent_id", "initiated_by", "expected"),
    [
        (None, None, "self_service"),
        ("agent-1", None, "agent"),
        ("agent-1", "self_service", "self_service"),
        (None, "agent", "agent"),
    ],
)
def test_initiated_by_defaults_to_agent_when_an_agent_is_named(
    agent_id: str | None, initiated_by: str | None, expected: str
) -> None:
    event = _decode(
        Topic.PAYMENT, payload(Topic.PAYMENT, agent_id=agent_id, initiated_by=initiated_by)
    )
    assert event.initiator == expected


_AGENT = {
    "event_id": "r1",
    "occurred_at": "2025-03-01T08:00:00Z",
    "agent_id": "agent-17",
    "team": "early",
    "role": "collector",
    "status": "active",
}
_TARGET = {
    "event_id": "t1",
    "occurred_at": "2025-03-01T08:00:00Z",
    "scope": "team",
    "scope_id": "early",
    "metric": "collected_amount_minor",
    "period": "month",
    "value": 2_500_000,
    "currency": "EUR",
    "valid_from": "2025-03-01",
}


def test_roster_and_target_records_validate_and_carry_their_compaction_key() -> None:
    agent = AgentEvent.model_validate(_AGENT)
    target = TargetEvent.model_validate(_TARGET)
    assert reference_key(agent) == b"agent-17"
    assert reference_key(target) == b"team:early:collected_amount_minor:month"


@pytest.mark.parametrize(
    ("model", "data", "error_type"),
    [
        (AgentEvent, {**_AGENT, "role": "boss"}, "literal_error"),
        (AgentEvent, {**_AGENT, "status": "paused"}, "literal_error"),
        (TargetEvent, {**_TARGET, "currency": None}, "target_currency"),
        (TargetEvent, {**_TARGET, "metric": "rpc_ratio", "value": 1.5}, "target_ratio"),
        (TargetEvent, {**_TARGET, "value": -1}, "greater_than_equal"),
        (TargetEvent, {**_TARGET, "period": "quarter"}, "literal_error"),
    ],
)
def test_bad_roster_and_target_records_are_refused(
    model: type[AgentEvent | TargetEvent], data: dict[str, Any], error_type: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    assert [e["type"] for e in caught.value.errors()] == [error_type]
