"""Operating costs (K11, K12): one small hash in the ``{costs}`` slot, read by the exporter.

The ``cost`` topic is keyed by cost_id (kpi-catalog section 8). A worker agent
(``stream.cost_agent``) keeps per cost_id the standing record in ``cp:{costs}:c``
(field: cost_id, value: JSON). A second record of a cost_id is the same cost,
corrected: the one with the latest ``occurred_at`` stands (tie: the larger event_id),
so every arrival order ends the same; the same event_id again is a duplicate.

Exactly once: ``cp:{costs}:off`` holds each partition's last applied offset and one
Lua call per record applies it only past that offset, together with its data-quality
counts (``cp:{costs}:q``: received, key mismatch, duplicate, invalid and dead-lettered,
as total fields the exporter adds to the partitions' totals). ``cp:{costs}:ids`` keeps
per cost_id the event ids seen, so a repeat is a duplicate whether or not its record
is the standing one (the count does not depend on the arrival order). A cost is kept
while its period overlaps the last ``KEEP_DAYS`` UTC days (the 90-day window in every
zone); older ones are dropped after each batch. A dropped cost leaves a tombstone
(``cp:{costs}:gone``: its record's occurred_at and event_id; its ids in ``:ids`` stay)
for ``GONE_DAYS`` (``:gone-at``, a sorted set by expiry day): a later record of that
cost_id is ordered against it, so a correction that is itself dropped still supersedes
an older record arriving after it, and a repeat is still a duplicate.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import orjson

from collectpulse.events.roster import CostEvent
from collectpulse.kpi.costs import Cost
from collectpulse.store.client import StoreClient
from collectpulse.store.fields import counter_field
from collectpulse.store.replies import text as _text

KEEP_DAYS = 92
"""The 90-day window ends on the tenant's local today (UTC today +- 1): a period ending
92 days before the UTC today overlaps no window of any zone."""
GONE_DAYS = 400
"""How long a dropped cost's tombstone (its record's occurred_at and event_id, and its event
ids seen) is kept: a correction or repeat arriving within it is ordered against the dropped
record, as if it still stood. Longer than a yearly restatement and far longer than the
topic's retention (a replay from Kafka cannot bring older records); one small entry per
cost dropped in the last GONE_DAYS."""
TOPIC = "cost"

# KEYS: costs, offsets, quality, ids seen, pruned. ARGV: partition, offset, cost_id ('' = no event),
# occurred_at (microseconds), event_id, value JSON, duplicate field, fields to count.
# Returns 0 already applied, 1 stored, 2 duplicate, 3 superseded by the stored (or pruned)
# record.
_APPLY = """
local function after(a, b)  -- byte order (Lua's < follows the server's locale)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x > y end
  end
  return #a > #b
end
local done = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '-1')
if tonumber(ARGV[2]) <= done then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
for i = 8, #ARGV do redis.call('HINCRBY', KEYS[3], ARGV[i], 1) end
if ARGV[3] == '' then return 1 end
local sep = '\\031'  -- FIELD_SEP: event ids joined by it
local ids = redis.call('HGET', KEYS[4], ARGV[3]) or ''
if string.find(sep .. ids .. sep, sep .. ARGV[5] .. sep, 1, true) then
  redis.call('HINCRBY', KEYS[3], ARGV[7], 1)
  return 2
end
redis.call('HSET', KEYS[4], ARGV[3], ids == '' and ARGV[5] or ids .. sep .. ARGV[5])
local t = tonumber(ARGV[4])
local current = redis.call('HGET', KEYS[1], ARGV[3])
if current then
  local s = cjson.decode(current)
  if s.t > t or (s.t == t and after(s.e, ARGV[5])) then return 3 end
else
  local gone = redis.call('HGET', KEYS[5], ARGV[3])
  if gone then  -- a pruned record: older or equal is superseded by it, newer stands again
    local s = cjson.decode(gone)
    if s.t > t or (s.t == t and not after(ARGV[5], s.e)) then return 3 end
    redis.call('HDEL', KEYS[5], ARGV[3])
  end
end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[6])
return 1
"""

# KEYS: costs, ids seen, pruned, pruned by expiry day. ARGV: the first day ordinal still
# kept, today's ordinal, the expiry day of a tombstone made now. Returns the costs dropped.
_PRUNE = """
local dropped = 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local s = cjson.decode(all[i + 1])
  if s.ed <= tonumber(ARGV[1]) then
    redis.call('HDEL', KEYS[1], all[i])
    -- the tombstone: the dropped record's order (t exact: %.0f, cjson rounds to 14 digits)
    local tomb = '{"t":' .. string.format('%.0f', s.t) .. ',"e":' .. cjson.encode(s.e) .. '}'
    redis.call('HSET', KEYS[3], all[i], tomb)
    redis.call('ZADD', KEYS[4], tonumber(ARGV[3]), all[i])
    dropped = dropped + 1
  end
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', ARGV[2])) do
  redis.call('ZREM', KEYS[4], id)
  if redis.call('HEXISTS', KEYS[1], id) == 0 then  -- not standing again: forget it all
    redis.call('HDEL', KEYS[3], id)
    redis.call('HDEL', KEYS[2], id)
  end
end
return dropped
"""


def cost_keys(prefix: str) -> tuple[str, str, str, str, str, str]:
    """The costs, applied offsets, data-quality, event-ids-seen and pruned (tombstone)
    hashes and the pruned cost_ids by expiry day (a sorted set)."""
    base = f"{prefix}:{{costs}}"
    return f"{base}:c", f"{base}:off", f"{base}:q", f"{base}:ids", f"{base}:gone", f"{base}:gone-at"


def quality_field(counter: str, **labels: str) -> str:
    return counter_field(counter, {"topic": TOPIC, **labels})


class CostStore:
    """Stores cost records (the worker) and reads the standing costs (the exporter)."""

    def __init__(self, client: StoreClient, prefix: str) -> None:
        self._client = client
        self._keys = list(cost_keys(prefix))
        self._apply = client.register_script(_APPLY)
        self._prune = client.register_script(_PRUNE)

    async def store(
        self,
        event: CostEvent | None,
        partition: int,
        offset: int,
        *,
        counts: tuple[str, ...] = (),
        tenant: str | None = None,
    ) -> int:
        """Apply one record (None: no event, only ``counts``, e.g. a dead-lettered one).

        ``tenant``: the tenant's reported label (``TenantLabels``), stored for the
        exporter to join K10 on; None stores ``event.tenant`` as it is."""
        duplicate = quality_field("events_duplicate")
        if event is None:
            args: list[str | int | bytes] = [partition, offset, "", 0, "", "", duplicate]
        else:
            at_us = _micros(event.occurred_at)
            value = orjson.dumps(
                {
                    "t": at_us,
                    "e": event.event_id,
                    "tenant": (event.tenant if tenant is None else tenant) or "",
                    "category": event.category,
                    "currency": event.currency,
                    "amount": event.amount_minor,
                    "start": event.period_start.isoformat(),
                    "end": event.period_end.isoformat(),
                    "ed": event.period_end.toordinal(),
                    "team": event.team or "",
                }
            )
            args = [partition, offset, event.cost_id, at_us, event.event_id, value, duplicate]
        keys = self._keys[:5]
        return int(await self._apply(keys=keys, args=[*args, *counts]))

    async def prune(self, now_s: float) -> int:
        """Drop the costs whose period ended ``KEEP_DAYS`` or more before the UTC today,
        each leaving a tombstone for ``GONE_DAYS``; forget the tombstones past that."""
        today = datetime.fromtimestamp(now_s, UTC).date().toordinal()
        keys = [self._keys[0], *self._keys[3:6]]
        return int(await self._prune(keys=keys, args=[today - KEEP_DAYS, today, today + GONE_DAYS]))

    async def costs(self) -> list[Cost]:
        raw = await self._client.hgetall(self._keys[0])
        out = []
        for name, value in raw.items():
            data = orjson.loads(value)
            out.append(
                Cost(
                    name.decode() if isinstance(name, bytes) else str(name),
                    str(data["tenant"]),
                    str(data["category"]),
                    str(data["currency"]),
                    int(data["amount"]),
                    date.fromisoformat(data["start"]),
                    date.fromisoformat(data["end"]),
                    str(data.get("team", "")),
                )
            )
        return sorted(out, key=lambda c: c.cost_id)

    async def applied_offsets(self) -> dict[int, int]:
        """Partition -> last applied offset of the cost topic: where a new owner resumes."""
        raw = await self._client.hgetall(self._keys[1])
        return {int(k): int(v) for k, v in raw.items()}

    async def quality(self) -> dict[str, int]:
        """Data-quality total fields (``counter_field`` names) -> count."""
        raw = await self._client.hgetall(self._keys[2])
        return {_text(k): int(v) for k, v in raw.items()}


def _micros(at: datetime) -> int:
    return int(at.timestamp()) * 1_000_000 + at.microsecond


__all__ = ["GONE_DAYS", "KEEP_DAYS", "CostStore", "cost_keys", "quality_field"]
