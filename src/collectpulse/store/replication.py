"""A partition's write, and a WAIT for its replicas on the same connection.

Redis replicates asynchronously: a master that dies right after acknowledging a
write may take it with it, and the replica promoted in its place resumes without
it. The worker acknowledges a batch to Kafka only after its write returned, and
a running worker does not re-read the store's offsets, so a write lost that way
would be skipped for good. ``WAIT n timeout`` after the write holds the batch
until ``n`` replicas have it. WAIT counts the replicas that have this
*connection's* last write, so it goes in the same pipeline as the script call (a
cluster pipeline sends one node's commands on one connection), on the node that
owns the partition's slot. A WAIT that times out is counted and logged, not
retried: the batch goes on (a replica that is down must not stop the pipeline);
``collectpulse_worker_redis_wait_timeouts_total`` shows how often it happened.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from redis.asyncio import RedisCluster
from redis.commands.core import AsyncScript

from collectpulse.store.client import StoreClient, StorePipeline
from collectpulse.store.scripts import Scripts

log = logging.getLogger(__name__)


class ReplicatedWrites:
    """Runs write scripts, each followed by ``WAIT replicas timeout_ms`` when replicas > 0."""

    def __init__(self, client: StoreClient, *, replicas: int, timeout_ms: int) -> None:
        self._client = client
        self.replicas = replicas
        self._timeout_ms = timeout_ms
        self.timeouts = 0
        """WAITs that returned fewer replicas than asked for."""

    async def run(
        self, scripts: Scripts, script: AsyncScript, keys: Sequence[str], args: Sequence[Any]
    ) -> Any:
        """``script``'s reply, once ``replicas`` replicas have its write (or the timeout)."""
        target = await self._target(keys[0])

        def fill(pipe: StorePipeline) -> None:
            scripts.queue(pipe, script, keys, args)
            if self.replicas:
                pipe.execute_command("WAIT", self.replicas, self._timeout_ms, **target)

        replies = await scripts.pipelined(fill)
        if self.replicas:
            reached = _count(replies[1])
            if reached < self.replicas:
                self.timeouts += 1
                if self.timeouts == 1 or self.timeouts % 100 == 0:
                    log.warning(
                        "Redis WAIT: %d of %d replicas acknowledged within %d ms "
                        "(%d such writes so far); a failover now could lose this write",
                        reached,
                        self.replicas,
                        self._timeout_ms,
                        self.timeouts,
                    )
        return replies[0]

    async def _target(self, key: str) -> dict[str, Any]:
        """Where WAIT goes: a cluster's master of ``key``'s slot (a single node: itself)."""
        client = self._client
        if not self.replicas or not isinstance(client, RedisCluster):
            return {}
        node = client.get_node_from_key(key)
        if node is None:
            await client.initialize()
            node = client.get_node_from_key(key)
        return {"target_nodes": node}


def _count(reply: Any) -> int:
    # a cluster pipeline may answer a command sent to chosen nodes per node
    if isinstance(reply, dict):
        return min((int(v) for v in reply.values()), default=0)
    return int(reply)
