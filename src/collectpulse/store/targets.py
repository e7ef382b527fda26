"""Agent, team and tenant targets (K24): one small hash in the ``{targets}`` slot.

The ``target`` topic is compacted and keyed ``scope:scope_id:metric:period``; a null
value deletes the key's target (kpi-catalog section 8). A worker agent
(``stream.roster_agent``) keeps, per key, the target's last ``MAX_VERSIONS`` values by
``valid_from`` in ``cp:{targets}:t`` (field: the record key, value: JSON with the
record's partition and offset): a target changed mid-period is a new ``valid_from``,
and the exporter takes the value in force on the tenant's local today. Exactly once
as the roster: only a record past the stored (partition, offset) is applied, by a
compare-and-set that retries when another writer changed the field meanwhile. The
same call moves the partition's last applied offset forward in ``cp:{targets}:off``
(``store.reference_offsets``), where a reassigned partition resumes.
"""

from __future__ import annotations

from datetime import date

import orjson

from collectpulse.events.roster import TargetEvent
from collectpulse.kpi.targets import Target
from collectpulse.store.client import StoreClient
from collectpulse.store.reference_offsets import ADVANCE, AppliedOffsets

MAX_VERSIONS = 8
MAX_ATTEMPTS = 20

# KEYS: the hash, the applied offsets. ARGV: field, expected JSON ('' = none), new
# JSON, partition, offset (a deleted target stays as a marker with its offset, so a
# redelivered older record cannot bring it back). Returns 1 applied, 0 not past the
# stored record, -1 changed.
_SET_IF_NEWER = (
    ADVANCE
    + """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if (current or '') ~= ARGV[2] then return -1 end
advance(KEYS[2], ARGV[4], ARGV[5])
if current then
  local stored = cjson.decode(current)
  if stored.p == tonumber(ARGV[4]) and stored.o >= tonumber(ARGV[5]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""
)


def targets_key(prefix: str) -> str:
    return f"{prefix}:{{targets}}:t"


def targets_offsets_key(prefix: str) -> str:
    """Partition -> last applied offset of the ``target`` topic."""
    return f"{prefix}:{{targets}}:off"


class TargetStore:
    def __init__(self, client: StoreClient, prefix: str) -> None:
        self._client = client
        self._key = targets_key(prefix)
        self._offsets = AppliedOffsets(client, targets_offsets_key(prefix))
        self._set = client.register_script(_SET_IF_NEWER)

    async def store(self, key: str, event: TargetEvent | None, partition: int, offset: int) -> bool:
        """Apply the record ``key`` -> ``event`` (None: a tombstone deleting the target)."""
        for _ in range(MAX_ATTEMPTS):
            current = await self._client.hget(self._key, key)
            value = (
                orjson.dumps({"p": partition, "o": offset, "deleted": True})
                if event is None
                else _merged(current, event, partition, offset)
            )
            args: list[str | int | bytes] = [key, current or b"", value, partition, offset]
            status = int(await self._set(keys=[self._key, self._offsets.key], args=args))
            if status >= 0:
                return bool(status)
        raise RuntimeError(f"target {key!r} kept changing; gave up")

    async def mark(self, partition: int, offset: int) -> None:
        """Record a record that stored nothing (dead-lettered, keyless tombstone) as applied."""
        await self._offsets.mark(partition, offset)

    async def applied_offsets(self) -> dict[int, int]:
        """Partition -> last applied offset of the ``target`` topic: where a new owner resumes."""
        return await self._offsets.read()

    async def targets(self) -> list[Target]:
        raw = await self._client.hgetall(self._key)
        out = []
        for name, value in raw.items():
            data = orjson.loads(value)
            if data.get("deleted"):
                continue
            out.append(
                Target(
                    name.decode() if isinstance(name, bytes) else str(name),
                    str(data["tenant"]),
                    str(data["scope"]),
                    str(data["scope_id"]),
                    str(data["metric"]),
                    str(data["period"]),
                    str(data["currency"]),
                    tuple((date.fromisoformat(d), float(v)) for d, v in data["values"]),
                )
            )
        return out


def _merged(current: bytes | str | None, event: TargetEvent, partition: int, offset: int) -> bytes:
    values: dict[str, float] = {}
    stored = orjson.loads(current) if current else {}
    if not stored.get("deleted"):
        values = {d: float(v) for d, v in stored.get("values", [])}
    values[event.valid_from.isoformat()] = event.value
    kept = sorted(values.items())[-MAX_VERSIONS:]
    return orjson.dumps(
        {
            "p": partition,
            "o": offset,
            "tenant": event.tenant or "",
            "scope": event.scope,
            "scope_id": event.scope_id,
            "metric": event.metric,
            "period": event.period,
            "currency": event.currency or "",
            "values": kept,
        }
    )


__all__ = ["MAX_VERSIONS", "Target", "TargetStore", "targets_key", "targets_offsets_key"]
