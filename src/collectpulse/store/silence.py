"""Landing silence: per campaign, when the landing page last saw its traffic, and the
messages delivered since then (kpi-catalog section 5, the "broken link" signal).

A view is credited to a campaign on the customer side (``customer_effects``),
deliveries are counted by delivery time in ``campaign_deliveries`` buckets. The
deliveries since a time are summed from the fine buckets up to the next full
hour and the hourly buckets after it, so the count is exact to the bucket.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from collectpulse.store.client import StoreClient
from collectpulse.store.context import COARSE_BUCKET_S
from collectpulse.store.fields import counter_field
from collectpulse.store.keys import FIELD_SEP, Keys
from collectpulse.store.message_effects import FIRST_DELIVERED, LAST_VIEW

Campaign = tuple[str, str]
"""(campaign, tenant)"""


def silence_starts(totals: Mapping[str, int]) -> dict[Campaign, int]:
    """Each campaign's last credited view, else its first delivery (Unix seconds)."""
    last_view: dict[Campaign, int] = {}
    first_delivered: dict[Campaign, int] = {}
    for raw, value in totals.items():
        name, *rest = raw.split(FIELD_SEP)
        if len(rest) != 2:
            continue
        if name == LAST_VIEW:
            last_view[(rest[0], rest[1])] = value
        elif name == FIRST_DELIVERED:
            first_delivered[(rest[0], rest[1])] = value
    return {c: last_view.get(c, first_delivered.get(c, 0)) for c in first_delivered | last_view}


def buckets_since(since_s: int, now_s: int, bucket_s: int) -> list[tuple[int, int]]:
    """(granularity, start) of the buckets covering [since's bucket, now]."""
    start = since_s - since_s % bucket_s
    if bucket_s >= COARSE_BUCKET_S:
        return [(bucket_s, s) for s in range(start, now_s + 1, bucket_s)]
    next_hour = -(-start // COARSE_BUCKET_S) * COARSE_BUCKET_S
    fine = [(bucket_s, s) for s in range(start, min(next_hour, now_s + 1), bucket_s)]
    coarse = [(COARSE_BUCKET_S, s) for s in range(next_hour, now_s + 1, COARSE_BUCKET_S)]
    return fine + coarse


async def deliveries_since(
    redis: StoreClient,
    keys: Keys,
    partitions: Sequence[int],
    since: Mapping[Campaign, int],
    *,
    now_s: int,
    bucket_s: int,
    lookback_s: int,
) -> dict[Campaign, int]:
    """Messages of each campaign delivered at or after its ``since`` (bucket-aligned)."""
    wanted: dict[tuple[int, int], set[str]] = defaultdict(set)
    plan: dict[Campaign, tuple[str, list[tuple[int, int]]]] = {}
    for (campaign, tenant), since_s in since.items():
        name = counter_field("campaign_deliveries", {"campaign": campaign, "tenant": tenant})
        buckets = buckets_since(max(since_s, now_s - lookback_s), now_s, bucket_s)
        plan[(campaign, tenant)] = (name, buckets)
        for bucket in buckets:
            wanted[bucket].add(name)
    if not wanted:
        return {}
    order = [(p, bucket, sorted(names)) for p in partitions for bucket, names in wanted.items()]
    pipe = redis.pipeline(transaction=False)
    for p, (gran, start), names in order:
        pipe.hmget(keys.bucket(p, gran, start), names)
    counts: dict[tuple[int, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    replies: list[Any] = await pipe.execute()
    for (_, bucket, names), values in zip(order, replies, strict=True):
        for name, value in zip(names, values, strict=True):
            if value is not None:
                counts[bucket][name] += int(value)
    return {
        campaign: sum(counts[bucket][name] for bucket in buckets)
        for campaign, (name, buckets) in plan.items()
    }
