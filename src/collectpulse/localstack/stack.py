"""``collectpulse local start|stop|status|reset``: the development Kafka and Redis together."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from collectpulse.localstack import kafka, redis, redis_cluster
from collectpulse.localstack.kafka import LocalStackError
from collectpulse.settings import LocalStackSettings


def start(cfg: LocalStackSettings) -> tuple[str, str]:
    """Start (or find running) Kafka and Redis; return their addresses."""
    # aiokafka logs every refused connection while the broker boots
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    bootstrap = kafka.start(cfg)
    url = redis.start(cfg)
    return bootstrap, url


def stop(cfg: LocalStackSettings) -> None:
    kafka.stop_kafka(cfg)
    redis.stop_redis(cfg)
    redis_cluster.stop_cluster(cfg)


STATE_PARTS = ("kafka", "redis", "redis-cluster", "worker", "logs")
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
        kafka_pid, redis_pid = kafka.status(cfg), redis.status(cfg)
        print(f"kafka: {f'running, pid {kafka_pid}' if kafka_pid else 'stopped'}")
        print(f"redis: {f'running, pid {redis_pid}' if redis_pid else 'stopped'}")
        cluster_pids = [pid for pid in redis_cluster.status(cfg) if pid]
        if cluster_pids:
            print(f"redis cluster: {len(cluster_pids)} of {redis_cluster.NODES} nodes running")
        return 0 if kafka_pid and redis_pid else 3
    except LocalStackError as exc:
        print(f"collectpulse local: {exc}")
        return 1
