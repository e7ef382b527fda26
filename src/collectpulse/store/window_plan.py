"""Which buckets each rolling window sums, and how windows share them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from collectpulse.store.context import COARSE_BUCKET_S

FINE_WINDOW_MAX_S = 6 * 3600


def window_buckets(now_s: int, window_s: int, bucket_s: int) -> tuple[int, list[int]]:
    """The granularity and bucket starts a window sums (the current bucket included)."""
    gran = (
        bucket_s
        if window_s <= FINE_WINDOW_MAX_S or bucket_s >= COARSE_BUCKET_S
        else COARSE_BUCKET_S
    )
    current = now_s - now_s % gran
    count = max(window_s // gran, 1)
    return gran, [current - i * gran for i in range(count)]


@dataclass(frozen=True)
class Segments:
    """Disjoint runs of bucket keys whose sums add up to every window.

    Windows of one granularity share their newest buckets (1h is the start of 6h), so
    each bucket is summed once: ``runs`` are (granularity, bucket starts) and
    ``members[window]`` the indexes of the runs that window adds up. A partition's
    reply then carries each field once per run, not once per window.
    """

    runs: tuple[tuple[int, tuple[int, ...]], ...]
    members: Mapping[str, tuple[int, ...]]


def window_segments(plans: Mapping[str, tuple[int, list[int]]]) -> Segments:
    """Split the windows' bucket lists (newest first, see ``window_buckets``) into runs."""
    runs: list[tuple[int, tuple[int, ...]]] = []
    members: dict[str, tuple[int, ...]] = {}
    by_gran: dict[int, list[tuple[int, str, list[int]]]] = defaultdict(list)
    for window, (gran, starts) in plans.items():
        by_gran[gran].append((len(starts), window, starts))
    for gran, windows in sorted(by_gran.items()):
        taken, covering = 0, cast(tuple[int, ...], ())
        for count, window, starts in sorted(windows):
            if count > taken:
                runs.append((gran, tuple(starts[taken:count])))
                covering, taken = (*covering, len(runs) - 1), count
            members[window] = covering
    return Segments(tuple(runs), members)
