"""Read a test's Redis keys back (SCAN on its own key prefix; fine in a test, never in src)."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis


async def keys_under(client: Redis, prefix: str) -> set[str]:
    """Every key of the test's key prefix."""
    found: set[str] = set()
    async for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        found.add(key.decode() if isinstance(key, bytes) else key)
    return found


async def dump(client: Redis, prefix: str) -> dict[str, Any]:
    """Key -> comparable value, for asserting that an operation changed nothing."""
    out: dict[str, Any] = {}
    for key in sorted(await keys_under(client, prefix)):
        kind = (await client.type(key)).decode()
        if kind == "hash":
            out[key] = await client.hgetall(key)
        elif kind == "set":
            out[key] = await client.smembers(key)
        elif kind == "list":
            out[key] = await client.lrange(key, 0, -1)
        elif kind == "zset":
            out[key] = await client.zrange(key, 0, -1, withscores=True)
        else:
            out[key] = await client.get(key)
    return out
