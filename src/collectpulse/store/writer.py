"""Apply a partition's batch to Redis exactly once: read snapshot, plan, guarded write.

Two round trips per batch, none per event: a pipelined read of the
partition's version, applied offset, seen event ids and joined message states,
then one write.lua call that applies the plan only if the version is
unchanged and the batch is past the applied offset (kpi-catalog section 6).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from collectpulse.events.decode import Invalid
from collectpulse.events.models import BounceEvent, ClickEvent, DeliveryEvent, OpenEvent, Topic
from collectpulse.kpi.labels import OTHER_VALUE
from collectpulse.settings import Settings, duration_s
from collectpulse.store.effects import (
    MESSAGE_TOPICS,
    PARK_SEP,
    Record,
    Snapshot,
    Timing,
    plan_batch,
    plan_orphans,
)
from collectpulse.store.errors import WriteConflict
from collectpulse.store.keys import FIELD_SEP, Keys
from collectpulse.store.plan import WritePlan
from collectpulse.store.scripts import Scripts

MAX_ATTEMPTS = 20
_CAPPED_LABELS = ("campaign", "variant", "segment", "tenant", "agent")


@dataclass(frozen=True, slots=True)
class ApplyResult:
    applied: int
    """Records past the applied offset whose effects were written."""
    skipped: int
    """Records at or before the applied offset (a redelivery): no effect."""


class StoreWriter:
    """Writes batches of decoded records for the partitions this process owns."""

    def __init__(
        self, client: Redis, settings: Settings, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._redis = client
        self._settings = settings
        self._keys = Keys(settings.key_prefix)
        self._scripts = Scripts(client)
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._admitted: dict[str, set[str]] = defaultdict(set)
        self._known_partitions: set[int] = set()
        self._clock = clock
        self._fine_ttl_s = max(settings.windows_s.values())

    @property
    def keys(self) -> Keys:
        return self._keys

    async def applied_offsets(self, partition: int) -> dict[str, int]:
        """Topic -> last applied offset for ``partition``: where a new owner resumes."""
        raw = await self._redis.hgetall(self._keys.offsets(partition))
        return {_text(k): int(v) for k, v in raw.items()}

    async def apply(self, topic: Topic, partition: int, records: Sequence[Record]) -> ApplyResult:
        """Apply ``records`` (one Kafka partition, offset order) exactly once."""
        if not records:
            return ApplyResult(0, 0)
        await self._register_partition(partition)
        async with self._locks[partition]:
            for _ in range(MAX_ATTEMPTS):
                result = await self._attempt(topic, partition, records)
                if result is not None:
                    return result
            raise WriteConflict(f"partition {partition}: version kept changing; gave up")

    async def sweep_orphans(self, partition: int) -> int:
        """Count events parked longer than the orphan wait as orphans; returns how many."""
        cutoff = int(self._clock()) - duration_s(self._settings.orphan_wait)
        parked_key = self._keys.parked(partition)
        async with self._locks[partition]:
            version = await self._redis.get(self._keys.version(partition))
            members: list[Any] = await self._redis.zrangebyscore(parked_key, "-inf", cutoff, 0, 500)
            ids = [_text(m) for m in members]
            if not ids:
                return 0
            pipe = self._redis.pipeline(transaction=False)
            for mid in ids:
                pipe.lrange(self._keys.park(partition, mid), 0, -1)
            lists = await pipe.execute()
            expired = dict(zip(ids, lists, strict=True))
            plan = plan_orphans(partition=partition, expired=expired, keys=self._keys)
            status = await self._write(partition, plan, _text(version or b"0"), "", -1)
            return sum(len(v) for v in lists) if status == 1 else 0

    async def _attempt(
        self, topic: Topic, partition: int, records: Sequence[Record]
    ) -> ApplyResult | None:
        snapshot = await self._read(topic, partition, records)
        fresh = [r for r in records if r.offset > snapshot.applied_offset]
        if not fresh:
            return ApplyResult(0, len(records))
        await self._admit_labels(fresh)
        now_s = int(self._clock())
        timing = Timing(
            now_s=now_s,
            bucket_s=self._settings.bucket_s,
            retention_s=self._settings.retention_s,
            fine_ttl_s=self._fine_ttl_s,
            dedupe_horizon_s=duration_s(self._settings.dedupe_horizon),
            max_event_bytes=self._settings.max_event_bytes,
        )
        plan = plan_batch(
            partition=partition,
            topic=topic,
            records=fresh,
            snapshot=snapshot,
            keys=self._keys,
            timing=timing,
            cap=self._cap,
        )
        status = await self._write(partition, plan, snapshot.version, topic.value, fresh[-1].offset)
        if status == 0:
            return None
        if status == -1:
            return ApplyResult(0, len(records))
        return ApplyResult(len(fresh), len(records) - len(fresh))

    async def _write(
        self, partition: int, plan: WritePlan, version: str, topic: str, offset: int
    ) -> int:
        keys, ops = plan.flatten(first_key_index=3)
        head = [self._keys.version(partition), self._keys.offsets(partition)]
        reply = await self._scripts.write(keys=[*head, *keys], args=[version, topic, offset, *ops])
        return int(reply[0])

    async def _read(self, topic: Topic, partition: int, records: Sequence[Record]) -> Snapshot:
        k = self._keys
        pipe = self._redis.pipeline(transaction=False)
        # The version is read first: any write after it bumps it, so write.lua
        # rejects a plan built on states that changed under it.
        pipe.get(k.version(partition))
        pipe.hget(k.offsets(partition), topic.value)
        ids_by_key: dict[str, list[str]] = defaultdict(list)
        message_ids: dict[str, None] = {}
        sent_ids: list[str] = []
        for record in records:
            event = record.event
            if isinstance(event, Invalid):
                continue
            occurred_s = int(event.occurred_at.timestamp())
            ids_by_key[k.seen(partition, topic.value, occurred_s)].append(event.event_id)
            if isinstance(event, DeliveryEvent | BounceEvent | OpenEvent | ClickEvent):
                message_ids[event.message_id] = None
                if isinstance(event, DeliveryEvent) and event.status == "sent":
                    sent_ids.append(event.message_id)
        for key, ids in ids_by_key.items():
            pipe.smismember(key, ids)
        for mid in message_ids:
            pipe.hgetall(k.message(partition, mid))
        if sent_ids:
            pipe.zmscore(k.parked(partition), sent_ids)
        replies = await pipe.execute()
        version, offset = replies[0], replies[1]
        pos = 2
        seen: set[str] = set()
        for ids in ids_by_key.values():
            seen.update(i for i, hit in zip(ids, replies[pos], strict=True) if hit)
            pos += 1
        messages = {}
        for mid in message_ids:
            messages[mid] = {_text(f): _text(v) for f, v in replies[pos].items()}
            pos += 1
        parked: dict[str, list[bytes]] = {}
        if sent_ids:
            waiting = [
                mid for mid, score in zip(sent_ids, replies[pos], strict=True) if score is not None
            ]
            parked = await self._parked_lists(partition, waiting)
        return Snapshot(
            version=_text(version or b"0"),
            applied_offset=int(offset) if offset is not None else -1,
            seen_ids=frozenset(seen),
            messages=messages,
            parked=parked,
        )

    async def _parked_lists(
        self, partition: int, message_ids: Iterable[str]
    ) -> dict[str, list[bytes]]:
        ids = list(dict.fromkeys(message_ids))
        if not ids:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for mid in ids:
            pipe.lrange(self._keys.park(partition, mid), 0, -1)
        return dict(zip(ids, await pipe.execute(), strict=True))

    async def _admit_labels(self, records: Sequence[Record]) -> None:
        wanted: dict[str, set[str]] = defaultdict(set)
        for record in records:
            event = record.event
            if isinstance(event, Invalid):
                continue
            for label in _CAPPED_LABELS:
                value = getattr(event, "agent_id" if label == "agent" else label, None)
                if isinstance(value, str) and value and value not in self._admitted[label]:
                    wanted[label].add(value)
        for label, values in wanted.items():
            ordered = sorted(values)
            reply = await self._scripts.admit_labels(
                keys=[self._keys.labels(label)], args=[self._settings.label_cap, *ordered]
            )
            self._admitted[label].update(v for v, ok in zip(ordered, reply, strict=True) if int(ok))

    def _cap(self, label: str, value: str) -> str:
        if FIELD_SEP in value or PARK_SEP in value:
            return OTHER_VALUE
        return value if value in self._admitted[label] else OTHER_VALUE

    async def _register_partition(self, partition: int) -> None:
        if partition not in self._known_partitions:
            await self._redis.sadd(self._keys.partitions(), str(partition))
            self._known_partitions.add(partition)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


__all__ = ["MESSAGE_TOPICS", "ApplyResult", "StoreWriter"]
