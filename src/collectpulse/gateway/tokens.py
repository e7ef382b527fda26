"""Mailgun token replay protection on Redis: a token is accepted the first time only.

Shared by every gateway behind a load balancer (the gateways are otherwise
stateless), so a replay refused by one is refused by all. ``SET NX EX`` makes
the check and the record one atomic command; the token is stored as its
SHA-256 so a key's length does not depend on what a caller sent.
"""

from __future__ import annotations

import hashlib

from redis.asyncio import Redis

from collectpulse.store.keys import Keys


class RedisTokenStore:
    """``TokenStore`` (gateway.verify.base) on Redis; Redis errors propagate (the server
    answers 503 for them, so the provider retries)."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def first_use(self, token: str, ttl_s: int) -> bool:
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
        created = await self._redis.set(self._keys.mailgun_token(digest), b"1", nx=True, ex=ttl_s)
        return bool(created)
