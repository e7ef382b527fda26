"""Landing silence: per campaign, when the landing page last saw its traffic, and the
messages delivered since then (kpi-catalog section 5, the "broken link" signal).

A view is credited to a campaign on the customer side (``customer_effects``),
deliveries are counted by delivery time in ``campaign_deliveries`` buckets. The
deliveries since a time are summed from the fine buckets up to the next full
hour and the hourly buckets after it, so the count is exact to the bucket.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from collectpulse.store.client import StorePipeline
from collectpulse.store.context import COARSE_BUCKET_S
from collectpulse.store.fields import counter_field
from collectpulse.store.keys import FIELD_SEP, Keys
from collectpulse.store.message_effects import FIRST_DELIVERED, LAST_VIEW
from collectpulse.store.scripts import Scripts

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
    scripts: Scripts,
    keys: Keys,
    partitions: Sequence[int],
    since: Mapping[Campaign, int],
    *,
    now_s: int,
    bucket_s: int,
    lookback_s: int,
) -> dict[Campaign, int]:
    """Messages of each campaign delivered at or after its ``since`` (bucket-aligned).

    Each partition sums its campaigns' buckets server-side (sum_since.lua): one
    EVALSHA and one number per campaign, not one HMGET value per campaign and bucket.
    """
    plan = {
        (campaign, tenant): (
            counter_field("campaign_deliveries", {"campaign": campaign, "tenant": tenant}),
            buckets_since(max(since_s, now_s - lookback_s), now_s, bucket_s),
        )
        for (campaign, tenant), since_s in since.items()
    }
    buckets = sorted({bucket for _, needed in plan.values() for bucket in needed})
    if not buckets:  # no campaign, or every one starting after now (a clock ahead)
        return {}
    at = {bucket: i for i, bucket in enumerate(buckets, start=1)}
    args: list[str | int] = []
    for name, needed in plan.values():
        runs = _runs(sorted(at[bucket] for bucket in needed))
        args += [name, len(runs), *(i for run in runs for i in run)]

    def fill(pipe: StorePipeline) -> None:
        for p in partitions:
            bucket_keys = [keys.bucket(p, gran, start) for gran, start in buckets]
            scripts.queue(pipe, scripts.sum_since, bucket_keys, args)

    totals = [0] * len(plan)
    for sums in await scripts.pipelined(fill):
        for i, value in enumerate(sums):
            totals[i] += int(value)
    return dict(zip(plan, totals, strict=True))


def _runs(indexes: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted indexes as inclusive (first, last) runs of consecutive ones."""
    runs: list[tuple[int, int]] = []
    for i in indexes:
        if runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs
