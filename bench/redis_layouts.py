"""What the two largest per-message key families would cost in a packed layout.

Reads the message hashes (``m``) and dedupe sets (``seen``) of a store filled by
``bench/store_path.py`` and writes the same content, under a ``layout:`` prefix in
the same Redis, in the layout issue #19's next step proposes, then compares
``MEMORY USAGE`` (SAMPLES 0) and the ``used_memory`` each adds:

- messages: one listpack hash per partition and bucket of the message id
  (field = message id, value = the message's fields packed in one string, the
  funnel dimensions replaced by a per-partition number), instead of a key per message;
- dedupe: one listpack hash per partition, topic, day and bucket of a 12-byte
  BLAKE2b digest of the event id (field = the digest), instead of one set of ids.

Buckets are sized to keep every hash under Redis' default ``hash-max-listpack-entries``
(128). A measurement of the layout only: nothing here is used by the service.

    .venv/bin/python bench/store_path.py --events 200000 --redis redis://127.0.0.1:29581/0
    .venv/bin/python bench/redis_layouts.py --redis redis://127.0.0.1:29581/0 --prefix bench
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import zlib
from collections import defaultdict

from redis.asyncio import Redis
from redis_memory import kind_of  # bench/redis_memory.py

PER_BUCKET = 64  # average entries per bucket hash; a 4x margin to 128 for skew


async def _keys(redis: Redis, prefix: str, kind: str) -> list[str]:
    return [k.decode() async for k in redis.scan_iter(match=f"{prefix}:*", count=5000)
            if kind_of(k.decode()) == kind]  # fmt: skip


async def _usage(redis: Redis, keys: list[str]) -> int:
    total = 0
    for start in range(0, len(keys), 2000):
        pipe = redis.pipeline(transaction=False)
        for key in keys[start : start + 2000]:
            pipe.memory_usage(key, samples=0)
        total += sum(int(n or 0) for n in await pipe.execute())
    return total


async def _used(redis: Redis) -> int:
    return int((await redis.info("memory"))["used_memory"])


async def messages(redis: Redis, prefix: str) -> None:
    keys = await _keys(redis, prefix, "m")
    pipe = redis.pipeline(transaction=False)
    for key in keys:
        pipe.hgetall(key)
    states = await pipe.execute()
    dims: dict[tuple[str, bytes], int] = {}
    packed: dict[str, dict[str, bytes]] = defaultdict(dict)
    buckets = max(1, len(keys) // 8 // PER_BUCKET)  # per partition (8 in store_path)
    for key, state in zip(keys, states, strict=True):
        tag, _, message_id = key.partition(":m:")
        # send time, dimensions' number and customer by position, then the other fields
        state = dict(state)
        head = [
            state.pop(b"t", b""),
            b"%d" % dims.setdefault((tag, state.pop(b"d", b"")), len(dims)),
        ]
        head.append(state.pop(b"c", b""))
        value = b"\x1f".join(head + [k + b"=" + v for k, v in sorted(state.items())])
        bucket = zlib.crc32(message_id.encode()) % buckets
        packed[f"layout:{tag}:mb:{bucket}"][message_id] = value
    copied = await _write(redis, {f"layout:{k}": s for k, s in zip(keys, states, strict=True)})
    added = await _write(redis, packed)
    now = await _usage(redis, keys)
    new = await _usage(redis, list(packed))
    n = len(keys)
    print(f"messages {n:,}: a key each {now / n:.0f} B (MEMORY USAGE), used_memory "
          f"{copied / n:.0f} B; packed in {len(packed):,} hashes {new / n:.0f} B, used_memory "
          f"{added / n:.0f} B; {len(dims):,} distinct dimensions")  # fmt: skip


async def _write(
    redis: Redis, hashes: dict[str, dict[str, bytes]] | dict[str, dict[bytes, bytes]]
) -> int:
    """Write ``hashes`` (each with a TTL, as the store's keys have); the used_memory they add."""
    before = await _used(redis)
    items = list(hashes.items())
    for start in range(0, len(items), 2000):
        pipe = redis.pipeline(transaction=False)
        for key, fields in items[start : start + 2000]:
            pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
            pipe.expire(key, 14 * 86_400)
        await pipe.execute()
    return await _used(redis) - before


async def dedupe(redis: Redis, prefix: str) -> None:
    keys = await _keys(redis, prefix, "seen")
    ids = 0
    packed: dict[str, dict[bytes, bytes]] = defaultdict(dict)
    copied = 0
    for key in keys:
        members = await redis.smembers(key)
        before = await _used(redis)
        await redis.sadd(f"layout:{key}", *members)
        await redis.expire(f"layout:{key}", 8 * 86_400)
        copied += await _used(redis) - before
        ids += len(members)
        buckets = max(1, len(members) // PER_BUCKET)
        for member in members:
            digest = hashlib.blake2b(member, digest_size=12).digest()
            bucket = int.from_bytes(digest[:4], "big") % buckets
            packed[f"layout:{key}:{bucket}"][digest] = b""
    added = await _write(redis, packed)
    now = await _usage(redis, keys)
    new = await _usage(redis, list(packed))
    print(f"event ids {ids:,}: sets {now / ids:.1f} B per id (MEMORY USAGE), used_memory "
          f"{copied / ids:.1f} B; digests in {len(packed):,} hashes {new / ids:.1f} B, "
          f"used_memory {added / ids:.1f} B")  # fmt: skip


async def run(args: argparse.Namespace) -> None:
    redis = Redis.from_url(args.redis)
    try:
        await messages(redis, args.prefix)
        await dedupe(redis, args.prefix)
    finally:
        async for key in redis.scan_iter(match="layout:*", count=5000):
            await redis.unlink(key)
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", required=True)
    parser.add_argument("--prefix", default="bench")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
