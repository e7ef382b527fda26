"""The applied offsets of a compacted reference topic (agent, target, experiment).

Each such store keeps, beside its entries and in their slot, a hash
``<prefix>:{<slot>}:<name>`` (field: partition, value: the last applied offset): the
position a newly assigned partition resumes after (``stream.resume``), since Redis, not
Kafka's commit, is the authority on position (kpi-catalog section 6). The store's
entry script moves it in the same call as the entry (``ADVANCE``, only forward, also
for a record the entry guard refuses: it was read all the same); a record that leaves
no entry (dead-lettered, a tombstone without a key) moves it with ``mark``.
"""

from __future__ import annotations

from collectpulse.store.client import StoreClient

ADVANCE = """
local function advance(key, partition, offset)
  if tonumber(offset) > tonumber(redis.call('HGET', key, partition) or '-1') then
    redis.call('HSET', key, partition, offset)
  end
end
"""
"""A Lua function for entry scripts: move ``key``'s field ``partition`` forward to ``offset``."""

# KEYS[1] the offsets hash. ARGV: partition, offset.
_MARK = ADVANCE + "advance(KEYS[1], ARGV[1], ARGV[2])\nreturn 1\n"


class AppliedOffsets:
    """One reference topic's applied offsets (the hash ``key``)."""

    def __init__(self, client: StoreClient, key: str) -> None:
        self._client = client
        self.key = key
        self._mark = client.register_script(_MARK)

    async def read(self) -> dict[int, int]:
        """Partition -> last applied offset: where a new owner of the partition resumes."""
        raw = await self._client.hgetall(self.key)
        return {int(k): int(v) for k, v in raw.items()}

    async def mark(self, partition: int, offset: int) -> None:
        """Record ``offset`` of ``partition`` as applied (a record that stored nothing)."""
        await self._mark(keys=[self.key], args=[partition, offset])


__all__ = ["ADVANCE", "AppliedOffsets"]
