"""Over a large sample, the generator does what the scenario asks: rates, faults, a winner."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import datetime, timedelta
from types import MappingProxyType

import pytest

from collectpulse.events.models import (
    BounceEvent,
    DeliveryEvent,
    EventBase,
    OpenEvent,
    PaymentEvent,
)
from collectpulse.simulate import (
    CONTROL,
    DEFAULT_SCENARIO,
    Campaign,
    ChannelBehaviour,
    Scenario,
    Variant,
)
from collectpulse.simulate.generator import EventGenerator
from collectpulse.simulate.send_hour import CURVE

from .conftest import COMPRESSED, START, Emitted, sample

EMAIL = ChannelBehaviour(
    hard_bounce=0.04,
    soft_bounce=0.1,
    delivered_after_soft=0.5,
    delivery_delay_s=4.0,
    retry_delay_s=600.0,
    machine_open=0.2,
    open=0.3,
    reopen=0.0,
    open_delay_s=1800.0,
    click=0.5,
)


def _email_only(*variants: Variant) -> Scenario:
    campaign = Campaign("test", "northbank", "email", ("early",), variants)
    return replace(
        COMPRESSED,
        campaigns=(campaign,),
        channels=MappingProxyType({"email": EMAIL}),
        direct_visit_share=0.0,
        agent_call_share=0.0,
        inbound_call=0.0,
        send_hour_effect=0.0,  # the channel's base rates; the hour effect is tested apart
    )


def _early_messages(stream: list[Emitted], within_s: float) -> dict[str, DeliveryEvent]:
    """Messages sent early enough in the sample that their follow-ups are in it too."""
    cutoff = START + timedelta(seconds=within_s)
    return {
        e.event.message_id: e.event
        for e in stream
        if isinstance(e.event, DeliveryEvent) and e.event.status == "sent"
        if e.event.occurred_at < cutoff
    }


def _bounces(events: list[EventBase]) -> dict[str, list[BounceEvent]]:
    found: dict[str, list[BounceEvent]] = defaultdict(list)
    for event in events:
        if isinstance(event, BounceEvent):
            found[event.message_id].append(event)
    return found


def _opens(events: list[EventBase]) -> dict[str, list[OpenEvent]]:
    found: dict[str, list[OpenEvent]] = defaultdict(list)
    for event in events:
        if isinstance(event, OpenEvent):
            found[event.message_id].append(event)
    return found


@pytest.fixture(scope="module")
def email_stream() -> list[Emitted]:
    # 100 simulated seconds; messages of the first 40 have 60 s to finish.
    return sample(100_000, scenario=_email_only(Variant(CONTROL)))


def test_bounce_rates_match_the_channel_behaviour(email_stream: list[Emitted]) -> None:
    messages = _early_messages(email_stream, within_s=40)
    bounces = _bounces([e.event for e in email_stream])
    first = Counter(bounces[m][0].bounce_type if m in bounces else "none" for m in messages)
    assert first["hard"] / len(messages) == pytest.approx(EMAIL.hard_bounce, abs=0.01)
    assert first["soft"] / len(messages) == pytest.approx(EMAIL.soft_bounce, abs=0.01)
    final_hard = sum(1 for m in messages if m in bounces and bounces[m][-1].bounce_type == "hard")
    expected = EMAIL.hard_bounce + EMAIL.soft_bounce * (1 - EMAIL.delivered_after_soft)
    assert final_hard / len(messages) == pytest.approx(expected, abs=0.01)


def test_open_rates_match_the_channel_behaviour(email_stream: list[Emitted]) -> None:
    messages = _early_messages(email_stream, within_s=40)
    events = [e.event for e in email_stream]
    delivered = {
        event.message_id
        for event in events
        if isinstance(event, DeliveryEvent) and event.status == "delivered"
        if event.message_id in messages
    }
    opens = _opens(events)
    human = sum(any(not o.machine for o in opens.get(m, [])) for m in delivered)
    machine = sum(any(o.machine for o in opens.get(m, [])) for m in delivered)
    assert len(delivered) > 10_000
    assert human / len(delivered) == pytest.approx(EMAIL.open, abs=0.015)
    assert machine / len(delivered) == pytest.approx(EMAIL.machine_open, abs=0.015)


@pytest.mark.parametrize("utc_hour", [1, 18])
def test_human_opens_follow_the_local_send_hour(utc_hour: int) -> None:
    scenario = replace(_email_only(Variant(CONTROL)), send_hour_effect=1.0)
    start = START.replace(hour=utc_hour)
    generator = EventGenerator(seed=11, start=start, events_per_s=1000.0, scenario=scenario)
    stream = [Emitted(event, generator.now) for event in itertools.islice(generator, 16_000)]
    events = [e.event for e in stream]
    messages = _early_messages_from(stream, start, within_s=6)
    delivered = {
        e.message_id
        for e in events
        if isinstance(e, DeliveryEvent) and e.status == "delivered" and e.message_id in messages
    }
    opens = _opens(events)
    human = sum(any(not o.machine for o in opens.get(m, [])) for m in delivered)
    local_hour = (utc_hour + 1) % 24  # northbank is UTC+01:00
    assert len(delivered) > 1_000
    assert human / len(delivered) == pytest.approx(EMAIL.open * CURVE[local_hour], abs=0.03)


def _early_messages_from(
    stream: list[Emitted], start: datetime, within_s: float
) -> dict[str, DeliveryEvent]:
    cutoff = start + timedelta(seconds=within_s)
    return {
        e.event.message_id: e.event
        for e in stream
        if isinstance(e.event, DeliveryEvent) and e.event.status == "sent"
        if e.event.occurred_at < cutoff
    }


def test_a_variant_with_a_pay_lift_wins_its_experiment() -> None:
    scenario = _email_only(Variant(CONTROL), Variant("winner", pay_lift=2.0))
    stream = sample(100_000, scenario=scenario, seed=5)
    messages = _early_messages(stream, within_s=40)
    paid: Counter[str] = Counter()
    payments = [e.event for e in stream if isinstance(e.event, PaymentEvent)]
    for payment in payments:
        if payment.status == "succeeded" and payment.message_id in messages:
            paid[messages[payment.message_id].variant or ""] += 1
    sent = Counter(message.variant for message in messages.values())
    control, winner = (paid[v] / sent[v] for v in (CONTROL, "winner"))
    assert winner > 1.5 * control > 0


def test_the_default_experiments_each_have_a_control_and_a_real_effect() -> None:
    for campaign in DEFAULT_SCENARIO.campaigns:
        names = [variant.name for variant in campaign.variants]
        assert CONTROL in names and 2 <= len(names) <= 3
        lifts = {(v.open_lift, v.click_lift, v.pay_lift) for v in campaign.variants}
        assert len(lifts) > 1, f"{campaign.name} has no variant that differs from control"


def test_duplicates_reuse_the_event_of_an_earlier_emission() -> None:
    # 200 simulated seconds; duplicates follow after about 30 s.
    stream = sample(20_000, scenario=replace(COMPRESSED, duplicate_rate=0.05), events_per_s=100)
    first: dict[str, tuple[int, EventBase]] = {}
    repeats: list[tuple[int, int]] = []
    for position, emitted in enumerate(stream):
        event = emitted.event
        if event.event_id in first:
            earlier, original = first[event.event_id]
            assert event == original
            repeats.append((earlier, position))
        else:
            first[event.event_id] = (position, event)
    half = len(stream) // 2
    originals_in_first_half = sum(1 for position, _ in first.values() if position < half)
    repeated_from_first_half = sum(1 for earlier, _ in repeats if earlier < half)
    assert repeated_from_first_half / originals_in_first_half == pytest.approx(0.05, abs=0.01)


def test_out_of_order_emits_that_share_of_sents_after_their_first_other_event() -> None:
    stream = sample(40_000, scenario=replace(COMPRESSED, out_of_order_rate=0.2))
    messages = _early_messages(stream, within_s=20)
    seen_other: set[str] = set()
    late: set[str] = set()
    for emitted in stream:
        event = emitted.event
        message_id = getattr(event, "message_id", None)
        if message_id not in messages:
            continue
        if isinstance(event, DeliveryEvent) and event.status == "sent":
            if message_id in seen_other:
                late.add(message_id)
        else:
            seen_other.add(message_id)
    assert len(late) / len(messages) == pytest.approx(0.2, abs=0.02)
