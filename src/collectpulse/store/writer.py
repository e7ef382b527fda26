"""Apply a partition's records to Redis exactly once: read snapshot, plan, guarded write.

Two round trips per partition apply, none per event: one read.lua call for the
partition's version, applied offsets, seen event ids and joined message or
customer states, then one write.lua call that applies the plan only if the
version is unchanged and every stream's records are past its applied offset
(kpi-catalog section 6). One apply covers every topic of the partition the
caller has records for (the canonical topics and the customer-touch topic
share partition numbers and the ``{pN}`` slot), so a live stream's small
batches share the round trips. Repartition records the plan produces
(``store.touches``) are published, and acknowledged by the broker, before
that write.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import orjson

from collectpulse.events.models import Topic
from collectpulse.settings import Settings, duration_s
from collectpulse.store.client import StoreClient
from collectpulse.store.context import Record, Snapshot, Timing
from collectpulse.store.effects import plan_orphans, plan_partition
from collectpulse.store.errors import WriteConflict
from collectpulse.store.keys import Keys
from collectpulse.store.label_slots import LabelSlots
from collectpulse.store.plan import WritePlan
from collectpulse.store.read_set import Wanted, add_wanted
from collectpulse.store.replication import ReplicatedWrites
from collectpulse.store.replies import text as _text
from collectpulse.store.scripts import Scripts
from collectpulse.store.touches import TOUCH_TOPIC, Touch, decode_touches

MAX_ATTEMPTS = 20

Stale = Mapping[str, int]
"""Stream -> how many of its leading records are at or before the applied offset."""

Publish = Callable[[Sequence[tuple[bytes, bytes]]], Awaitable[None]]
"""Publishes repartition records and returns once the broker has acknowledged them."""


@dataclass(frozen=True, slots=True)
class ApplyResult:
    applied: int
    """Records past the applied offset whose effects were written."""
    skipped: int
    """Records at or before the applied offset (a redelivery): no effect."""


class StoreWriter:
    """Writes batches of decoded records for the partitions this process owns.

    Without ``publish`` the repartition records are not sent, so payment
    attribution and conversion by source stay empty (tests of the message
    join alone use that).
    """

    def __init__(
        self,
        client: StoreClient,
        settings: Settings,
        *,
        publish: Publish | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self._settings = settings
        self._keys = Keys(settings.key_prefix)
        self._scripts = Scripts(client)
        self._replicated = ReplicatedWrites(
            client, replicas=settings.redis_wait_for, timeout_ms=settings.redis_wait_timeout_ms
        )
        self._publish = publish
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._labels = LabelSlots(client, settings, self._keys, self._scripts, clock)
        self._known_partitions: set[int] = set()
        self._clock = clock

    @property
    def keys(self) -> Keys:
        return self._keys

    @property
    def wait_timeouts(self) -> int:
        """Writes whose WAIT for replicas timed out (store.replication)."""
        return self._replicated.timeouts

    async def applied_offsets(self, partition: int) -> dict[str, int]:
        """Stream -> last applied offset for ``partition``: where a new owner resumes."""
        raw = await self._redis.hgetall(self._keys.offsets(partition))
        return {_text(k): int(v) for k, v in raw.items()}

    async def apply(self, topic: Topic, partition: int, records: Sequence[Record]) -> ApplyResult:
        """Apply canonical ``records`` (one Kafka partition, offset order) exactly once."""
        return await self.apply_partition(partition, {topic: records})

    async def apply_touches(
        self, partition: int, records: Sequence[tuple[int, bytes | None]]
    ) -> ApplyResult:
        """Apply repartition records ``(offset, value)`` of customer touches exactly once."""
        return await self.apply_partition(partition, {}, records)

    async def apply_partition(
        self,
        partition: int,
        events: Mapping[Topic, Sequence[Record]],
        touches: Sequence[tuple[int, bytes | None]] = (),
    ) -> ApplyResult:
        """Apply one partition's records of several topics exactly once, in one write.

        ``events`` holds each canonical topic's decoded records and ``touches`` the
        customer-touch records ``(offset, value)``, each in offset order.
        """
        parts = {topic: records for topic, records in events.items() if records}
        offsets = {topic.value: [r.offset for r in records] for topic, records in parts.items()}
        if touches:
            offsets[TOUCH_TOPIC] = [o for o, _ in touches]
        if not offsets:
            return ApplyResult(0, 0)
        wanted = Wanted()
        for topic, records in parts.items():
            add_wanted(wanted, topic, partition, records, self._keys)
        per_touch = [decode_touches(value) for _, value in touches]
        for ts in per_touch:
            wanted.customers.update((t.customer_id, None) for t in ts if t is not None)

        def plan(snapshot: Snapshot, stale: Stale) -> WritePlan:
            return plan_partition(
                partition=partition,
                events=[(topic, records[stale[topic.value] :]) for topic, records in parts.items()],
                touches=[t for ts in per_touch[stale.get(TOUCH_TOPIC, 0) :] for t in ts],
                snapshot=snapshot,
                keys=self._keys,
                timing=self._timing(),
                cap=self._labels.cap,
                agent_cap=self._labels.cap_agent,
            )

        await self._labels.admit(chain.from_iterable(parts.values()))
        return await self._apply(partition, offsets, wanted, plan)

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
            status = await self._write(partition, plan, _text(version or b"0"), {})
            return sum(len(v) for v in lists) if status == 1 else 0

    async def _apply(
        self,
        partition: int,
        offsets: Mapping[str, Sequence[int]],
        wanted: Wanted,
        plan: Callable[[Snapshot, Stale], WritePlan],
    ) -> ApplyResult:
        await self._register_partition(partition)
        total = sum(len(o) for o in offsets.values())
        async with self._locks[partition]:
            for _ in range(MAX_ATTEMPTS):
                snapshot = await self._read(partition, wanted)
                applied = snapshot.applied
                # records at or before their stream's applied offset are a redelivery
                stale = {
                    stream: sum(1 for o in offs if o <= applied.get(stream, -1))
                    for stream, offs in offsets.items()
                }
                fresh = {
                    stream: offs[-1]
                    for stream, offs in offsets.items()
                    if stale[stream] < len(offs)
                }
                skipped = sum(stale.values())
                if not fresh:
                    return ApplyResult(0, skipped)
                planned = plan(snapshot, stale)
                misses = self._labels.take_misses()
                if misses:
                    # a payment credited to its account's assignee named an agent this
                    # worker has not asked the slots about: ask, then plan again
                    await self._labels.admit_agents(misses)
                    planned = plan(snapshot, stale)
                if planned.outbox and self._publish is not None:
                    await self._publish(planned.outbox)
                # without streams write.lua neither checks nor records an offset
                guarded = {} if self._settings.unsafe_test_disable_offset_guard else fresh
                status = await self._write(partition, planned, snapshot.version, guarded)
                if status == 1:
                    return ApplyResult(total - skipped, skipped)
                # 0: another writer got there first (-1, a stream's offset moved, implies
                # that too): read again and plan only what is still new
            raise WriteConflict(f"partition {partition}: version kept changing; gave up")

    def _timing(self) -> Timing:
        s = self._settings
        now = self._clock()
        return Timing(
            now_s=int(now),
            now_ms=int(now * 1000),
            bucket_s=s.bucket_s,
            retention_s=s.retention_s,
            fine_ttl_s=max(s.windows_s.values()),
            dedupe_horizon_s=duration_s(s.dedupe_horizon),
            max_event_bytes=s.max_event_bytes,
            attribution_s=duration_s(s.attribution_window),
            struggling_min_failures=s.struggling_min_failures,
            max_parked_per_message=s.max_parked_per_message,
            max_parked_messages=s.max_parked_messages,
            max_customer_messages=s.max_customer_messages,
            engagement_s=duration_s(s.engagement_history),
            experiment_horizon_s=duration_s(s.experiment_horizon),
            tenant_zones=s.tenant_time_zones,
            default_zone=s.default_time_zone,
        )

    async def _write(
        self, partition: int, plan: WritePlan, version: str, offsets: Mapping[str, int]
    ) -> int:
        head = [self._keys.version(partition), self._keys.offsets(partition)]
        # offsets as strings: Lua numbers are doubles, printed as 1e+14 past 14 digits
        guard = orjson.dumps([[stream, str(offset)] for stream, offset in offsets.items()])
        keys, ops = plan.encode(first=len(head) + 1)
        reply = await self._replicated.run(
            self._scripts, self._scripts.write, [*head, *keys], [version, guard, ops]
        )
        return int(reply[0])

    async def _read(self, partition: int, wanted: Wanted) -> Snapshot:
        """One read.lua call: version first, then everything the plan needs.

        The snapshot holds the applied offset per stream and the wanted event
        ids already seen per topic. Any write after this read bumps the version,
        so write.lua rejects a plan built on states that changed under it.
        """
        k = self._keys
        declared = _KeyList([k.version(partition), k.offsets(partition)])
        at = declared.index
        message_keys = [k.message(partition, mid) for mid in wanted.messages]
        customer_keys = [k.customer(partition, cid) for cid in wanted.customers]
        account_keys = [k.account(partition, aid) for aid in wanted.accounts]
        seen_sets = [
            (topic, key, ids)
            for topic, by_key in wanted.seen.items()
            for key, ids in by_key.items()
        ]
        request: dict[str, Any] = {
            "seen": [[at(key), ids] for _, key, ids in seen_sets],
            "hashes": [at(key) for key in (*message_keys, *customer_keys, *account_keys)],
        }
        if wanted.sent:
            parked = [[mid, at(k.park(partition, mid))] for mid in dict.fromkeys(wanted.sent)]
            request["parked"] = [at(k.parked(partition)), parked]
        if wanted.may_park:
            index = {mid: i for i, mid in enumerate(wanted.messages, start=1)}
            request["park_len"] = [
                at(k.parked(partition)),
                [[index[mid], at(k.park(partition, mid)), mid] for mid in wanted.may_park],
            ]
        script = self._scripts.read
        raw = await script(keys=declared.keys, args=[orjson.dumps(request)])
        reply = orjson.loads(raw)
        seen: dict[str, set[str]] = {topic: set() for topic in wanted.seen}
        for (topic, _, ids), flags in zip(seen_sets, _as_list(reply["seen"]), strict=True):
            seen[topic].update(i for i, hit in zip(ids, _as_list(flags), strict=True) if hit)
        if self._settings.unsafe_test_disable_dedupe:
            seen = {topic: set() for topic in seen}
        hashes = [_pairs(h) for h in _as_list(reply["hashes"])]
        n_messages, n_customers = len(message_keys), len(customer_keys)
        n_people = n_messages + n_customers
        return Snapshot(
            version=str(reply["ver"]),
            applied={stream: int(offset) for stream, offset in _pairs(reply["off"]).items()},
            seen={topic: frozenset(ids) for topic, ids in seen.items()},
            messages=dict(zip(wanted.messages, hashes[:n_messages], strict=True)),
            parked={
                mid: [e.encode() for e in entries] for mid, entries in _as_list(reply["parked"])
            },
            customers=dict(zip(wanted.customers, hashes[n_messages:n_people], strict=True)),
            accounts=dict(zip(wanted.accounts, hashes[n_people:], strict=True)),
            parked_count=int(reply.get("parked_count", 0)),
            park_lengths={mid: int(n) for mid, n in _as_list(reply.get("park_len"))},
        )

    async def _register_partition(self, partition: int) -> None:
        if partition not in self._known_partitions:
            await self._redis.sadd(self._keys.partitions(), str(partition))
            self._known_partitions.add(partition)


class _KeyList:
    """The KEYS of one script call, each once; ``index`` is a key's 1-based position."""

    def __init__(self, head: Sequence[str]) -> None:
        self.keys = list(head)
        self._at = {key: i for i, key in enumerate(self.keys, start=1)}

    def index(self, key: str) -> int:
        at = self._at.get(key)
        if at is None:
            self.keys.append(key)
            at = self._at[key] = len(self.keys)
        return at


def _as_list(value: Any) -> list[Any]:
    # cjson encodes an empty Lua table as {}: read it as an empty list
    return value if isinstance(value, list) else []


def _pairs(flat: Any) -> dict[str, str]:
    if not isinstance(flat, list):
        return {}
    return dict(zip(flat[::2], flat[1::2], strict=True))


__all__ = ["ApplyResult", "Publish", "StoreWriter", "Touch"]
