"""``collectpulse local start|stop|status|reset``: the development Kafka and Redis together."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from collectpulse.localstack import kafka, kafka_cluster, redis, redis_cluster
from collectpulse.localstack.kafka import LocalStackError
from collectpulse.localstack.settings import LocalStackSettings


def start(cfg: LocalStackSettings) -> tuple[str, str]:
    """Start (or find running) Kafka and Redis; return their addresses."""
    # aiokafka logs every refused connection while the broker boots
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    if cfg.kafka_brokers == kafka_cluster.NODES:
        bootstrap = kafka_cluster.start(cfg)
    else:
        bootstrap = kafka.start(cfg)
    url = redis.start(cfg)
    return bootstrap, url


def stop(cfg: LocalStackSettings) -> None:
    """Stop whatever of the stack runs, the single broker or the cluster alike."""
    kafka.stop_kafka(cfg)
    kafka_cluster.stop_cluster(cfg)
    redis.stop_redis(cfg)
    redis_cluster.stop_cluster(cfg)


STATE_PARTS = ("kafka", "kafka-cluster", "redis", "redis-cluster", "worker", "logs")
"""What ``collectpulse run`` keeps under the state dir; ``reset`` removes only these."""


def reset(cfg: LocalStackSettings) -> list[Path]:
    """Stop the servers, then delete their data, the worker's state and the logs.

    Only the known parts are removed, never the state dir itself: it may be
    set to a directory that holds other things.
    """
    stop(cfg)
    state = (cfg.root / cfg.state_dir).resolve()
    removed = []
    for part in STATE_PARTS:
        path = state / part
        if path.exists():
            shutil.rmtree(path)
            removed.append(path)
    return removed


def _kafka_status(cfg: LocalStackSettings) -> tuple[str, bool]:
    nodes = kafka_cluster.status(cfg)
    if any(nodes.values()):
        shown = ", ".join(f"node {n}: {pid or 'stopped'}" for n, pid in nodes.items())
        return f"3-node cluster ({shown})", all(nodes.values())
    pid = kafka.status(cfg)
    return (f"running, pid {pid}" if pid else "stopped"), pid is not None


def command(cfg: LocalStackSettings, action: str, *, with_redis_cluster: bool = False) -> int:
    try:
        if action == "start":
            bootstrap, url = start(cfg)
            version = kafka.kafka_version(kafka.paths(cfg))
            print(f"kafka {version}: {bootstrap}  (COLLECTPULSE_KAFKA_BOOTSTRAP_SERVERS)")
            print(f"redis: {url}  (COLLECTPULSE_REDIS_URL)")
            if with_redis_cluster:
                cluster = redis_cluster.start(cfg)
                print(f"redis cluster (3 masters, 3 replicas): {cluster}  (COLLECTPULSE_REDIS_URL)")
            return 0
        if action == "reset":
            removed = reset(cfg)
            state = (cfg.root / cfg.state_dir).resolve()
            if not removed:
                print(f"nothing to reset: no Kafka, Redis, worker data or logs under {state}")
            for path in removed:
                print(f"removed {path}")
            if removed:
                print("local data wiped: the next `make run` starts from empty Kafka and Redis")
            return 0
        if action == "stop":
            stop(cfg)
            print("local stack stopped")
            return 0
        kafka_shown, kafka_up = _kafka_status(cfg)
        redis_pid = redis.status(cfg)
        print(f"kafka: {kafka_shown}")
        print(f"redis: {f'running, pid {redis_pid}' if redis_pid else 'stopped'}")
        cluster_pids = [pid for pid in redis_cluster.status(cfg) if pid]
        if cluster_pids:
            print(f"redis cluster: {len(cluster_pids)} of {redis_cluster.NODES} nodes running")
        return 0 if kafka_up and redis_pid else 3
    except LocalStackError as exc:
        print(f"collectpulse local: {exc}")
        return 1
