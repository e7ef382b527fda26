"""Read a few counters bucket by bucket: the per-minute time series of the live page.

``StoreReader`` sums buckets server-side into windows; a chart needs each bucket on
its own, so this reads the newest ``count`` fine buckets of every partition (one
pipelined round trip) and keeps only the counters asked for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from collectpulse.kpi.ratios import LabelSet
from collectpulse.store.client import StoreClient
from collectpulse.store.keys import FIELD_SEP, Keys
from collectpulse.store.replies import text as _text
from collectpulse.store.totals import parse_counter_fields


@dataclass(frozen=True)
class BucketSeries:
    """Per counter and label set, the count of each bucket in ``starts`` (oldest first)."""

    step_s: int
    starts: tuple[int, ...]
    values: dict[str, dict[LabelSet, list[float]]] = field(default_factory=dict)


def bucket_starts(now_s: int, step_s: int, count: int) -> tuple[int, ...]:
    """The ``count`` bucket starts ending with the (still filling) bucket of ``now_s``."""
    newest = now_s - now_s % step_s
    return tuple(newest - i * step_s for i in range(count - 1, -1, -1))


async def read_bucket_series(
    client: StoreClient,
    keys: Keys,
    partitions: Sequence[int],
    counters: Collection[str],
    *,
    now_s: int,
    step_s: int,
    count: int,
) -> BucketSeries:
    """The newest ``count`` buckets of ``step_s`` (the fine bucket size) for ``counters``."""
    starts = bucket_starts(now_s, step_s, count)
    pipe = client.pipeline(transaction=False)
    for p in partitions:
        for start in starts:
            pipe.hgetall(keys.bucket(p, step_s, start))
    replies = await pipe.execute()
    values: dict[str, dict[LabelSet, list[float]]] = defaultdict(dict)
    prefixes = tuple(name + FIELD_SEP for name in counters)
    for i, reply in enumerate(replies):
        slot = i % len(starts)
        wanted = {_text(k): int(v) for k, v in reply.items() if _text(k).startswith(prefixes)}
        for counter, series in parse_counter_fields(wanted).items():
            for labelset, value in series.items():
                row = values[counter].setdefault(labelset, [0.0] * len(starts))
                row[slot] += value
    return BucketSeries(step_s, starts, dict(values))
