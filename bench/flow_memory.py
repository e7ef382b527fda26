"""Redis bytes of the daily balance flows (issue #21): per (tenant, currency, day) and a year.

Plans account events with the worker's own planning code (``store.effects.plan_partition``,
so the keys, fields and TTLs are the service's) and applies the plan's operations to a
Redis of your choice under a fresh prefix: each day of a year, each tenant and currency
gets a placement (S) and a payment (R and cash), one partition. Then it reports
``MEMORY USAGE`` (SAMPLES 0) of the flow hashes and the ``used_memory`` they added, and
what an account hash holds for its flow history (the last 8 versions) after 1, 8 and
30 versions, against the same hash without the history fields.

    redis-server --port 6399 --save '' --appendonly no &
    .venv/bin/python bench/flow_memory.py --redis redis://127.0.0.1:6399/0
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from redis.asyncio import Redis

from collectpulse.events.decode import decode
from collectpulse.events.models import Topic
from collectpulse.store.context import Record, Snapshot, Timing
from collectpulse.store.effects import plan_partition
from collectpulse.store.keys import Keys

DAY_S = 86_400
P = 0


def _event(aid: str, version: int, at: datetime, balance: int, delta: int, **more: Any) -> bytes:
    body = {
        "event_id": f"{aid}-v{version}",
        "occurred_at": at.isoformat(),
        "account_id": aid,
        "customer_id": f"c-{aid}",
        "change": "placed" if version == 1 else "payment",
        "version": version,
        "balance_minor": balance,
        "delta_minor": delta,
        "currency": "EUR",
        "due_date": "2027-01-01",
        "status": "open",
        **more,
    }
    return orjson.dumps(body)


def _ops(
    keys: Keys, timing: Timing, raws: list[bytes], accounts: dict[str, dict[str, str]]
) -> list[list[str]]:
    records = [
        Record(i, raw, decode(Topic.ACCOUNT, raw, max_bytes=65536)) for i, raw in enumerate(raws)
    ]
    plan = plan_partition(
        partition=P,
        events=[(Topic.ACCOUNT, records)],
        touches=[],
        snapshot=Snapshot("0", accounts=accounts),
        keys=keys,
        timing=timing,
        cap=lambda _, value: value,
    )
    return plan.operations()


async def _apply(redis: Redis, ops: list[list[str]], only: str) -> None:
    pipe = redis.pipeline(transaction=False)
    for name, key, *args in ops:
        if only not in key:
            continue
        if name in ("HINCRBYS", "HINCRBYS_NET"):
            for field, amount in zip(args[::2], args[1::2], strict=True):
                pipe.hincrby(key, field, int(amount))
        elif name == "HSET":
            pipe.hset(key, mapping=dict(zip(args[::2], args[1::2], strict=True)))
        elif name == "EXPIRE":
            pipe.expire(key, int(args[0]))
    await pipe.execute()


async def flows(redis: Redis, tenants: int, currencies: int, days: int) -> None:
    keys = Keys(f"bench-flow-{uuid.uuid4().hex[:8]}")
    now = datetime(2027, 6, 1, 12, tzinfo=UTC)
    timing = Timing(int(now.timestamp()), 60, 14 * DAY_S, 7 * DAY_S, 7 * DAY_S, 65536)
    before = int((await redis.info("memory"))["used_memory"])
    raws = []
    for d in range(days):
        at = now - timedelta(days=d)
        for t in range(tenants):
            for c in range(currencies):
                aid = f"a{d}-{t}-{c}"
                cur = ("EUR", "USD", "GBP", "CHF", "PLN")[c]
                more = {"tenant": f"tenant-{t:02d}", "currency": cur}
                raws.append(_event(aid, 1, at, 1_234_500, 1_234_500, **more))
                raws.append(_event(aid, 2, at, 234_500, -1_000_000, **more))
    for start in range(0, len(raws), 4000):
        await _apply(redis, _ops(keys, timing, raws[start : start + 4000], {}), ":flow:")
    flow_keys = [k async for k in redis.scan_iter(match=f"{keys.prefix}:*:flow:*", count=1000)]
    pipe = redis.pipeline(transaction=False)
    for key in flow_keys:
        pipe.memory_usage(key, samples=0)
    usage = sum(int(n or 0) for n in await pipe.execute())
    added = int((await redis.info("memory"))["used_memory"]) - before
    buckets = days * tenants * currencies
    print(
        f"flows {tenants} tenant(s) x {currencies} currenc(ies) x {days} days, 1 partition: "
        f"{len(flow_keys)} keys, MEMORY USAGE {usage:,} B ({usage / buckets:.1f} B per "
        f"tenant-currency-day, {usage / len(flow_keys):.0f} B per day key); used_memory "
        f"+{added:,} B ({added / buckets:.1f} B per tenant-currency-day)"
    )
    await redis.delete(*flow_keys)


async def history(redis: Redis) -> None:
    keys = Keys(f"bench-hist-{uuid.uuid4().hex[:8]}")
    now = datetime(2027, 6, 1, 12, tzinfo=UTC)
    timing = Timing(int(now.timestamp()), 60, 14 * DAY_S, 7 * DAY_S, 7 * DAY_S, 65536)
    key = keys.account(P, "acct-000123456")
    for versions in (1, 8, 30):
        await redis.delete(key)
        state: dict[str, str] = {}
        for v in range(1, versions + 1):
            at = now - timedelta(hours=versions - v)
            delta = 1_000_000 if v == 1 else -1
            raw = _event("acct-000123456", v, at, 1_000_001 - v, delta)
            ops = _ops(keys, timing, [raw], {"acct-000123456": state})
            await _apply(redis, ops, ":acct:")
            state = {k.decode(): x.decode() for k, x in (await redis.hgetall(key)).items()}
        full = int(await redis.memory_usage(key, samples=0) or 0)
        await redis.hdel(key, "fh", "fx")
        bare = int(await redis.memory_usage(key, samples=0) or 0)
        print(
            f"account hash after {versions} version(s): {full} B with the flow history, "
            f"{bare} B without: +{full - bare} B per account"
        )
    await redis.delete(key)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6399/0")
    args = parser.parse_args()
    redis = Redis.from_url(args.redis)
    try:
        for tenants, currencies in ((1, 1), (1, 3), (10, 3)):
            await flows(redis, tenants, currencies, 365)
        await history(redis)
    finally:
        await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main())
