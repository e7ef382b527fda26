"""End-to-end benchmark: simulated events through real Kafka, one worker and Redis.

Prints events/s until the last effect is in Redis, p50/p99 publish -> applied
lag, the worker's peak RSS and Redis memory per tracked message, then (when
bench/consumers.py is present) the reference consumer rates measured in the
same run on the same broker, and the ratios. A script, not a test: figures go
to docs/BENCHMARKS.md.

    .venv/bin/python bench/pipeline.py --events 200000
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from consumers import delete_topics_with_prefix  # bench/consumers.py, beside this script
from redis.asyncio import Redis
from redis_memory import measure, report  # bench/redis_memory.py

from collectpulse.events.models import Topic
from collectpulse.kpi.computed import APPLY_LAG_BUCKETS_S
from collectpulse.localstack import stack
from collectpulse.localstack.settings import LocalStackSettings
from collectpulse.settings import Settings
from collectpulse.simulate.generator import EventGenerator
from collectpulse.simulate.records import to_record
from collectpulse.simulate.scenario import DEFAULT_SCENARIO
from collectpulse.store.keys import FIELD_SEP, Keys
from collectpulse.store.touches import TOUCH_TOPIC
from collectpulse.stream.deadletter import DLQ_TOPIC

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Figures:
    events: int
    rate_per_s: float
    lag_p50_s: float
    lag_p99_s: float
    worker_peak_rss_mb: float
    redis_bytes_per_message: float
    messages: int
    worker_cpu_us_per_event: float = float("nan")  # first to last effect, both threads


def generate(count: int, seed: int) -> list[tuple[str, bytes, bytes]]:
    """``count`` realistic records whose event times end about now."""
    per_s = 2000.0
    start = datetime.now(UTC) - timedelta(seconds=count / per_s)
    scenario = dataclasses.replace(DEFAULT_SCENARIO, delay_scale=0.001)
    events = EventGenerator(seed=seed, start=start, events_per_s=per_s, scenario=scenario)
    out = []
    for _ in range(count):
        record = to_record(next(events))
        out.append((record.topic.value, record.key, record.value))
    return out


async def create_topics(settings: Settings) -> None:
    names = [settings.topic(t.value) for t in Topic]
    names += [settings.topic(DLQ_TOPIC), settings.topic(TOUCH_TOPIC)]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, settings.topic_partitions, 1) for n in names])
    finally:
        await admin.close()


async def remove_run(settings: Settings, redis: Redis) -> None:
    """Delete the run's topics, consumer-group topics and Redis keys.

    The local stack outlives a run: without this every run left ~10 topics of
    8 partitions and ~150k keys behind, and after a few dozen runs the broker's
    metadata and Redis's AOF rewrites (GBs) were part of every figure.
    """
    await delete_topics_with_prefix(
        settings.kafka_bootstrap_servers, settings.topic_prefix, settings.consumer_group
    )
    batch: list[bytes] = []
    async for key in redis.scan_iter(match=f"{settings.key_prefix}:*", count=5000):
        batch.append(key)
        if len(batch) >= 5000:
            await redis.unlink(*batch)
            batch.clear()
    if batch:
        await redis.unlink(*batch)


async def publish(
    settings: Settings, records: list[tuple[str, bytes, bytes]], rate: float | None
) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    try:
        started = time.monotonic()
        pending = []
        for i, (topic, key, value) in enumerate(records):
            pending.append(await producer.send(settings.topic(topic), value=value, key=key))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
            if rate and i % 100 == 0:
                ahead = i / rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def received(redis: Redis, keys: Keys, partitions: int) -> int:
    pipe = redis.pipeline(transaction=False)
    for p in range(partitions):
        for topic in Topic:
            pipe.hget(keys.totals(p), f"events_received{FIELD_SEP}{topic.value}")
    return sum(int(v) for v in await pipe.execute() if v is not None)


async def lag_counts(redis: Redis, keys: Keys, partitions: int) -> list[int]:
    counts = [0] * (len(APPLY_LAG_BUCKETS_S) + 1)
    for p in range(partitions):
        for raw, value in (await redis.hgetall(keys.totals(p))).items():
            name = raw.decode()
            if name.startswith(f"apply_lag_seconds{FIELD_SEP}"):
                bucket = name.rsplit(FIELD_SEP, 1)[1]
                if bucket.isdigit():
                    counts[int(bucket)] += int(value)
    return counts


async def wait_for_touches(redis: Redis, keys: Keys, partitions: int, quiet_s: float = 2.0) -> None:
    """Wait until the customer-touch offsets in the store stop moving (repartition drained)."""
    last: list[Any] = []
    still_since = time.monotonic()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        pipe = redis.pipeline(transaction=False)
        for p in range(partitions):
            pipe.hget(keys.offsets(p), TOUCH_TOPIC)
        now = await pipe.execute()
        if now != last:
            last, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= quiet_s:
            return
        await asyncio.sleep(0.2)


def quantile(counts: list[int], q: float) -> float:
    """Upper bound of the bucket holding the q-quantile (what Prometheus would report)."""
    total = sum(counts)
    running = 0
    for i, c in enumerate(counts):
        running += c
        if running >= q * total:
            return APPLY_LAG_BUCKETS_S[i] if i < len(APPLY_LAG_BUCKETS_S) else float("inf")
    return float("nan")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pids() -> dict[str, int]:
    state = ROOT / ".local"
    pids = {}
    for name, path in (("kafka", state / "kafka/kafka.pid"), ("redis", state / "redis/redis.pid")):
        if path.exists():
            pids[name] = int(path.read_text().strip())
    return pids


def start_profiler(pid: int, out: str) -> subprocess.Popen[bytes]:
    """py-spy sampling ``pid`` at 200 Hz into a raw (collapsed stacks) file; SIGINT ends it."""
    py_spy = str(Path(sys.executable).with_name("py-spy"))
    argv = [py_spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "200"]
    return subprocess.Popen(
        [*argv, "-o", out, "--nonblocking"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def wait_until(
    redis: Redis,
    keys: Keys,
    partitions: int,
    target: int,
    timeout_s: float,
    on_first: Callable[[], None] = lambda: None,
) -> tuple[float, float]:
    """(time of first applied effect, time when ``target`` events were received).

    ``on_first`` runs when the first effect is seen: the CPU figures start there,
    so the worker's start-up and the broker's group and topic work are not in them.
    """
    first = None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        n = await received(redis, keys, partitions)
        now = time.monotonic()
        if n and first is None:
            first = now
            on_first()
        if n >= target:
            return first or now, now
        await asyncio.sleep(0.05)
    raise SystemExit(f"timed out: {await received(redis, keys, partitions)} of {target} applied")


async def run(args: argparse.Namespace, bootstrap: str, redis_url: str) -> Figures:
    run_id = uuid.uuid4().hex[:8]
    settings = Settings(
        kafka_bootstrap_servers=bootstrap,
        redis_url=redis_url,  # type: ignore[arg-type]
        topic_prefix=f"bench{run_id}.",
        key_prefix=f"bench{run_id}",
        consumer_group=f"bench-{run_id}",
        topic_partitions=args.partitions,
        data_dir=Path(f"/tmp/collectpulse-bench-{run_id}"),
    )
    keys = Keys(settings.key_prefix)
    redis = Redis.from_url(redis_url)
    records = generate(args.events, seed=args.seed)
    messages = sum(1 for t, _, v in records if t == "delivery" and b'"sent"' in v)
    await create_topics(settings)
    await publish(settings, records, rate=None)
    memory_before = int((await redis.info("memory"))["used_memory"])
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is not None:
            value = value.get_secret_value() if hasattr(value, "get_secret_value") else value
            env[f"COLLECTPULSE_{name.upper()}"] = (
                ",".join(value) if isinstance(value, tuple) else str(value)
            )
    log = open(f"/tmp/collectpulse-bench-{run_id}.log", "wb")  # noqa: SIM115
    command = [sys.executable, "-m", "collectpulse.cli"]
    if args.heap:  # tracemalloc, the peak's snapshot to args.heap (bench/heap_worker.py)
        command = [sys.executable, str(ROOT / "bench/heap_worker.py")]
        env["CP_HEAP_OUT"] = args.heap
    worker = subprocess.Popen(
        [*command, "worker", "-l", "warn"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    profiler = None
    pids = {"worker": worker.pid, **server_pids()}
    cpu_before: dict[str, float] = {}

    def sample_cpu() -> None:
        nonlocal profiler
        cpu_before.update({name: cpu_s(pid) for name, pid in pids.items()})
        if args.profile and args.profile_phase == "throughput":
            # py-spy samples the worker while it drains the backlog (not its start-up)
            profiler = start_profiler(worker.pid, args.profile)

    try:
        first, last = await wait_until(
            redis, keys, args.partitions, args.events, timeout_s=600, on_first=sample_cpu
        )
        cpu_used = {name: cpu_s(pid) - cpu_before[name] for name, pid in pids.items()}
        if profiler is not None:
            profiler.send_signal(2)
            profiler.wait(timeout=60)
        rate = args.events / (last - first) if last > first else float("inf")
        memory_after = int((await redis.info("memory"))["used_memory"])
        # latency: a paced stream once the worker has caught up, touches included
        await wait_for_touches(redis, keys, args.partitions)
        lag_before = await lag_counts(redis, keys, args.partitions)
        live = generate(args.latency_events, seed=args.seed + 1)
        if args.profile and args.profile_phase == "latency":
            profiler = start_profiler(worker.pid, args.profile)
        await publish(settings, live, rate=args.latency_rate)
        if profiler is not None and args.profile_phase == "latency":
            profiler.send_signal(2)
            profiler.wait(timeout=60)
        await wait_until(redis, keys, args.partitions, args.events + args.latency_events, 120)
        lag_after = await lag_counts(redis, keys, args.partitions)
        delta = [a - b for a, b in zip(lag_after, lag_before, strict=True)]
        rss = peak_rss_mb(worker.pid)
        if args.by_kind:  # every key of the run, after the latency phase and its touches
            print(f"Redis keys by kind ({settings.key_prefix}:*):")
            report(*await measure(redis, settings.key_prefix), messages=messages)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        await remove_run(settings, redis)
        await redis.aclose()
    wall = last - first
    print(
        "CPU from the first to the last effect (s of CPU per s of wall, 2 cores in all): "
        + ", ".join(f"{name} {used / wall:.2f}" for name, used in cpu_used.items())
    )
    return Figures(
        events=args.events,
        rate_per_s=rate,
        lag_p50_s=quantile(delta, 0.5),
        lag_p99_s=quantile(delta, 0.99),
        worker_peak_rss_mb=rss,
        redis_bytes_per_message=(memory_after - memory_before) / max(messages, 1),
        messages=messages,
        worker_cpu_us_per_event=cpu_used["worker"] / args.events * 1e6,
    )


def arguments() -> argparse.ArgumentParser:
    """This script's options; bench/peers.py parses its collectpulse case with them too,
    so an option added here has its default there."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--latency-events", type=int, default=20_000)
    parser.add_argument("--latency-rate", type=float, default=5_000.0)
    parser.add_argument(
        "--profile", help="write a py-spy raw (collapsed) profile of the worker here"
    )
    parser.add_argument(
        "--profile-phase",
        choices=["throughput", "latency"],
        default="throughput",
        help="which phase the profile samples: the backlog drain or the paced stream",
    )
    parser.add_argument("--no-references", action="store_true", help="skip the reference consumers")
    parser.add_argument(
        "--by-kind", action="store_true", help="Redis bytes per kind of key (MEMORY USAGE)"
    )
    parser.add_argument(
        "--heap", metavar="OUT", help="run the worker under tracemalloc; its peak snapshot to OUT"
    )
    return parser


def main() -> None:
    args = arguments().parse_args()
    bootstrap, redis_url = stack.start(LocalStackSettings(root=ROOT))
    figures = asyncio.run(run(args, bootstrap, redis_url))
    print(
        f"collectpulse end to end ({figures.events} events, {args.partitions} partitions, 1 worker)"
    )
    print(
        f"  throughput            {figures.rate_per_s:>12,.0f} events/s "
        "(first to last effect in Redis)"
    )
    print(
        f"  publish->applied lag  p50 <= {figures.lag_p50_s} s, p99 <= {figures.lag_p99_s} s "
        f"({args.latency_events} events at {args.latency_rate:.0f}/s)"
    )
    print(f"  worker peak RSS       {figures.worker_peak_rss_mb:>12,.0f} MB")
    print(
        f"  Redis memory          {figures.redis_bytes_per_message:>12,.0f} B per tracked message "
        f"({figures.messages} messages; includes every other key the run wrote)"
    )
    if args.heap:
        print_heap(args.heap)
    if not args.no_references:
        references(figures.rate_per_s)


def print_heap(path: str, top: int = 30) -> None:
    """The largest allocation sites (file:line) of the worker's peak heap snapshot."""
    import tracemalloc

    stats = tracemalloc.Snapshot.load(path).statistics("lineno")
    total = sum(s.size for s in stats)
    print(f"worker heap at its traced peak: {total / 2**20:,.1f} MiB in {len(stats):,} sites")
    for stat in stats[:top]:
        frame = stat.traceback[0]
        name = frame.filename.split("site-packages/")[-1].split("/src/")[-1]
        print(f"  {stat.size / 2**20:8.1f} MiB {stat.count:>9,} blocks  {name}:{frame.lineno}")


def references(pipeline_rate: float) -> None:
    """The reference consumers of bench/consumers.py, on the same broker, in this run."""
    consumers = ROOT / "bench" / "consumers.py"
    if not consumers.exists():
        print("  (bench/consumers.py not found: no reference rates)")
        return
    result = subprocess.run(
        [sys.executable, str(consumers), "--json"], capture_output=True, text=True, timeout=3600
    )
    if result.returncode != 0:
        print(result.stdout, result.stderr, sep="\n")
        return
    import json

    rates = json.loads(result.stdout.strip().splitlines()[-1])
    print("reference consumers, same broker, same run (events/s):")
    for name, rate in rates.items():
        print(f"  {name:<34} {rate:>12,.0f}   pipeline / this = {pipeline_rate / rate:5.2f}x")


if __name__ == "__main__":
    main()
