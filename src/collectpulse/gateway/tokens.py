"""Mailgun token replay protection on Redis: a token is accepted the first time only.

Shared by every gateway behind a load balancer (the gateways are otherwise
stateless), so a replay refused by one is refused by all. ``SET NX EX`` makes
the check and the record one atomic command; the token is stored as its
SHA-256 so a key's length does not depend on what a caller sent.

A token recorded for a request that is then answered 503 (Kafka did not take
it) must not refuse Mailgun's retry of that same request, or the event would
be lost: the tokens a request recorded are remembered in its context
(``begin``) and released again (``release_claimed``) when it was not published.
"""

from __future__ import annotations

import contextvars
import hashlib

from collectpulse.store.client import StoreClient
from collectpulse.store.keys import Keys

_claimed: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "gateway_claimed_tokens", default=None
)


class RedisTokenStore:
    """``TokenStore`` (gateway.verify.base) on Redis; Redis errors propagate (the server
    answers 503 for them, so the provider retries)."""

    def __init__(self, redis: StoreClient, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    def begin(self) -> None:
        """Start remembering the tokens recorded by the current request (its task)."""
        _claimed.set([])

    async def first_use(self, token: str, ttl_s: int) -> bool:
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
        key = self._keys.mailgun_token(digest)
        created = bool(await self._redis.set(key, b"1", nx=True, ex=ttl_s))
        claimed = _claimed.get()
        if created and claimed is not None:
            claimed.append(key)
        return created

    async def release_claimed(self) -> None:
        """Forget the tokens the current request recorded, so its retry is accepted."""
        claimed = _claimed.get()
        if claimed:
            await self._redis.delete(*claimed)
            claimed.clear()
