"""Soak: a long steady stream through one real worker and the exporter; does anything grow?

A script, not a test; the figures go to docs/RELIABILITY.md. It starts its own
Kafka and Redis (``.local/soak``, ports 24092/24093/24379 unless told
otherwise, never the dev stack), then ``collectpulse worker``,
``collectpulse exporter`` and ``collectpulse simulate`` as child processes, and
every ``--interval`` seconds samples:

- ``worker_rss_mb``: VmRSS of the worker process (/proc/<pid>/status);
- ``redis_used_mb``: ``used_memory`` of ``INFO memory`` (the soak's own Redis);
- ``lag_records``: the sum of ``collectpulse_consumer_lag_records`` on /metrics,
  i.e. records in the logs of every consumed topic (the seven canonical ones and
  customer-touch) past the store's applied offset, as the exporter computes it;
- ``latency_s``: publish -> visible of a marker. A ``sent`` event with a fresh
  ``message_id`` is published (``acks=all``, no linger); the clock starts just
  before the send and stops at the first poll (every 20 ms) that finds the
  message's state hash ``<prefix>:{pN}:m:<message_id>`` in Redis. From then on
  every scrape of /metrics counts it (the exporter reads the store).

It prints one line per sample, then the least-squares slope per hour of each
series over the whole run and over its second half, and writes a CSV and a PNG.

    .venv/bin/python bench/soak.py --duration 1800            # 30 min at --rate
    .venv/bin/python bench/soak.py --duration 180 --rate 8000  # a quick check
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import math
import os
import random
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import SecretStr
from redis.asyncio import Redis

from collectpulse.events.models import DeliveryEvent, Topic
from collectpulse.localstack import stack
from collectpulse.localstack.processes import settings_env, spawn_cli, stop_children
from collectpulse.localstack.settings import LocalStackSettings
from collectpulse.settings import Settings
from collectpulse.simulate.records import to_record
from collectpulse.store.keys import Keys
from collectpulse.store.touches import TOUCH_TOPIC
from collectpulse.stream.deadletter import DLQ_TOPIC

ROOT = Path(__file__).resolve().parents[1]
MEASURED_MAX_RATE = 20_800.0
"""bench/pipeline.py --events 200000 on this shared 2-core machine, 2026-11-23 (load 2.9);
docs/BENCHMARKS.md has 28-33k events/s for the same command on the idle machine."""
MARKER_POLL_S = 0.02
MARKER_TIMEOUT_S = 600.0


@dataclass
class Sample:
    t_s: float
    worker_rss_mb: float
    exporter_rss_mb: float
    redis_used_mb: float
    redis_keys: int
    lag_records: float
    latency_s: float
    applied_per_s: float
    published_per_s: float
    worker_cpu_cores: float
    load1: float


SERIES = ("worker_rss_mb", "redis_used_mb", "lag_records", "latency_s", "exporter_rss_mb")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def scrape(url: str) -> dict[str, float]:
    """Sums per metric name of the /metrics samples this script reads.

    Empty when the scrape failed or the exporter reported a dependency down (then it
    serves no store totals and no lag, and a sum of nothing would read as 0).
    """
    wanted = ("collectpulse_consumer_lag_records", "collectpulse_events_received_total")
    sums: dict[str, float] = {}
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            text = response.read().decode()
    except OSError:
        return {}
    for line in text.splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name == "collectpulse_dependency_up" and float(line.rsplit(" ", 1)[1]) == 0:
            return {}
        if name in wanted:
            sums[name] = sums.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return sums


def slope_per_h(ts: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ``ys`` over ``ts`` (seconds), per hour; NaN samples skipped."""
    pairs = [(t / 3600, y) for t, y in zip(ts, ys, strict=True) if not math.isnan(y)]
    if len(pairs) < 2:
        return math.nan
    n = len(pairs)
    mean_t = sum(t for t, _ in pairs) / n
    mean_y = sum(y for _, y in pairs) / n
    var = sum((t - mean_t) ** 2 for t, _ in pairs)
    cov = sum((t - mean_t) * (y - mean_y) for t, y in pairs)
    return cov / var if var else math.nan


class Markers:
    """Publishes marker ``sent`` events and times each until its state is in Redis."""

    def __init__(self, settings: Settings, redis: Redis, run_id: str) -> None:
        self._settings = settings
        self._redis = redis
        self._keys = Keys(settings.key_prefix)
        self._run_id = run_id
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", linger_ms=0
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self.latency_s: dict[int, float] = {}

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._producer.stop()

    def launch(self, index: int) -> None:
        task = asyncio.create_task(self._measure(index))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _measure(self, index: int) -> None:
        message_id = f"soak-{self._run_id}-{index}"
        event = DeliveryEvent(
            event_id=message_id,
            occurred_at=datetime.now(UTC),
            message_id=message_id,
            status="sent",
            channel="email",
            customer_id="soak-marker",
            campaign="soak-marker",
            variant="control",
        )
        record = to_record(event)
        self.latency_s[index] = math.nan
        topic = self._settings.topic(Topic.DELIVERY.value)
        started = time.monotonic()
        meta = await self._producer.send_and_wait(topic, value=record.value, key=record.key)
        key = self._keys.message(meta.partition, message_id)
        while time.monotonic() - started < MARKER_TIMEOUT_S:
            if await self._redis.exists(key):
                self.latency_s[index] = time.monotonic() - started
                return
            await asyncio.sleep(MARKER_POLL_S)


def wait_ready(
    base_url: str, children: Sequence[subprocess.Popen[bytes]], timeout_s: float
) -> None:
    """Until /readyz answers 200 (Redis, Kafka and an assigned worker)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(c.poll() is not None for c in children):
            raise SystemExit("the worker or the exporter exited during start-up; see the logs")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{base_url}/readyz", timeout=5) as response,
        ):
            if response.status == 200:
                return
        time.sleep(1)
    raise SystemExit(f"not ready after {timeout_s:.0f} s: {base_url}/readyz")


async def delete_topics(settings: Settings) -> None:
    """The run's topics, so repeated soaks do not fill the disk."""
    names = [settings.topic(t.value) for t in Topic]
    names += [settings.topic(DLQ_TOPIC), settings.topic(TOUCH_TOPIC)]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.delete_topics(names)
    finally:
        await admin.close()


async def soak(args: argparse.Namespace, settings: Settings, out: Path) -> list[Sample]:
    env = settings_env(settings)
    base_url = f"http://127.0.0.1:{settings.http_port}"
    redis = Redis.from_url(settings.redis_url.get_secret_value())
    if not args.keep_redis:
        await redis.flushall()  # the soak's own Redis: a clean baseline for used_memory
    children: list[subprocess.Popen[bytes]] = []
    samples: list[Sample] = []
    markers = Markers(settings, redis, args.run_id)
    try:
        worker = spawn_cli(["worker", "-l", "warn"], env, out / "worker.log")
        children.append(worker)
        exporter = spawn_cli(["exporter"], env, out / "exporter.log")
        children.append(exporter)
        await asyncio.to_thread(wait_ready, base_url, children, 180.0)
        await markers.start()
        simulate = [
            "simulate",
            *("--rate", str(args.rate), "--duration", str(args.duration)),
            *("--seed", str(args.seed), "--delay-scale", str(args.delay_scale)),
            *("--duplicates", str(args.duplicates), "--out-of-order", str(args.out_of_order)),
            *("--poison", str(args.poison)),
        ]
        children.append(spawn_cli(simulate, env, out / "simulate.log"))
        started = time.monotonic()
        last_cpu, last_t = cpu_s(worker.pid), 0.0
        last_received = last_lag = math.nan  # from the last usable scrape, at last_scrape_t
        last_scrape_t = 0.0
        index = 0
        while (now := time.monotonic() - started) <= args.duration:
            if worker.poll() is not None or exporter.poll() is not None:
                raise SystemExit("the worker or the exporter exited; see the logs")
            markers.launch(index)
            metrics = await asyncio.to_thread(scrape, f"{base_url}/metrics")
            memory = await redis.info("memory")
            received = metrics.get("collectpulse_events_received_total", math.nan)
            lag = metrics.get("collectpulse_consumer_lag_records", math.nan)
            cpu = cpu_s(worker.pid)
            span = max(now - last_t, 1e-9)
            scrape_span = max(now - last_scrape_t, 1e-9)
            applied = (received - last_received) / scrape_span
            sample = Sample(
                t_s=round(now, 1),
                worker_rss_mb=rss_mb(worker.pid),
                exporter_rss_mb=rss_mb(exporter.pid),
                redis_used_mb=int(memory["used_memory"]) / 2**20,
                redis_keys=int(await redis.dbsize()),
                lag_records=lag,
                latency_s=math.nan,
                applied_per_s=applied,
                # what reached the logs: applied plus the change in lag
                published_per_s=applied + (lag - last_lag) / scrape_span,
                worker_cpu_cores=(cpu - last_cpu) / span if index else math.nan,
                load1=os.getloadavg()[0],
            )
            samples.append(sample)
            previous = markers.latency_s.get(index - 1, math.nan)
            print(
                f"[{now:6.0f} s] worker {sample.worker_rss_mb:6.1f} MB  "
                f"redis {sample.redis_used_mb:8.1f} MB ({sample.redis_keys} keys)  "
                f"lag {lag:9.0f}  applied {applied:6.0f}/s  "
                f"published {sample.published_per_s:6.0f}/s  "
                f"cpu {sample.worker_cpu_cores:4.2f}  load {sample.load1:4.2f}  "
                f"marker[{index - 1}] {previous:6.3f} s",
                flush=True,
            )
            last_cpu, last_t = cpu, now
            if metrics:
                last_received, last_lag, last_scrape_t = received, lag, now
            index += 1
            await asyncio.sleep(max(index * args.interval - (time.monotonic() - started), 0.1))
        # let the markers still in flight finish (bounded), so every row gets its figure
        deadline = time.monotonic() + 60
        while any(math.isnan(markers.latency_s.get(i, math.nan)) for i in range(index)):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    finally:
        await markers.stop()
        stop_children(children, timeout_s=60.0)
        if samples:
            used = int((await redis.info("memory"))["used_memory"])
            text = print_breakdown(await memory_by_kind(redis), used)
            (out / "redis-memory.txt").write_text(text + "\n")
        await redis.aclose()
    for i, sample in enumerate(samples):
        sample.latency_s = markers.latency_s.get(i, math.nan)
    return samples


def key_kind(key: str) -> str:
    """``soakX:{p3}:c:60:1790000000`` -> ``c:60``; ``soakX:{p3}:m:<id>`` -> ``m`` (store.keys)."""
    _, _, rest = key.partition("}:")
    parts = rest.split(":")
    if parts[0] in ("c", "u") and len(parts) > 1:
        return f"{parts[0]}:{parts[1]}"
    if parts[0] == "seen" and len(parts) > 1:
        return f"seen:{parts[1]}"
    return parts[0] if rest else key.split(":", 1)[-1]


async def memory_by_kind(redis: Redis, per_kind: int = 2000) -> dict[str, tuple[int, float]]:
    """Key kind -> (keys, estimated bytes): ``MEMORY USAGE`` of up to ``per_kind`` keys of
    each kind (every key of the rarer kinds), scaled to the kind's key count."""
    counts: dict[str, int] = {}
    sampled: dict[str, list[str]] = {}
    async for raw in redis.scan_iter(count=5000):
        key = raw.decode()
        kind = key_kind(key)
        n = counts[kind] = counts.get(kind, 0) + 1
        chosen = sampled.setdefault(kind, [])
        if len(chosen) < per_kind:
            chosen.append(key)
        elif (slot := random.randrange(n)) < per_kind:
            chosen[slot] = key  # reservoir sampling: a uniform sample of the kind
    out = {}
    for kind, keys in sampled.items():
        pipe = redis.pipeline(transaction=False)
        for key in keys:
            pipe.memory_usage(key, samples=5)
        sizes = [int(size or 0) for size in await pipe.execute()]
        out[kind] = (counts[kind], sum(sizes) / len(sizes) * counts[kind])
    return dict(sorted(out.items(), key=lambda item: -item[1][1]))


def print_breakdown(breakdown: dict[str, tuple[int, float]], used_bytes: int) -> str:
    lines = [
        "Redis memory by key kind (MEMORY USAGE of up to 2,000 keys per kind, scaled; "
        f"used_memory {used_bytes:,} B):"
    ]
    for kind, (n, size) in breakdown.items():
        lines.append(
            f"  {kind:<14} {n:>10,} keys {size / 2**20:>10.1f} MB  {size / max(n, 1):>8.0f} B/key"
        )
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def write_csv(samples: Sequence[Sample], path: Path) -> None:
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=[f.name for f in fields(Sample)])
        writer.writeheader()
        for sample in samples:
            writer.writerow(asdict(sample))


def plot(samples: Sequence[Sample], path: Path, title: str) -> bool:
    """Draws the samples into ``path``; False when matplotlib (a bench extra) is missing."""
    try:
        import matplotlib
    except ImportError:  # make bench installs it into .venv-bench
        print(f"matplotlib is not installed here: no {path.name} (the CSV has every sample)")
        return False

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [s.t_s / 60 for s in samples]
    panels = (
        ("worker_rss_mb", "worker RSS (MB)"),
        ("redis_used_mb", "Redis used_memory (MB)"),
        ("lag_records", "consumer lag (records)"),
        ("latency_s", "publish -> visible (s)"),
        ("applied_per_s", "events/s: applied (blue), published (orange)"),
        ("load1", "load average (1 min)"),
    )
    fig, axes = plt.subplots(3, 2, figsize=(12, 9), sharex=True)
    for ax, (name, label) in zip(axes.flat, panels, strict=True):
        ys = [getattr(s, name) for s in samples]
        ax.plot(minutes, ys, marker=".", linewidth=1)
        if name == "applied_per_s":
            published = [s.published_per_s for s in samples]
            ax.plot(minutes, published, marker=".", linewidth=1)
        if name in SERIES:
            slope = slope_per_h([s.t_s for s in samples], ys)
            ax.set_title(f"{label}: slope {slope:+.3g}/h", fontsize=10)
        else:
            ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=0)
    for ax in axes[-1]:
        ax.set_xlabel("minutes")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return True


def report(samples: Sequence[Sample]) -> None:
    ts = [s.t_s for s in samples]
    half = [s for s in samples if s.t_s >= ts[-1] / 2]
    print("least-squares slope per hour (whole run | second half), first -> last sample:")
    for name in SERIES:
        ys = [getattr(s, name) for s in samples]
        second = slope_per_h([s.t_s for s in half], [getattr(s, name) for s in half])
        print(
            f"  {name:<16} {slope_per_h(ts, ys):>+12.3f}/h | {second:>+12.3f}/h   "
            f"{ys[0]:.3f} -> {ys[-1]:.3f}"
        )
    for name in ("applied_per_s", "published_per_s", "worker_cpu_cores"):
        values = [getattr(s, name) for s in samples if not math.isnan(getattr(s, name))]
        if values:
            print(f"  {name} mean {sum(values) / len(values):,.2f}")
    loads = [s.load1 for s in samples]
    print(f"  load average (1 min) mean {sum(loads) / len(loads):.2f}, max {max(loads):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=1800.0, help="seconds (default 1800)")
    parser.add_argument(
        "--rate",
        type=float,
        default=MEASURED_MAX_RATE / 2,
        help=f"events/s the simulator publishes (default {MEASURED_MAX_RATE / 2:.0f}: half of "
        "the end-to-end maximum measured with bench/pipeline.py)",
    )
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--delay-scale", type=float, default=0.02)
    parser.add_argument("--duplicates", type=float, default=0.02)
    parser.add_argument("--out-of-order", type=float, default=0.02)
    parser.add_argument("--poison", type=float, default=0.001)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--state-dir", default=".local/soak")
    parser.add_argument("--kafka-port", type=int, default=24092)
    parser.add_argument("--kafka-controller-port", type=int, default=24093)
    parser.add_argument("--redis-port", type=int, default=24379)
    parser.add_argument("--http-port", type=int, default=24464)
    parser.add_argument("--out", default=None, help="results dir (default <state-dir>/<run>)")
    parser.add_argument("--keep-redis", action="store_true", help="do not FLUSHALL at start")
    parser.add_argument("--keep-stack", action="store_true", help="leave Kafka and Redis up")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a service setting for the worker and exporter, e.g. windows=5m,10m (repeatable)",
    )
    parser.add_argument(
        "--breakdown-only",
        action="store_true",
        help="only print the memory by key kind of the soak's Redis (started from its AOF)",
    )
    parser.add_argument(
        "--replot",
        metavar="DIR",
        help="only redraw DIR/soak.png and print the slopes from DIR/soak.csv",
    )
    args = parser.parse_args()
    if args.breakdown_only:
        breakdown_only(args)
        return
    if args.replot:
        replot(Path(args.replot), args)
        return
    args.run_id = uuid.uuid4().hex[:8]
    cfg = LocalStackSettings(
        root=ROOT,
        state_dir=Path(args.state_dir),
        kafka_port=args.kafka_port,
        kafka_controller_port=args.kafka_controller_port,
        redis_port=args.redis_port,
        kafka_partitions=args.partitions,
    )
    out = Path(args.out) if args.out else ROOT / args.state_dir / f"run-{args.run_id}"
    out.mkdir(parents=True, exist_ok=True)
    bootstrap, redis_url = stack.start(cfg)
    overrides = dict(item.split("=", 1) for item in args.setting)
    settings = Settings(
        **overrides,
        kafka_bootstrap_servers=bootstrap,
        redis_url=SecretStr(redis_url),
        topic_prefix=f"soak{args.run_id}.",
        key_prefix=f"soak{args.run_id}",
        consumer_group=f"soak-{args.run_id}",
        topic_partitions=args.partitions,
        data_dir=out / "worker",
        http_port=args.http_port,
    )
    print(
        f"soak {args.run_id}: {args.duration:.0f} s at {args.rate:.0f} events/s, "
        f"{args.partitions} partitions, kafka {bootstrap}, redis {redis_url}, results {out}, "
        f"settings {overrides or 'default'}",
        flush=True,
    )
    print(f"load average at start: {os.getloadavg()}", flush=True)
    try:
        samples = asyncio.run(soak(args, settings, out))
    finally:
        with contextlib.suppress(Exception):
            asyncio.run(delete_topics(settings))
        if not args.keep_stack:
            stack.stop(cfg)
    print(f"load average at end: {os.getloadavg()}")
    write_csv(samples, out / "soak.csv")
    title = (
        f"collectpulse soak: {args.duration / 60:.0f} min at {args.rate:.0f} events/s "
        f"(1 worker, {args.partitions} partitions)"
    )
    drawn = plot(samples, out / "soak.png", title)
    report(samples)
    print(f"wrote {out / 'soak.csv'}" + (f" and {out / 'soak.png'}" if drawn else ""))


def read_csv(path: Path) -> list[Sample]:
    with path.open() as source:
        rows = list(csv.DictReader(source))
    out = []
    for row in rows:
        values: dict[str, Any] = {k: float(v) for k, v in row.items()}
        values["redis_keys"] = int(values["redis_keys"])
        out.append(Sample(**values))
    return out


def replot(out: Path, args: argparse.Namespace) -> None:
    samples = read_csv(out / "soak.csv")
    minutes = samples[-1].t_s / 60
    title = (
        f"collectpulse soak: {minutes:.0f} min at {args.rate:.0f} events/s "
        f"(1 worker, {args.partitions} partitions)"
    )
    plot(samples, out / "soak.png", title)
    report(samples)


def breakdown_only(args: argparse.Namespace) -> None:
    from collectpulse.localstack import redis as local_redis

    cfg = LocalStackSettings(root=ROOT, state_dir=Path(args.state_dir), redis_port=args.redis_port)

    async def run(url: str) -> None:
        client = Redis.from_url(url)
        try:
            used = int((await client.info("memory"))["used_memory"])
            print_breakdown(await memory_by_kind(client), used)
        finally:
            await client.aclose()

    asyncio.run(run(local_redis.start(cfg)))


if __name__ == "__main__":
    main()
