"""A real Redis Cluster on loopback: 3 masters + 3 replicas, each with its own data dir.

The recipe measured in ../shared/redis-facts.md ("Redis Cluster on this machine"): AOF
``everysec`` as in production, ``cluster-node-timeout`` 5000 ms (promotion after a
master dies takes about 8 s instead of about 22 s with Redis' default 15000 ms).
Node ``i`` listens on ``base + i`` with its cluster bus on ``bus_base + i``; the
first three start as masters. ``redis-cli --cluster create`` joins them once; a
restart of a created cluster reuses each node's ``nodes.conf``.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import redis

from collectpulse.localstack.kafka import LocalStackError
from collectpulse.localstack.processes import read_pid, spawn, stop
from collectpulse.localstack.redis import redis_server_binary
from collectpulse.localstack.settings import LocalStackSettings

NODES = 6
NODE_TIMEOUT_MS = 5000


@dataclass(frozen=True, slots=True)
class Node:
    port: int
    bus_port: int
    data: Path

    @property
    def pid_file(self) -> Path:
        return self.data / "redis.pid"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def _root(cfg: LocalStackSettings) -> Path:
    return (cfg.root / cfg.state_dir / "redis-cluster").resolve()


def nodes(cfg: LocalStackSettings) -> list[Node]:
    base, bus = cfg.redis_cluster_port, cfg.redis_cluster_bus_port
    return [Node(base + i, bus + i, _root(cfg) / str(base + i)) for i in range(NODES)]


def url(cfg: LocalStackSettings) -> str:
    """The URL a collectpulse process is given: any node finds the others."""
    return f"redis+cluster://127.0.0.1:{cfg.redis_cluster_port}/0"


def start_node(node: Node) -> None:
    """Start one node unless it runs (also what a test uses to bring a killed one back)."""
    node.data.mkdir(parents=True, exist_ok=True)
    if read_pid(node.pid_file) is not None:
        return
    argv = [
        redis_server_binary(),
        "--bind", "127.0.0.1",
        "--port", str(node.port),
        "--cluster-enabled", "yes",
        "--cluster-port", str(node.bus_port),
        "--cluster-config-file", "nodes.conf",
        "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
        "--dir", str(node.data),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "",
        "--protected-mode", "yes",
        "--daemonize", "no",
    ]  # fmt: skip
    spawn(argv, log_file=node.data / "redis.log", pid_file=node.pid_file)


def start(cfg: LocalStackSettings, *, timeout_s: float = 60.0) -> str:
    """Start the six nodes, join them into a cluster if new; return the cluster's URL."""
    members = nodes(cfg)
    for node in members:
        start_node(node)
    deadline = time.monotonic() + timeout_s
    for node in members:
        _wait(node, deadline, lambda c: bool(c.ping()), "did not answer")
    if _cluster_info(members[0]).get("cluster_known_nodes") == "1":
        _create(members)
    for node in members:
        _wait(node, deadline, lambda c: _info(c).get("cluster_state") == "ok", "is not ok")
    return url(cfg)


def status(cfg: LocalStackSettings) -> list[int | None]:
    return [read_pid(node.pid_file) for node in nodes(cfg)]


def stop_cluster(cfg: LocalStackSettings, *, timeout_s: float = 30.0) -> bool:
    """Stop every node; True if any ran."""
    return any([stop(node.pid_file, timeout_s=timeout_s) for node in nodes(cfg)])


def _create(members: Sequence[Node]) -> None:
    argv = [
        "redis-cli",
        "--cluster",
        "create",
        *(n.address for n in members),
        "--cluster-replicas",
        "1",
        "--cluster-yes",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise LocalStackError(f"redis-cli --cluster create failed: {done.stdout[-500:]}")


def _info(client: redis.Redis) -> dict[str, str]:
    # redis-py parses the reply into a dict of strings
    reply = cast(Any, client).execute_command("CLUSTER INFO")
    return {str(k): str(v) for k, v in dict(reply).items()}


def _cluster_info(node: Node) -> dict[str, str]:
    with redis.Redis(port=node.port, socket_connect_timeout=1) as client:
        return _info(client)


def _wait(node: Node, deadline: float, check: Callable[[redis.Redis], bool], problem: str) -> None:
    client = redis.Redis(port=node.port, socket_connect_timeout=1)
    try:
        while time.monotonic() < deadline:
            try:
                if check(client):
                    return
            except (redis.ConnectionError, redis.BusyLoadingError):
                if read_pid(node.pid_file) is None:
                    raise LocalStackError(
                        f"Redis node {node.port} exited; see {node.data / 'redis.log'}"
                    ) from None
            time.sleep(0.1)
    finally:
        client.close()
    raise LocalStackError(f"Redis cluster node {node.port} {problem} in time")
