"""The Lua scripts under ``store/lua``, called by EVALSHA on a single node or a cluster.

Every script declares all its keys in ``KEYS``, all in one slot (a partition's
``{pN}``, or ``{labels}``), so a cluster routes each call to the node owning
that slot. A direct call (``Scripts.read(...)``) is redis-py's ``AsyncScript``:
on NOSCRIPT it runs SCRIPT LOAD (on a cluster: on every primary) and retries.
Pipelined calls (:meth:`Scripts.pipelined`) go by ``EVALSHA`` as raw commands,
because a cluster pipeline refuses ``evalsha``; a NOSCRIPT there (a fresh or
promoted node) loads every script on every primary and runs the pipeline again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from collectpulse.store.client import StoreClient, StorePipeline


def _source(name: str) -> str:
    return resources.files("collectpulse.store").joinpath(f"lua/{name}.lua").read_text()


class Scripts:
    """EVALSHA wrappers for one client; scripts are (re)loaded wherever NOSCRIPT says."""

    def __init__(self, client: StoreClient) -> None:
        self._client = client
        self.read: AsyncScript = client.register_script(_source("read"))
        self.write: AsyncScript = client.register_script(_source("write"))
        self.sum_buckets: AsyncScript = client.register_script(_source("sum_buckets"))
        self.sum_since: AsyncScript = client.register_script(_source("sum_since"))
        self.admit_labels: AsyncScript = client.register_script(_source("admit_labels"))

    @staticmethod
    def queue(
        pipe: StorePipeline, script: AsyncScript, keys: Sequence[str], args: Sequence[Any]
    ) -> None:
        """Add one EVALSHA of ``script`` to ``pipe`` (routed by ``keys`` on a cluster)."""
        pipe.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)

    async def pipelined(self, fill: Callable[[StorePipeline], None]) -> list[Any]:
        """Run the pipeline ``fill`` builds; on NOSCRIPT load the scripts and run it again.

        Only for pipelines that may run twice: reads, or a write whose NOSCRIPT means
        it did not run (a script call either runs or is refused whole).
        """
        for attempt in range(2):
            pipe = self._client.pipeline(transaction=False)
            fill(pipe)
            try:
                return await pipe.execute()
            except NoScriptError:
                if attempt:
                    raise
                await self.load()
        raise AssertionError("unreachable")

    async def load(self) -> None:
        """SCRIPT LOAD every script (a cluster client sends it to every primary)."""
        for script in (self.read, self.write, self.sum_buckets, self.sum_since, self.admit_labels):
            await self._client.script_load(script.script)
