"""Each topic's events carry the Kafka key that keeps their joins on one partition."""

import pytest
from event_samples import VALID_PAYLOADS

from collectpulse.events.keys import KEY_FIELD, key_mismatch, partition_key
from collectpulse.events.models import MODEL_BY_TOPIC, EventBase, Topic


def _event(topic: Topic) -> EventBase:
    return MODEL_BY_TOPIC[topic].model_validate(VALID_PAYLOADS[topic])


def test_every_topic_has_a_required_key_field() -> None:
    assert set(KEY_FIELD) == set(Topic)
    for topic, field in KEY_FIELD.items():
        # a contact's customer_id may be null (unidentified inbound): keyed by contact_id then
        required = field if topic is not Topic.CONTACT else "contact_id"
        assert MODEL_BY_TOPIC[topic].model_fields[required].is_required()


def test_message_events_are_keyed_by_message_so_they_co_partition() -> None:
    for topic in (Topic.DELIVERY, Topic.BOUNCE, Topic.OPEN, Topic.CLICK):
        assert partition_key(_event(topic)) == b"msg-0001"


def test_payments_and_promises_are_keyed_by_customer() -> None:
    assert partition_key(_event(Topic.PAYMENT)) == b"cust-0001"
    assert partition_key(_event(Topic.PROMISE)) == b"cust-0001"


def test_accounts_are_keyed_by_customer_to_co_partition_with_payments() -> None:
    assert partition_key(_event(Topic.ACCOUNT)) == b"cust-0001"
    problem = key_mismatch(_event(Topic.ACCOUNT), b"acct-0001")
    assert problem is not None and "customer_id" in problem


def test_pageviews_are_keyed_by_visitor() -> None:
    assert partition_key(_event(Topic.PAGEVIEW)) == b"visitor-0001"


def test_keys_are_utf8() -> None:
    event = MODEL_BY_TOPIC[Topic.OPEN].model_validate(
        {**VALID_PAYLOADS[Topic.OPEN], "message_id": "nachricht-ü"}
    )
    assert partition_key(event) == "nachricht-ü".encode()


@pytest.mark.parametrize("topic", list(Topic))
def test_the_expected_key_is_no_mismatch(topic: Topic) -> None:
    event = _event(topic)
    assert key_mismatch(event, partition_key(event)) is None


@pytest.mark.parametrize("key", [None, b""])
def test_a_missing_key_is_a_mismatch_naming_the_expected_field(key: bytes | None) -> None:
    problem = key_mismatch(_event(Topic.PAYMENT), key)
    assert problem is not None and "customer_id" in problem


def test_a_record_keyed_by_another_field_is_a_mismatch_that_quotes_no_value() -> None:
    event = _event(Topic.PAYMENT)
    problem = key_mismatch(event, b"pay-0001")
    assert problem is not None and "customer_id" in problem
    assert "pay-0001" not in problem and "cust-0001" not in problem
