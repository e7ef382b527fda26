"""The session's real Redis Cluster (3 masters + 3 replicas) and what tests do to it:
find a slot's master, migrate a slot, kill a master with SIGKILL and bring it back.

Started by the project's own code (``collectpulse.localstack.redis_cluster``) on free
ports; only tests that ask for the ``redis_cluster`` fixture pay for it.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import redis
from redis.crc import key_slot

from collectpulse.localstack import redis_cluster
from collectpulse.localstack.redis_cluster import Node
from collectpulse.localstack.settings import LocalStackSettings
from tests.support.local_stack import own_stack_settings


@dataclass(frozen=True)
class Cluster:
    cfg: LocalStackSettings

    @property
    def url(self) -> str:
        return redis_cluster.url(self.cfg)

    def nodes(self) -> list[Node]:
        return redis_cluster.nodes(self.cfg)

    def node(self, port: int) -> Node:
        return next(n for n in self.nodes() if n.port == port)

    def master_of(self, slot: int) -> int:
        """Port of the master serving ``slot`` (asked of any live node)."""
        for node in self.nodes():
            try:
                with _client(node.port) as c:
                    for start, end, master, *_ in cast(Any, c).execute_command("CLUSTER SLOTS"):
                        if int(start) <= slot <= int(end):
                            return int(master[1])
            except redis.ConnectionError:
                continue
        raise AssertionError(f"no live node knows slot {slot}")

    def masters(self) -> list[int]:
        with _client(self.nodes()[0].port) as c:
            slots = cast(Any, c).execute_command("CLUSTER SLOTS")
        return sorted({int(master[1]) for _, _, master, *_ in slots})

    def wait_ok(self, timeout_s: float = 60.0) -> None:
        """Every live node reports cluster_state:ok and every slot covered."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            states = []
            for node in self.nodes():
                try:
                    with _client(node.port) as c:
                        states.append(_info(c))
                except redis.ConnectionError:
                    continue
            if states and all(
                s.get("cluster_state") == "ok" and s.get("cluster_slots_ok") == "16384"
                for s in states
            ):
                return
            time.sleep(0.2)
        raise AssertionError("the cluster did not become ok in time")

    def kill(self, port: int) -> None:
        """SIGKILL one node (no shutdown, no last AOF fsync)."""
        pid = int(self.node(port).pid_file.read_text())
        os.kill(pid, signal.SIGKILL)

    def restart(self, port: int) -> None:
        """Start a killed node again: it rejoins from its nodes.conf (as a replica)."""
        redis_cluster.start_node(self.node(port))

    def migrate_slot(self, slot: int, to_port: int) -> int:
        """Move ``slot`` and its keys to the master on ``to_port``, as ``redis-cli --cluster
        reshard`` does (IMPORTING / MIGRATING, MIGRATE in batches, SETSLOT NODE); returns
        the number of keys moved."""
        from_port = self.master_of(slot)
        assert from_port != to_port
        moved = 0
        with _client(from_port) as src, _client(to_port) as dst:
            src_id, dst_id = _myid(src), _myid(dst)
            cast(Any, dst).execute_command("CLUSTER SETSLOT", slot, "IMPORTING", src_id)
            cast(Any, src).execute_command("CLUSTER SETSLOT", slot, "MIGRATING", dst_id)
            while True:
                keys = cast(Any, src).execute_command("CLUSTER GETKEYSINSLOT", slot, 200)
                if not keys:
                    break
                cast(Any, src).execute_command(
                    "MIGRATE", "127.0.0.1", to_port, "", 0, 10_000, "KEYS", *keys
                )
                moved += len(keys)
            for port in self.masters():
                with _client(port) as c:
                    cast(Any, c).execute_command("CLUSTER SETSLOT", slot, "NODE", dst_id)
        return moved


def slot_of(key: str) -> int:
    return int(key_slot(key.encode()))


def _client(port: int) -> redis.Redis:
    return redis.Redis(port=port, socket_connect_timeout=1, socket_timeout=15)


def _myid(client: redis.Redis) -> str:
    raw = cast(Any, client).execute_command("CLUSTER MYID")
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _info(client: redis.Redis) -> dict[str, str]:
    reply = cast(Any, client).execute_command("CLUSTER INFO")
    return {str(k): str(v) for k, v in dict(reply).items()}


def free_port_block(count: int, *, low: int = 20000, high: int = 29000) -> int:
    """A base port with ``count`` consecutive free ports (bound and released at once)."""
    base = low + (os.getpid() * 37) % (high - low)
    for _ in range(200):
        socks = []
        try:
            for i in range(count):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", base + i))
            return base
        except OSError:
            base = low + (base - low + count + 13) % (high - low)
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no block of free ports found")


@contextmanager
def session_cluster() -> Iterator[Cluster]:
    """A fresh cluster on free ports with its own data dirs; stopped and removed at exit."""
    base = free_port_block(redis_cluster.NODES)
    bus = free_port_block(redis_cluster.NODES, low=30000, high=39000)
    with own_stack_settings(
        "test-cluster-", redis_cluster_port=base, redis_cluster_bus_port=bus
    ) as cfg:
        try:
            redis_cluster.start(cfg)
            yield Cluster(cfg)
        finally:
            redis_cluster.stop_cluster(cfg, timeout_s=0.0)  # its data dirs are deleted next
