"""Scaling benchmark: 1, 2 and 4 worker processes (``worker --processes N``) on 8 and 16
partitions, one Redis or (``--redis-cluster``) the local Redis Cluster of 3 masters and 3
replicas.

Per case: a backlog of ``--events`` simulated events is published, then the
workers start; the drain rate is timed from the first to the last effect in
Redis, and the CPU of the worker processes over the same span gives CPU per
event and events per worker CPU-second (the fair figure on a 2-core machine,
where 4 processes cannot run 4 times as fast). Then ``--paced-events`` are
published at ``--paced-rate`` and the consumer lag is sampled: the most records
published but not yet applied, and the p99 publish->applied time from the
store's apply-lag histogram. Each case runs ``--repeat`` times. A script, not
a test: the figures go to docs/SCALING.md.

    .venv/bin/python bench/scaling.py --events 100000 --repeat 2 [--redis-cluster]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from consumers import delete_topics_with_prefix  # bench/consumers.py, beside this script
from pipeline import (  # bench/pipeline.py, beside this script
    cpu_s,
    create_topics,
    generate,
    lag_counts,
    publish,
    quantile,
    received,
    remove_run,
    wait_for_touches,
    wait_until,
)
from redis.asyncio import RedisCluster

from collectpulse.localstack import redis_cluster, stack
from collectpulse.localstack.processes import read_pid, settings_env
from collectpulse.localstack.settings import LocalStackSettings
from collectpulse.settings import Settings
from collectpulse.store.client import StoreClient, store_client
from collectpulse.store.keys import Keys

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Case:
    processes: int
    partitions: int


@dataclass(frozen=True)
class Result:
    case: Case
    rate_per_s: float
    worker_cpu_s: float
    redis_cpu_s: float
    events: int
    max_behind_records: int
    apply_lag_p99_s: float

    @property
    def cpu_us_per_event(self) -> float:
        return self.worker_cpu_s / self.events * 1e6

    @property
    def events_per_cpu_s(self) -> float:
        return self.events / self.worker_cpu_s


def worker_pids(supervisor: int) -> list[int]:
    """The supervisor and its children (the worker processes)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return [supervisor, *(int(pid) for pid in children)]


def cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(FileNotFoundError):  # a worker that has just ended
            total += cpu_s(pid)
    return total


async def wait_children(supervisor: int, count: int, timeout_s: float = 60.0) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pids = worker_pids(supervisor)
        if count == 1 or len(pids) == count + 1:
            return pids
        await asyncio.sleep(0.05)
    raise SystemExit(f"the supervisor did not start {count} workers")


Record = tuple[str, bytes, bytes]


async def paced_lag(
    settings: Settings, redis: StoreClient, base: int, records: list[Record], rate: float
) -> int:
    """Publish ``records`` at ``rate`` and return the most records published (acked by
    Kafka) but not yet applied, sampled every 50 ms."""
    keys = Keys(settings.key_prefix)
    started = time.monotonic()
    task = asyncio.create_task(publish(settings, records, rate=rate))
    worst = 0
    while not task.done():
        elapsed = time.monotonic() - started
        expected = min(len(records), int(elapsed * rate))
        applied = await received(redis, keys, settings.topic_partitions) - base
        worst = max(worst, expected - applied)
        await asyncio.sleep(0.05)
    await task
    return worst


async def run_case(
    case: Case, args: argparse.Namespace, cfg: LocalStackSettings, bootstrap: str, redis_url: str
) -> Result:
    run_id = uuid.uuid4().hex[:8]
    settings = Settings(
        kafka_bootstrap_servers=bootstrap,
        redis_url=redis_url,  # type: ignore[arg-type]
        topic_prefix=f"scale{run_id}.",
        key_prefix=f"scale{run_id}",
        consumer_group=f"scale-{run_id}",
        topic_partitions=case.partitions,
        data_dir=Path(f"/tmp/collectpulse-scale-{run_id}"),
    )
    keys = Keys(settings.key_prefix)
    redis = store_client(settings)
    records = generate(args.events, seed=args.seed)
    await create_topics(settings)
    await publish(settings, records, rate=None)
    redis_pids = redis_server_pids(cfg, cluster=args.redis_cluster)
    argv = [sys.executable, "-m", "collectpulse.cli", "worker", "-l", "warn"]
    argv += ["--processes", str(case.processes)]
    log = Path(f"/tmp/collectpulse-scale-{run_id}.log").open("wb")  # noqa: SIM115
    worker = subprocess.Popen(
        argv, env=settings_env(settings), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        pids = await wait_children(worker.pid, case.processes)
        before: dict[str, float] = {}

        def sample() -> None:
            before["worker"] = cpu_of(pids)
            before["redis"] = cpu_of(redis_pids)

        first, last = await wait_until(
            redis, keys, case.partitions, args.events, timeout_s=900, on_first=sample
        )
        worker_cpu = cpu_of(pids) - before["worker"]
        redis_cpu = cpu_of(redis_pids) - before["redis"]
        await wait_for_touches(redis, keys, case.partitions)
        lag_before = await lag_counts(redis, keys, case.partitions)
        paced = generate(args.paced_events, seed=args.seed + 1)
        behind = await paced_lag(settings, redis, args.events, paced, args.paced_rate)
        total = args.events + args.paced_events
        await wait_until(redis, keys, case.partitions, total, timeout_s=300)
        lag_after = await lag_counts(redis, keys, case.partitions)
    finally:
        worker.terminate()
        worker.wait(timeout=90)
        if isinstance(redis, RedisCluster):
            # the cluster is this benchmark's own: the keys of a run span every slot
            await delete_topics_with_prefix(
                bootstrap, settings.topic_prefix, settings.consumer_group
            )
            await redis.flushall(target_nodes=RedisCluster.PRIMARIES)
        else:
            await remove_run(settings, redis)
        await redis.aclose()
    delta = [a - b for a, b in zip(lag_after, lag_before, strict=True)]
    return Result(
        case=case,
        rate_per_s=args.events / (last - first),
        worker_cpu_s=worker_cpu,
        redis_cpu_s=redis_cpu,
        events=args.events,
        max_behind_records=behind,
        apply_lag_p99_s=quantile(delta, 0.99),
    )


def redis_server_pids(cfg: LocalStackSettings, *, cluster: bool) -> list[int]:
    """Every Redis process whose CPU counts: the single node, or all six cluster nodes
    (replicas included: they apply every write too)."""
    if cluster:
        found = redis_cluster.status(cfg)
    else:
        found = [read_pid((cfg.root / cfg.state_dir / "redis/redis.pid").resolve())]
    return [pid for pid in found if pid]


def show(r: Result) -> str:
    return (
        f"| {r.case.processes} | {r.case.partitions} | {r.rate_per_s:,.0f} | "
        f"{r.cpu_us_per_event:.0f} | {r.events_per_cpu_s:,.0f} | "
        f"{r.redis_cpu_s / r.events * 1e6:.0f} | {r.max_behind_records:,} | "
        f"{r.apply_lag_p99_s} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--paced-events", type=int, default=20_000)
    parser.add_argument("--paced-rate", type=float, default=4_000.0)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--partitions", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--redis-cluster", action="store_true", help="the local Redis Cluster (3 + 3 nodes)"
    )
    args = parser.parse_args()
    cfg = LocalStackSettings(root=ROOT)
    bootstrap, redis_url = stack.start(cfg)
    if args.redis_cluster:
        redis_url = redis_cluster.start(cfg)
    print(f"redis: {redis_url}", flush=True)
    print(f"load average at start: {os.getloadavg()}", flush=True)
    print(
        "| worker processes | partitions | events/s | worker CPU µs/event "
        "| events per worker CPU-s | Redis CPU µs/event | max records behind "
        f"({args.paced_rate:.0f}/s paced) | p99 apply lag ≤ s |",
        flush=True,
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    for partitions in args.partitions:
        for processes in args.processes:
            for _ in range(args.repeat):
                result = asyncio.run(
                    run_case(Case(processes, partitions), args, cfg, bootstrap, redis_url)
                )
                print(show(result), flush=True)
    print(f"load average at end: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
