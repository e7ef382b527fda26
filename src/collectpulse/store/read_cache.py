"""What the last store reads returned per partition, kept while the partition's write
version stands still.

Every apply bumps ``cp:{pN}:ver`` (write.lua), and every key a scrape sums, counts or
lists per partition is written only through that apply. So a partition whose version
did not move since it was read holds the same totals, bucket sums, HyperLogLogs,
offsets and struggling set: a scrape need not re-read and re-sum it. What does move
without a write is time: the windows' bucket runs turn (``RunKey``, one per
granularity and newest bucket) and struggling customers age out, so runs and unique
counts are kept per run, and struggling members with their scores (filtered at use).

The version is read before the data it tags, on the same connection (same slot), so
cached data is never older than its version: a write in between makes the next read
see a newer version and read the partition again, never keep stale data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from collectpulse.kpi.ratios import CounterValues

RunKey = tuple[int, tuple[int, ...]]
"""(granularity in seconds, bucket starts newest first): one run of ``Segments``."""
UniqueKey = tuple[int, int, int, str]
"""(granularity, newest bucket start, bucket count, HyperLogLog name): one PFCOUNT."""


@dataclass
class PartitionRead:
    """One partition's replies at ``version`` (Redis' raw values: bytes, flat lists)."""

    version: bytes
    names: list[str]
    """HyperLogLog names (``unames``), sorted."""
    offsets: Mapping[Any, Any]
    totals: list[Any]
    """Flat ``[field, value, ...]`` of the all-time totals hash."""
    runs: dict[RunKey, list[Any]] = field(default_factory=dict)
    """Run -> flat ``[field, sum, ...]`` of its buckets."""
    struggling: list[tuple[Any, float]] = field(default_factory=list)
    """Members with a score after the struggling window's start when read."""
    uniques: dict[UniqueKey, int] = field(default_factory=dict)


class PartitionCache:
    """Partition -> its last read, dropped as soon as its version is seen to move."""

    def __init__(self) -> None:
        self._entries: dict[int, PartitionRead] = {}

    def partitions(self) -> list[int]:
        """The partitions whose version is worth asking for (those with an entry)."""
        return sorted(self._entries)

    def still_valid(self, versions: Mapping[int, bytes | None]) -> dict[int, PartitionRead]:
        """The entries whose partition is still at the cached version; the rest are
        forgotten (a version that moved, or a partition no longer listed)."""
        valid = {
            p: entry
            for p, entry in self._entries.items()
            if versions.get(p) is not None and versions[p] == entry.version
        }
        self._entries = dict(valid)
        return valid

    def keep(self, partition: int, entry: PartitionRead) -> None:
        self._entries[partition] = entry


def missing_runs(entry: PartitionRead | None, runs: Iterable[RunKey]) -> list[RunKey]:
    """The runs a read must still sum for a partition (all of them without an entry)."""
    if entry is None:
        return list(runs)
    return [run for run in runs if run not in entry.runs]


def forget_unused(entry: PartitionRead, runs: Iterable[RunKey], uniques: set[UniqueKey]) -> None:
    """Keep only the runs and unique counts this read used: turned buckets are dropped."""
    used = set(runs)
    entry.runs = {run: flat for run, flat in entry.runs.items() if run in used}
    entry.uniques = {key: n for key, n in entry.uniques.items() if key in uniques}


def struggling_now(entry: PartitionRead, after_s: int) -> list[tuple[Any, float]]:
    """The cached struggling members still inside the window (score > ``after_s``)."""
    return [(member, score) for member, score in entry.struggling if score > after_s]


@dataclass
class SummedRead:
    """The partitions' sums of one read, kept for the next while nothing moved."""

    key: tuple[tuple[int, ...], tuple[RunKey, ...]]
    """(partitions, bucket runs) they were summed over."""
    base: dict[str, int]
    """Totals merged over partitions, decoded, before the provider tallies."""
    windows: dict[str, dict[Any, int]]
    parsed: dict[str, CounterValues] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    tallies: dict[str, int] = field(default_factory=dict)
    registries: dict[str, frozenset[str]] = field(default_factory=dict)
    token: object = None
    silence_key: object = None
    delivered: dict[tuple[str, str], int] = field(default_factory=dict)
