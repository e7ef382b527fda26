"""The agent roster and the agent label's slots: small keys in the ``{labels}`` slot.

The ``agent`` topic is compacted and keyed by agent_id (kpi-catalog section 8); a
worker agent (``stream.roster_agent``) keeps the latest entry per agent in
``cp:{labels}:roster`` (field: agent_id, value: JSON with the record's partition and
offset) and the tenant's active agents in ``cp:{labels}:agent-active:<tenant>``. The
agent label's cap (section 9) reads that set: active roster agents take the first
slots by agent_id, the other agents the rest in the order first seen
(``agent-first:<tenant>``), and an agent the worker has not seen for
``agent_label_idle`` (``agent-last:<tenant>``, worker clock) frees its slot.

Exactly once: storing an entry is idempotent and done only when its (partition,
offset) is past the stored one, so a redelivered older record never replaces a
newer one; the compare-and-set below retries when another writer changed the entry
between the read and the write. The same call moves the partition's last applied
offset forward in ``cp:{labels}:roster-off`` (``store.reference_offsets``), where a
reassigned partition resumes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from collectpulse.events.roster import AgentEvent
from collectpulse.store.client import StoreClient
from collectpulse.store.reference_offsets import ADVANCE, AppliedOffsets
from collectpulse.store.scripts import _source

# KEYS: roster hash, old tenant's active, new tenant's active, new tenant's first and
# last seen, applied offsets. ARGV: agent, expected current JSON ('' = none), new JSON,
# partition, offset, active (1/0). Returns 1 stored, 0 older than the stored record,
# -1 changed.
_STORE_IF_NEWER = (
    ADVANCE
    + """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (current or '') ~= ARGV[2] then return -1 end
advance(KEYS[6], ARGV[4], ARGV[5])
if current then
  local stored = cjson.decode(current)
  if stored.p == tonumber(ARGV[4]) and stored.o >= tonumber(ARGV[5]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[6] == '1' then
  redis.call('ZADD', KEYS[3], 0, ARGV[1])
  redis.call('ZREM', KEYS[4], ARGV[1])
  redis.call('ZREM', KEYS[5], ARGV[1])
end
return 1
"""
)
MAX_ATTEMPTS = 20


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """One agent's latest roster entry."""

    agent_id: str
    tenant: str
    team: str
    role: str
    status: str

    @property
    def active_collector(self) -> bool:
        return self.status == "active" and self.role == "collector"


def roster_key(prefix: str) -> str:
    return f"{prefix}:{{labels}}:roster"


def roster_offsets_key(prefix: str) -> str:
    """Partition -> last applied offset of the ``agent`` topic."""
    return f"{prefix}:{{labels}}:roster-off"


def slot_keys(prefix: str, tenant: str) -> tuple[str, str, str]:
    """The tenant's active roster, first-seen and last-seen sets (``admit_agents.lua``)."""
    base = f"{prefix}:{{labels}}:agent"
    return (f"{base}-active:{tenant}", f"{base}-first:{tenant}", f"{base}-last:{tenant}")


class RosterStore:
    """Stores roster entries (the worker), reads them (exporter, API) and admits agents."""

    def __init__(self, client: StoreClient, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self._key = roster_key(prefix)
        self._offsets = AppliedOffsets(client, roster_offsets_key(prefix))
        self._store = client.register_script(_STORE_IF_NEWER)
        self._admit = client.register_script(_source("admit_agents"))

    async def store(self, event: AgentEvent, partition: int, offset: int) -> bool:
        """Keep ``event`` as its agent's entry unless a later record is stored."""
        tenant = event.tenant or ""
        value = orjson.dumps(
            {
                "p": partition,
                "o": offset,
                "tenant": tenant,
                "team": event.team,
                "role": event.role,
                "status": event.status,
            }
        )
        active, first, last = slot_keys(self._prefix, tenant)
        for _ in range(MAX_ATTEMPTS):
            current = await self._client.hget(self._key, event.agent_id)
            old_tenant = orjson.loads(current)["tenant"] if current else tenant
            old_active = slot_keys(self._prefix, old_tenant)[0]
            keys = [self._key, old_active, active, first, last, self._offsets.key]
            args: list[str | int | bytes] = [
                event.agent_id,
                current or b"",
                value,
                partition,
                offset,
                "1" if event.status == "active" else "0",
            ]
            status = int(await self._store(keys=keys, args=args))
            if status >= 0:
                return bool(status)
        raise RuntimeError(f"roster entry of {event.agent_id!r} kept changing; gave up")

    async def mark(self, partition: int, offset: int) -> None:
        """Record a record that stored no entry (e.g. dead-lettered) as applied."""
        await self._offsets.mark(partition, offset)

    async def applied_offsets(self) -> dict[int, int]:
        """Partition -> last applied offset of the ``agent`` topic: where a new owner resumes."""
        return await self._offsets.read()

    async def entries(self) -> list[RosterEntry]:
        raw = await self._client.hgetall(self._key)
        out = []
        for name, value in raw.items():
            data = orjson.loads(value)
            out.append(
                RosterEntry(
                    name.decode() if isinstance(name, bytes) else str(name),
                    str(data["tenant"]),
                    str(data["team"]),
                    str(data["role"]),
                    str(data["status"]),
                )
            )
        return out

    async def admit(
        self, tenant: str, agents: Sequence[str], *, cap: int, now_s: int, idle_s: int
    ) -> set[str]:
        """Of ``agents`` seen now for ``tenant``, the ones holding a label slot."""
        if not agents:
            return set()
        reply = await self._admit(
            keys=list(slot_keys(self._prefix, tenant)),
            args=[cap, now_s, now_s - idle_s, *agents],
        )
        return {agent for agent, ok in zip(agents, reply, strict=True) if int(ok)}


__all__ = ["RosterEntry", "RosterStore", "roster_key", "roster_offsets_key", "slot_keys"]
