"""A real three-node KRaft Kafka cluster on loopback: replication 3, min.insync.replicas 2.

Each node is broker and controller (a static quorum of three: any two elect a
leader), with its own data dir, pid file and log under ``<state>/kafka-cluster``.
Node ``n`` (1..3) listens on ``kafka_port + 10 * (n - 1)`` and its controller on
``kafka_controller_port + 10 * (n - 1)``, so the defaults (19092/19093) give
19092/19102/19112 and 19093/19103/19113. Each JVM gets half of ``kafka_heap_mb``
(256 MB by default): three nodes cost about what the single broker does twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import string
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError

from collectpulse.localstack.kafka import LocalStackError, ensure_jars, java, new_cluster_id, paths
from collectpulse.localstack.processes import exit_reason, port_in_use, read_pid, spawn, stop
from collectpulse.localstack.settings import LocalStackSettings

NODES = 3
PORT_STRIDE = 10


@dataclass(frozen=True)
class Node:
    """One broker+controller of the cluster."""

    node_id: int
    port: int
    controller_port: int
    data: Path

    @property
    def log_dir(self) -> Path:
        return self.data / "logs"

    @property
    def config(self) -> Path:
        return self.data / "server.properties"

    @property
    def pid_file(self) -> Path:
        return self.data / "kafka.pid"

    @property
    def log_file(self) -> Path:
        return self.data / "kafka.log"


def cluster_dir(cfg: LocalStackSettings) -> Path:
    return paths(cfg).state / "kafka-cluster"


def nodes(cfg: LocalStackSettings) -> list[Node]:
    base = cluster_dir(cfg)
    return [
        Node(
            node_id=n,
            port=cfg.kafka_port + PORT_STRIDE * (n - 1),
            controller_port=cfg.kafka_controller_port + PORT_STRIDE * (n - 1),
            data=base / f"node-{n}",
        )
        for n in range(1, NODES + 1)
    ]


def bootstrap(cfg: LocalStackSettings) -> str:
    """All three brokers, so a client still bootstraps while one of them is down."""
    return ",".join(f"127.0.0.1:{node.port}" for node in nodes(cfg))


def _write_configs(cfg: LocalStackSettings, cluster: list[Node]) -> None:
    template_file = paths(cfg).root / "deploy/kafka/server-cluster.properties.template"
    template = string.Template(template_file.read_text())
    voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in cluster)
    for node in cluster:
        node.data.mkdir(parents=True, exist_ok=True)
        node.config.write_text(
            template.substitute(
                node_id=node.node_id,
                port=node.port,
                controller_port=node.controller_port,
                voters=voters,
                log_dir=node.log_dir,
                partitions=cfg.kafka_partitions,
            )
        )


def _format_once(cfg: LocalStackSettings, cluster: list[Node]) -> None:
    """Format every node's log dir with one cluster id, the first time only."""
    unformatted = [n for n in cluster if not (n.log_dir / "meta.properties").exists()]
    if not unformatted:
        return
    p = paths(cfg)
    tools = [
        java(),
        f"-Dlog4j2.configurationFile=file:{p.root / 'deploy/kafka/log4j2-tools.properties'}",
        "-cp",
        f"{p.libs}/*",
        "kafka.tools.StorageTool",
    ]
    id_file = cluster_dir(cfg) / "cluster-id"
    if not id_file.exists():
        id_file.write_text(new_cluster_id())
    cluster_id = id_file.read_text().strip()
    # the nodes' formats are independent: one JVM each, side by side
    formats = [
        subprocess.Popen(
            [*tools, "format", "-t", cluster_id, "-c", str(node.config), "--ignore-formatted"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for node in unformatted
    ]
    failed = []
    for node, proc in zip(unformatted, formats, strict=True):
        output, _ = proc.communicate()
        if proc.returncode != 0:
            failed.append(f"node {node.node_id}: {output.strip()[-500:]}")
    if failed:
        detail = "; ".join(failed)
        raise LocalStackError(f"formatting the Kafka cluster's log dirs failed: {detail}")


async def live_brokers(servers: str) -> int:
    """How many brokers an answered metadata request names (0 when none answers)."""
    client = AIOKafkaClient(bootstrap_servers=servers, request_timeout_ms=2000)
    try:
        await client.bootstrap()
        return len(client.cluster.brokers())
    except (KafkaError, OSError):
        return 0
    finally:
        await client.close()


def _wait_all_registered(cfg: LocalStackSettings, cluster: list[Node], timeout_s: float) -> None:
    """Until the metadata names all three brokers: before that a topic of replication
    factor 3 cannot be created."""
    servers = bootstrap(cfg)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if asyncio.run(live_brokers(servers)) == NODES:
            return
        for node in cluster:
            if read_pid(node.pid_file) is None:
                raise LocalStackError(
                    f"Kafka node {node.node_id} exited during start-up: "
                    f"{exit_reason(node.log_file) or 'no log'} (log: {node.log_file})"
                )
        time.sleep(0.3)
    raise LocalStackError(f"Kafka cluster at {servers} did not have {NODES} brokers in time")


def _check_ports_free(starting: list[Node]) -> None:
    """Fail with every taken port named before any JVM starts: a broker that cannot
    bind exits seconds later with the reason buried in its log."""
    taken = [
        f"{port} (node {node.node_id} {role})"
        for node in starting
        for port, role in ((node.port, "broker"), (node.controller_port, "controller"))
        if port_in_use(port)
    ]
    if taken:
        raise LocalStackError(
            f"Kafka cluster ports in use by another process: {', '.join(taken)}; free them "
            "or move the cluster with COLLECTPULSE_LOCAL_KAFKA_PORT and "
            "COLLECTPULSE_LOCAL_KAFKA_CONTROLLER_PORT"
        )


def start(cfg: LocalStackSettings, *, timeout_s: float = 120.0) -> str:
    """Start the nodes that do not run yet; return the bootstrap list of all three."""
    cluster = nodes(cfg)
    starting = [node for node in cluster if read_pid(node.pid_file) is None]
    _check_ports_free(starting)
    ensure_jars(paths(cfg))
    _write_configs(cfg, cluster)
    _format_once(cfg, cluster)
    p = paths(cfg)
    heap_mb = max(128, cfg.kafka_heap_mb // 2)
    for node in starting:
        argv = [
            java(),
            f"-Xmx{heap_mb}m",
            f"-Xms{heap_mb}m",
            "-XX:+UseG1GC",
            f"-Dlog4j2.configurationFile=file:{p.root / 'deploy/kafka/log4j2.properties'}",
            "-cp",
            f"{p.libs}/*",
            "kafka.Kafka",
            str(node.config),
        ]
        spawn(argv, log_file=node.log_file, pid_file=node.pid_file)
    _wait_all_registered(cfg, cluster, timeout_s)
    return bootstrap(cfg)


def status(cfg: LocalStackSettings) -> dict[int, int | None]:
    """Node id -> pid of each node (None when it does not run)."""
    return {node.node_id: read_pid(node.pid_file) for node in nodes(cfg)}


def stop_cluster(cfg: LocalStackSettings) -> bool:
    """Stop every node that runs (all at once: each waits for the others' controllers)."""
    running = [n for n in nodes(cfg) if read_pid(n.pid_file) is not None]
    for node in running:
        pid = read_pid(node.pid_file)
        if pid is not None:
            _terminate(pid)
    for node in running:
        stop(node.pid_file, timeout_s=60.0)
    return bool(running)


def _terminate(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
