"""The generator: deterministic, valid, keyed per message, in a plausible order."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from datetime import datetime, timedelta

import pytest

from collectpulse.events.decode import decode
from collectpulse.events.keys import key_field, partition_key
from collectpulse.events.models import (
    BounceEvent,
    ClickEvent,
    DeliveryEvent,
    EventBase,
    OpenEvent,
    PageviewEvent,
    PaymentEvent,
    PromiseEvent,
    Topic,
)
from collectpulse.settings import Settings
from collectpulse.simulate import CONTROL, DEFAULT_SCENARIO, EventGenerator, to_json, to_record

from .conftest import START, Emitted, sample

MessageEvent = DeliveryEvent | BounceEvent | OpenEvent | ClickEvent


@pytest.fixture(scope="module")
def stream() -> list[Emitted]:
    # 600 simulated seconds: long enough for compressed promises to come due.
    return sample(60_000, events_per_s=100.0)


@pytest.fixture(scope="module")
def events(stream: list[Emitted]) -> list[EventBase]:
    return [emitted.event for emitted in stream]


def _sents(events: list[EventBase]) -> dict[str, DeliveryEvent]:
    return {
        event.message_id: event
        for event in events
        if isinstance(event, DeliveryEvent) and event.status == "sent"
    }


def test_the_same_seed_gives_the_same_records() -> None:
    first = [to_record(emitted.event) for emitted in sample(3000, seed=11)]
    again = [to_record(emitted.event) for emitted in sample(3000, seed=11)]
    assert first == again


def test_another_seed_gives_other_event_ids() -> None:
    first = {emitted.event.event_id for emitted in sample(1000, seed=1)}
    other = {emitted.event.event_id for emitted in sample(1000, seed=2)}
    assert not first & other


def test_every_generated_value_decodes_back_to_the_same_event(events: list[EventBase]) -> None:
    max_bytes = Settings().max_event_bytes
    for event in events:
        assert decode(event.topic, to_json(event), max_bytes=max_bytes) == event


def test_every_record_carries_the_key_of_its_topic(events: list[EventBase]) -> None:
    for event in events[:5000]:
        record = to_record(event)
        assert record.topic is event.topic
        # key_field: KEY_FIELD's, but an unidentified inbound contact's contact_id
        assert record.key == str(getattr(event, key_field(event))).encode()


def test_event_ids_are_unique_without_duplicates(events: list[EventBase]) -> None:
    ids = Counter(event.event_id for event in events)
    assert ids.most_common(1)[0][1] == 1


def test_events_of_one_message_share_the_message_key(events: list[EventBase]) -> None:
    keys: dict[str, set[bytes]] = defaultdict(set)
    for event in events:
        if isinstance(event, MessageEvent):
            keys[event.message_id].add(partition_key(event))
    assert len(keys) > 1000
    assert all(found == {message_id.encode()} for message_id, found in keys.items())


def test_sent_is_emitted_before_every_other_event_of_its_message(events: list[EventBase]) -> None:
    sent: set[str] = set()
    for event in events:
        message_id = getattr(event, "message_id", None)
        if isinstance(event, DeliveryEvent) and event.status == "sent":
            sent.add(event.message_id)
        elif message_id is not None:
            assert message_id in sent, f"{event.topic} {event.event_id} came before its sent"


def test_no_event_is_emitted_before_it_happened(stream: list[Emitted]) -> None:
    rounding = timedelta(milliseconds=1)
    assert all(e.event.occurred_at <= e.emitted_at + rounding for e in stream)


def test_event_times_follow_the_simulated_clock_from_the_start(stream: list[Emitted]) -> None:
    assert min(e.event.occurred_at for e in stream) >= START
    # 60 000 events at 100 a second: about ten simulated minutes.
    assert timedelta(minutes=9) < stream[-1].emitted_at - START < timedelta(minutes=11)


def test_the_stream_covers_every_topic_channel_segment_and_tenant(
    events: list[EventBase],
) -> None:
    assert {event.topic for event in events} == set(Topic)
    sents = _sents(events).values()
    assert {sent.channel for sent in sents} == {"email", "sms", "letter"}
    assert {sent.segment for sent in sents} == {"early", "late", "legal"}
    assert len({event.tenant for event in events}) == 3
    assert {sent.variant for sent in sents} >= {CONTROL, "empathetic", "qr-code"}


def test_timestamps_carry_the_tenants_own_offset(events: list[EventBase]) -> None:
    offsets = {(event.tenant, event.occurred_at.utcoffset()) for event in events}
    assert offsets == {
        (tenant.name, timedelta(minutes=tenant.utc_offset_min))
        for tenant in DEFAULT_SCENARIO.tenants
    }


def test_soft_bounces_end_in_a_delivery_or_a_hard_bounce(events: list[EventBase]) -> None:
    outcomes: dict[str, list[str]] = defaultdict(list)
    for event in events:
        if isinstance(event, BounceEvent):
            outcomes[event.message_id].append(event.bounce_type)
        elif isinstance(event, DeliveryEvent) and event.status == "delivered":
            outcomes[event.message_id].append("delivered")
    deferred = [steps for steps in outcomes.values() if steps[0] == "soft"]
    assert any(steps[-1] == "delivered" for steps in deferred)
    assert any(steps[-1] == "hard" for steps in deferred)
    assert any(steps.count("soft") >= 2 for steps in deferred)
    assert all(steps.count("delivered") + steps.count("hard") <= 1 for steps in outcomes.values())


def test_opens_include_machine_opens_and_repeated_opens(events: list[EventBase]) -> None:
    opens = [event for event in events if isinstance(event, OpenEvent)]
    assert any(event.machine for event in opens)
    per_message = Counter(event.message_id for event in opens if not event.machine)
    assert per_message.most_common(1)[0][1] >= 2


def test_landing_views_from_a_message_name_its_channel_customer_and_message(
    events: list[EventBase],
) -> None:
    sents = _sents(events)
    views = [e for e in events if isinstance(e, PageviewEvent) and e.message_id in sents]
    assert len(views) > 100
    for view in views:
        assert view.message_id is not None
        sent = sents[view.message_id]
        assert (view.source, view.customer_id) == (sent.channel, sent.customer_id)


def test_direct_landing_traffic_has_no_message(events: list[EventBase]) -> None:
    direct = [e for e in events if isinstance(e, PageviewEvent) and e.source in ("direct", "other")]
    assert direct
    assert all(view.message_id is None for view in direct)
    assert any(view.customer_id is None for view in direct)
    assert any(view.customer_id is not None for view in direct)


def test_some_customers_struggle_three_failures_without_success(events: list[EventBase]) -> None:
    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    for event in events:
        if isinstance(event, PaymentEvent):
            outcomes[event.customer_id][event.status] += 1
    failing = [c for c in outcomes.values() if c["failed"] + c["aborted"] >= 3]
    struggling = [counts for counts in failing if not counts["succeeded"]]
    # Struggling is a trait of the customer, not bad luck in a payment session.
    assert len(struggling) >= 0.9 * len(failing) > 10
    assert sum(counts["succeeded"] > 0 for counts in outcomes.values()) > 5 * len(struggling)


def test_payments_come_with_and_without_message_ids(events: list[EventBase]) -> None:
    payments = [event for event in events if isinstance(event, PaymentEvent)]
    statuses = {event.status for event in payments}
    # a chargeback (reversed) of an account's payment is rare: it may be in the sample
    assert statuses - {"reversed"} == {"succeeded", "failed", "aborted"}
    assert any(event.message_id for event in payments)
    assert any(event.message_id is None for event in payments)
    assert any(event.agent_id for event in payments)
    assert {event.plan for event in payments} == {"full", "installment"}


def test_promises_are_made_then_kept_broken_or_cancelled(events: list[EventBase]) -> None:
    made: set[str] = set()
    resolved: Counter[str] = Counter()
    for event in events:
        if isinstance(event, PromiseEvent):
            if event.status == "made":
                made.add(event.promise_id)
            else:
                assert event.promise_id in made
                resolved[event.status] += 1
    assert set(resolved) == {"kept", "broken", "cancelled"}
    promises = [event for event in events if isinstance(event, PromiseEvent)]
    assert {event.direction for event in promises} == {"inbound", "outbound", "self_service"}
    assert {event.kind for event in promises} == {"promise_to_pay", "installment_plan"}


def test_start_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        EventGenerator(seed=1, start=datetime(2025, 3, 1, 9, 0))


def test_events_per_s_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        EventGenerator(seed=1, start=START, events_per_s=0)


def test_the_clock_paces_the_stream_at_the_requested_rate() -> None:
    generator = EventGenerator(seed=3, start=START, events_per_s=50.0)
    for _ in itertools.islice(generator, 5000):
        pass
    assert timedelta(seconds=95) < generator.now - START < timedelta(seconds=105)
