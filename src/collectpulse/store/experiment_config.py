"""Experiment configurations and always-valid p-value minima: two tiny hashes in ``{experiments}``.

The ``experiment`` topic is compacted and keyed by campaign; a worker agent
validates each record and keeps the latest configuration per campaign in
``cp:{experiments}:cfg`` (field: campaign, value: JSON). The exporter reads
that one hash per scrape; nothing in the hot path joins it.

Exactly once: storing a configuration is idempotent, and a Lua call stores it
only when its (partition, offset) is past the stored one, so a redelivered
older record (a crash, or a rebalance in which two workers briefly process one
partition) never replaces a newer configuration. A campaign whose records
moved partition (a producer re-keyed the topic) takes the latest applied. The
same call moves the partition's last applied offset forward in
``cp:{experiments}:off`` (``store.reference_offsets``), where a reassigned
partition resumes.

The running minimum of each comparison's always-valid p-value lives in
``cp:{experiments}:pmin`` (field: campaign, tenant, variant, start), lowered
by a Lua min-update on every evaluation, so every exporter (and the live
page) reports the same figure whichever of them evaluated last. The start is
part of the field: a restarted experiment starts a new minimum.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from collectpulse.events.roster import ExperimentEvent
from collectpulse.store.client import StoreClient
from collectpulse.store.keys import FIELD_SEP
from collectpulse.store.reference_offsets import ADVANCE, AppliedOffsets

# KEYS: configurations, applied offsets. ARGV: campaign, partition, offset, new JSON.
_STORE_IF_NEWER = (
    ADVANCE
    + """
advance(KEYS[2], ARGV[2], ARGV[3])
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local stored = cjson.decode(current)
  if stored.p == tonumber(ARGV[2]) and stored.o >= tonumber(ARGV[3]) then
    return 0
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
return 1
"""
)

_LOWER_MINIMA = """
local out = {}
for i = 1, #ARGV, 2 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  if (not current) or tonumber(ARGV[i + 1]) < tonumber(current) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    current = ARGV[i + 1]
  end
  out[#out + 1] = current
end
return out
"""


@dataclass(frozen=True, slots=True)
class ExperimentConfig:
    """One campaign's stored configuration (section 10)."""

    campaign: str
    variants: Mapping[str, float]
    control: str
    started_s: int
    alpha: float
    tuning_n: int

    @classmethod
    def of(cls, event: ExperimentEvent) -> ExperimentConfig:
        return cls(
            event.campaign,
            dict(event.variants),
            event.control,
            int(event.started_at.timestamp()),
            event.alpha,
            event.tuning_n,
        )


def config_key(prefix: str) -> str:
    return f"{prefix}:{{experiments}}:cfg"


def config_offsets_key(prefix: str) -> str:
    """Partition -> last applied offset of the ``experiment`` topic."""
    return f"{prefix}:{{experiments}}:off"


def minima_key(prefix: str) -> str:
    return f"{prefix}:{{experiments}}:pmin"


def minimum_field(
    campaign: str, tenant: str, variant: str, started_s: int, segment: str | None = None
) -> str:
    """The comparison's running-minimum field; with ``segment``, the per-segment one (K23)."""
    parts = (campaign, tenant, variant, str(started_s))
    return FIELD_SEP.join(parts if segment is None else (*parts, segment))


class ExperimentStore:
    """Stores configurations (the worker) and reads them and the p-value minima (readers)."""

    def __init__(self, client: StoreClient, prefix: str) -> None:
        self._client = client
        self._config_key = config_key(prefix)
        self._minima_key = minima_key(prefix)
        self._offsets = AppliedOffsets(client, config_offsets_key(prefix))
        self._store = client.register_script(_STORE_IF_NEWER)
        self._lower = client.register_script(_LOWER_MINIMA)

    async def store(self, event: ExperimentEvent, partition: int, offset: int) -> bool:
        """Keep ``event`` as its campaign's configuration unless a later record is stored."""
        config = ExperimentConfig.of(event)
        value = orjson.dumps(
            {
                "p": partition,
                "o": offset,
                "variants": config.variants,
                "control": config.control,
                "started_s": config.started_s,
                "alpha": config.alpha,
                "tuning_n": config.tuning_n,
            }
        )
        args: list[str | int | bytes] = [config.campaign, partition, offset, value]
        keys = [self._config_key, self._offsets.key]
        return bool(await self._store(keys=keys, args=args))

    async def mark(self, partition: int, offset: int) -> None:
        """Record a record that stored nothing (e.g. dead-lettered) as applied."""
        await self._offsets.mark(partition, offset)

    async def applied_offsets(self) -> dict[int, int]:
        """Partition -> last applied offset of the ``experiment`` topic: where a new owner
        resumes."""
        return await self._offsets.read()

    async def configs(self) -> dict[str, ExperimentConfig]:
        raw = await self._client.hgetall(self._config_key)
        out = {}
        for name, value in raw.items():
            campaign = name.decode() if isinstance(name, bytes) else str(name)
            data = orjson.loads(value)
            out[campaign] = ExperimentConfig(
                campaign,
                {str(k): float(v) for k, v in data["variants"].items()},
                str(data["control"]),
                int(data["started_s"]),
                float(data["alpha"]),
                int(data["tuning_n"]),
            )
        return out

    async def lower_minima(self, current: Mapping[str, float]) -> dict[str, float]:
        """Lower each stored minimum to ``current``'s value; return the minima now stored."""
        if not current:
            return {}
        names = list(current)
        args = [part for name in names for part in (name, repr(current[name]))]
        stored = await self._lower(keys=[self._minima_key], args=args)
        return {name: float(value) for name, value in zip(names, stored, strict=True)}

    async def minima(self, names: list[str]) -> dict[str, float]:
        """The stored minima of ``names`` (those with one)."""
        if not names:
            return {}
        values = await self._client.hmget(self._minima_key, names)
        return {n: float(v) for n, v in zip(names, values, strict=True) if v is not None}
