"""Redis memory by key kind, per tracked message, per customer and per event id.

Reads a store filled by ``bench/store_path.py`` (or any run) and sums
``MEMORY USAGE <key> SAMPLES 0`` (the exact size, every element counted) over
each kind of key of docs/DESIGN.md's layout. The figures feed the capacity model
of docs/SCALING.md.

    .venv/bin/python bench/store_path.py --events 200000 --redis redis://127.0.0.1:29579/0
    .venv/bin/python bench/redis_memory.py --redis redis://127.0.0.1:29579/0 --prefix bench
"""

from __future__ import annotations

import argparse
import asyncio
import re
from collections import Counter

from redis.asyncio import Redis

KIND = re.compile(r"^[^:]+:\{([^}]+)\}:([a-z]+)(?::(\d+))?")
CHUNK = 2000


def kind_of(key: str) -> str:
    """``m``, ``cust``, ``seen``, ``c:60``, ``u:3600``, ... or ``meta``/``labels``."""
    match = KIND.match(key)
    if match is None:
        return "other"
    tag, kind, gran = match.groups()
    if not tag.startswith("p"):
        return tag.split(".")[0]
    return f"{kind}:{gran}" if kind in ("c", "u") and gran else kind


async def measure(redis: Redis, prefix: str) -> tuple[Counter[str], Counter[str], int]:
    """Bytes and keys per kind, and the number of event ids in the dedupe sets."""
    size: Counter[str] = Counter()
    count: Counter[str] = Counter()
    seen_ids = 0
    batch: list[str] = []

    async def flush() -> None:
        nonlocal seen_ids
        pipe = redis.pipeline(transaction=False)
        for key in batch:
            pipe.memory_usage(key, samples=0)
        for key, used in zip(batch, await pipe.execute(), strict=True):
            kind = kind_of(key)
            size[kind] += int(used or 0)
            count[kind] += 1
        seen = [k for k in batch if kind_of(k) == "seen"]
        if seen:
            pipe = redis.pipeline(transaction=False)
            for key in seen:
                pipe.scard(key)
            seen_ids += sum(await pipe.execute())
        batch.clear()

    async for raw in redis.scan_iter(match=f"{prefix}:*", count=5000):
        batch.append(raw.decode())
        if len(batch) >= CHUNK:
            await flush()
    if batch:
        await flush()
    return size, count, seen_ids


async def run(args: argparse.Namespace) -> None:
    redis = Redis.from_url(args.redis)
    try:
        size, count, seen_ids = await measure(redis, args.prefix)
        used = int((await redis.info("memory"))["used_memory"])
    finally:
        await redis.aclose()
    print(f"used_memory {used / 1e6:.1f} MB")
    report(size, count, seen_ids, messages=count["m"])


def report(size: Counter[str], count: Counter[str], seen_ids: int, messages: int) -> None:
    """A markdown table of bytes per kind of key, per key and per tracked message."""
    total = sum(size.values())
    print(f"messages {messages:,}, customers {count['cust']:,}, event ids {seen_ids:,}")
    print(f"keys {sum(count.values()):,} = {total / 1e6:.1f} MB (MEMORY USAGE, summed)")
    print("| kind | keys | MB | bytes per key | bytes per tracked message |")
    print("|---|---:|---:|---:|---:|")
    for kind, nbytes in size.most_common():
        print(
            f"| `{kind}` | {count[kind]:,} | {nbytes / 1e6:.2f} | {nbytes / count[kind]:,.0f} | "
            f"{nbytes / max(messages, 1):,.1f} |"
        )
    print(
        f"| all | {sum(count.values()):,} | {total / 1e6:.2f} | | {total / max(messages, 1):,.1f} |"
    )
    if seen_ids:
        print(f"dedupe: {size['seen'] / seen_ids:.1f} B per event id")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", required=True)
    parser.add_argument("--prefix", default="bench")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
