"""HTTP basic auth against bcrypt hashes, for every endpoint of the exporter.

bcrypt is slow on purpose (tens of milliseconds per check), so checks run in a
thread and a successful (user, password) pair is remembered by its SHA-256,
as Prometheus' exporter-toolkit does; a scrape every 15 s then costs one
hash, not one bcrypt. Unknown users are checked against a dummy hash so
the answer time does not reveal which user names exist.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from collections.abc import Awaitable, Callable, Mapping
from functools import cache

import bcrypt
from aiohttp import web

REALM = "collectpulse"
MAX_REMEMBERED = 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BasicAuth:
    """Checks ``Authorization: Basic`` headers against ``users`` (name -> bcrypt hash)."""

    def __init__(self, users: Mapping[str, bytes]) -> None:
        self._users = dict(users)
        self._remembered: set[bytes] = set()

    async def allows(self, header: str | None) -> bool:
        credentials = _parse(header)
        if credentials is None:
            return False
        user, password = credentials
        hashed = self._users.get(user)
        fingerprint = hashlib.sha256(b"\0".join((user.encode(), password, hashed or b""))).digest()
        if hashed is not None and fingerprint in self._remembered:
            return True
        ok = await asyncio.to_thread(_checkpw, password, hashed or _dummy_hash())
        if not (ok and hashed is not None):
            return False
        if len(self._remembered) >= MAX_REMEMBERED:
            self._remembered.clear()
        self._remembered.add(fingerprint)
        return True

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if await self.allows(request.headers.get("Authorization")):
            return await handler(request)
        raise web.HTTPUnauthorized(
            text="authentication required\n",
            headers={"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'},
        )


@cache
def _dummy_hash() -> bytes:
    # Same cost as a typical htpasswd -B hash; the password is not one anybody uses.
    return bcrypt.hashpw(b"no such user", bcrypt.gensalt(rounds=10))


def _checkpw(password: bytes, hashed: bytes) -> bool:
    try:
        return bcrypt.checkpw(password, hashed)
    except ValueError:  # a malformed stored hash refuses, it does not crash the request
        return False


def basic_credentials(header: str | None) -> tuple[bytes, bytes] | None:
    """(user, password) of an ``Authorization: Basic`` header; None if absent or unreadable."""
    if not header:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(b":")
    return (user, password) if sep else None


def _parse(header: str | None) -> tuple[str, bytes] | None:
    credentials = basic_credentials(header)
    if credentials is None:
        return None
    try:
        return credentials[0].decode(), credentials[1]
    except UnicodeDecodeError:
        return None


__all__ = ["BasicAuth", "basic_credentials"]
