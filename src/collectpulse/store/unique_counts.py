"""Unique visitors / payers of each window: PFCOUNT over the window's HyperLogLog
buckets, per partition and name, counts a partition's read cache holds not asked again."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from collectpulse.store.client import StoreClient
from collectpulse.store.keys import Keys
from collectpulse.store.read_cache import PartitionRead, RunKey, UniqueKey, forget_unused


class UniqueCounts:
    """Keeps the key names of the last count (tens of thousands, the same until a bucket
    turns)."""

    def __init__(self, client: StoreClient, keys: Keys) -> None:
        self._redis = client
        self._keys = keys
        self._known: dict[tuple[int, int, int, int, str], tuple[bytes, ...]] = {}

    async def count(
        self,
        entries: Mapping[int, PartitionRead],
        plans: Mapping[str, tuple[int, list[int]]],
        runs: tuple[RunKey, ...],
    ) -> dict[str, dict[str, int]]:
        """PFCOUNT over each window's buckets, per partition and HyperLogLog name; counts
        a partition's cache holds at its version are not asked again."""
        out: dict[str, dict[str, int]] = {window: defaultdict(int) for window in plans}
        pipe = self._redis.pipeline(transaction=False)
        known, used = self._known, {}
        asked: list[tuple[PartitionRead, UniqueKey]] = []
        for p, entry in entries.items():
            wanted = set()
            for gran, starts in plans.values():
                for name in entry.names:
                    ident = (gran, starts[0], len(starts), name)
                    wanted.add(ident)
                    # tens of thousands of key names a read, the same until a bucket turns
                    keys = known.get((p, *ident))
                    if ident in entry.uniques:
                        if keys is not None:
                            used[(p, *ident)] = keys
                        continue
                    if keys is None:
                        keys = tuple(self._keys.uniques(p, gran, s, name).encode() for s in starts)
                    used[(p, *ident)] = keys
                    # raw: a cluster pipeline refuses pfcount(); the keys share {pN}
                    pipe.execute_command("PFCOUNT", *keys)
                    asked.append((entry, ident))
            forget_unused(entry, runs, wanted)
        self._known = used  # only this read's: old buckets are forgotten
        for (entry, ident), count in zip(asked, await pipe.execute() if asked else [], strict=True):
            entry.uniques[ident] = int(count)
        for entry in entries.values():
            for window, (gran, starts) in plans.items():
                for name in entry.names:
                    out[window][name] += entry.uniques[(gran, starts[0], len(starts), name)]
        return out
