"""The Lua scripts under ``store/lua``, loaded once per client (SCRIPT LOAD / EVALSHA)."""

from __future__ import annotations

from importlib import resources

from redis.asyncio import Redis
from redis.commands.core import AsyncScript


def _source(name: str) -> str:
    return resources.files("collectpulse.store").joinpath(f"lua/{name}.lua").read_text()


class Scripts:
    """EVALSHA wrappers; redis-py re-loads a script the server has forgotten (NOSCRIPT)."""

    def __init__(self, client: Redis) -> None:
        self.read: AsyncScript = client.register_script(_source("read"))
        self.write: AsyncScript = client.register_script(_source("write"))
        self.sum_buckets: AsyncScript = client.register_script(_source("sum_buckets"))
        self.admit_labels: AsyncScript = client.register_script(_source("admit_labels"))
