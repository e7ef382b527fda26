"""What the exporter reads from the real Redis: partition timestamps merged (not summed),
label registries under the cardinality cap, and zeros for the combinations the store holds.

Events are written through the real ``StoreWriter`` on two partitions; the collector is
read through a fresh ``CollectorRegistry``.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from collectpulse.events.models import Topic
from collectpulse.exporter.collector import StoreCollector
from collectpulse.settings import Settings
from collectpulse.store.reader import StoreReader
from collectpulse.store.writer import StoreWriter
from tests.support import events as ev

FUNNEL = {"channel": "email", "variant": "a", "segment": "default", "tenant": ""}


async def test_newest_event_time_is_the_latest_over_partitions_not_their_sum(
    settings: Settings, redis_client: Redis
) -> None:
    now = float(int(time.time()))
    writer = StoreWriter(redis_client, settings, clock=lambda: now)
    await writer.apply(Topic.DELIVERY, 0, ev.records(Topic.DELIVERY, [ev.sent("m-1", now - 300)]))
    await writer.apply(Topic.DELIVERY, 1, ev.records(Topic.DELIVERY, [ev.sent("m-2", now - 60)]))

    reader = StoreReader(redis_client, settings, clock=lambda: now)
    view = await reader.read()
    registry = CollectorRegistry()
    registry.register(StoreCollector(view))

    topic = {"topic": "delivery"}
    newest = registry.get_sample_value("collectpulse_last_event_timestamp_seconds", topic)
    assert newest == now - 60
    assert registry.get_sample_value("collectpulse_processing_lag_seconds", topic) == 60
    sent = {**FUNNEL, "campaign": "winback"}
    assert registry.get_sample_value("collectpulse_messages_sent_total", sent) == 2

    # nothing written: the reader's per-partition cache serves the same sums
    again = await reader.read()
    assert again.summed is view.summed and again.totals == view.totals
    # a write moves partition 1's version: the same reader sees it, partition 0 kept
    later = ev.records(Topic.DELIVERY, [ev.sent("m-3", now - 30)], first_offset=1)
    await writer.apply(Topic.DELIVERY, 1, later)
    moved = await reader.read()
    assert moved.summed is not view.summed
    registry = CollectorRegistry()
    registry.register(StoreCollector(moved))
    newest = registry.get_sample_value("collectpulse_last_event_timestamp_seconds", topic)
    assert newest == now - 30
    assert registry.get_sample_value("collectpulse_messages_sent_total", sent) == 3
    fresh = await StoreReader(redis_client, settings, clock=lambda: now).read()
    assert (fresh.totals, fresh.windows) == (moved.totals, moved.windows)


async def test_values_past_the_label_cap_are_other_and_only_admitted_ones_are_registered(
    settings: Settings, redis_client: Redis
) -> None:
    capped = settings.model_copy(update={"label_cap": 2})
    now = float(int(time.time()))
    writer = StoreWriter(redis_client, capped, clock=lambda: now)
    sends = [ev.sent(f"m-{c}", now - 10, campaign=c) for c in ("alpha", "beta", "gamma", "delta")]
    await writer.apply(Topic.DELIVERY, 0, ev.records(Topic.DELIVERY, sends))

    view = await StoreReader(redis_client, capped, clock=lambda: now).read()
    registry = CollectorRegistry()
    registry.register(StoreCollector(view))

    assert view.label_values["campaign"] == frozenset({"alpha", "beta"})
    assert view.label_values["variant"] == frozenset({"a"})
    sent = "collectpulse_messages_sent_total"
    assert registry.get_sample_value(sent, {**FUNNEL, "campaign": "alpha"}) == 1
    assert registry.get_sample_value(sent, {**FUNNEL, "campaign": "__other__"}) == 2
    assert registry.get_sample_value(sent, {**FUNNEL, "campaign": "gamma"}) is None
    overflows = registry.get_sample_value(
        "collectpulse_label_overflows_total", {"label": "campaign"}
    )
    assert overflows == 2
    # the overflow bucket is a known combination like any other
    opened = {**FUNNEL, "campaign": "__other__", "window": "1h"}
    assert registry.get_sample_value("collectpulse_windowed_messages_opened", opened) == 0


async def test_a_personal_looking_value_is_redacted_and_takes_no_slot_of_the_cap(
    settings: Settings, redis_client: Redis
) -> None:
    capped = settings.model_copy(update={"label_cap": 2})
    now = float(int(time.time()))
    writer = StoreWriter(redis_client, capped, clock=lambda: now)
    # the phone-number-like campaign sorts first, so it would take the first slot
    names = ("0612345678", "alpha", "beta")
    sends = [ev.sent(f"m-{i}", now - 10, campaign=c) for i, c in enumerate(names)]
    await writer.apply(Topic.DELIVERY, 0, ev.records(Topic.DELIVERY, sends))

    view = await StoreReader(redis_client, capped, clock=lambda: now).read()
    registry = CollectorRegistry()
    registry.register(StoreCollector(view))

    assert view.label_values["campaign"] == frozenset({"alpha", "beta"})
    sent = "collectpulse_messages_sent_total"
    assert registry.get_sample_value(sent, {**FUNNEL, "campaign": "beta"}) == 1
    assert registry.get_sample_value(sent, {**FUNNEL, "campaign": "__redacted__"}) == 1
    assert registry.get_sample_value(sent, {**FUNNEL, "campaign": "__other__"}) is None


async def test_deliveries_since_the_first_one_are_summed_over_partitions_and_bucket_sizes(
    settings: Settings, redis_client: Redis
) -> None:
    """No landing view yet: a campaign's silence starts at its first delivery, and every
    delivery since counts, in hourly buckets (hours ago) and minute buckets (minutes ago)
    of both partitions alike."""
    now = float(int(time.time()))
    writer = StoreWriter(redis_client, settings, clock=lambda: now)
    quiet = [("m-1", 0, now - 3 * 3600), ("m-2", 0, now - 2 * 3600), ("m-3", 1, now - 600)]
    quiet += [("m-4", 1, now - 30)]
    for i, (mid, partition, at_s) in enumerate(quiet):
        records = [ev.sent(mid, at_s - 5, campaign="quiet"), ev.delivered(mid, at_s)]
        batch = ev.records(Topic.DELIVERY, records, first_offset=2 * i)
        await writer.apply(Topic.DELIVERY, partition, batch)
    other = [ev.sent("m-5", now - 25, campaign="other"), ev.delivered("m-5", now - 20)]
    await writer.apply(Topic.DELIVERY, 1, ev.records(Topic.DELIVERY, other, first_offset=8))

    view = await StoreReader(redis_client, settings, clock=lambda: now).read()

    assert view.delivered_since_view == {("quiet", ""): 4, ("other", ""): 1}
    registry = CollectorRegistry()
    registry.register(StoreCollector(view))
    campaign = {"campaign": "quiet", "tenant": ""}
    assert registry.get_sample_value("collectpulse_landing_silence_seconds", campaign) == 3 * 3600
    delivered = "collectpulse_landing_silence_delivered_messages"
    assert registry.get_sample_value(delivered, campaign) == 4
