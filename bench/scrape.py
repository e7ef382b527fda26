"""Scrape benchmark: /metrics of a real exporter process over a store with N (default
1,000) campaign x variant combinations.

Synthetic sends (with deliveries, bounces, opens, clicks), payments, promises and
landing views are written through the real StoreWriter into the local Redis (no
worker needed); the canonical topics exist in the local Kafka so the exporter's
consumer-lag path runs too. Then ``collectpulse exporter`` is started and scraped:

- first: the exporter's first scrape (nothing read or rendered yet);
- cold: each scrape after the exporter's one-second view cache expired (a fresh store
  read and render, what one Prometheus sees); ``--moving N`` writes into N partitions
  before each, as a live worker would, so their per-partition read caches are invalid;
- cached: back-to-back scrapes (a second Prometheus replica within the same second).

Prints p50/p99 latency in ms, the body size and the sample count, the exporter's and
Redis' CPU per cold scrape (what a busy machine does not inflate), the exporter's peak
RSS, plus an in-process breakdown (store read vs. render). A script, not a test:
figures go to docs/BENCHMARKS.md.

    .venv/bin/python bench/scrape.py --combos 1000 --scrapes 30

Campaigns have 5 variants each up to the campaign label cap (200 campaigns), so 5,000
combinations are 200 campaigns of 25 variants.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from redis.asyncio import Redis

from collectpulse.events.decode import decode
from collectpulse.events.models import Topic
from collectpulse.exporter.http import VIEW_MAX_AGE_S, render_kpis
from collectpulse.localstack import stack
from collectpulse.localstack.settings import LocalStackSettings
from collectpulse.settings import Settings, duration_s
from collectpulse.store.context import Record
from collectpulse.store.reader import StoreReader
from collectpulse.store.touches import TOUCH_TOPIC
from collectpulse.store.writer import StoreWriter
from collectpulse.stream.deadletter import DLQ_TOPIC

ROOT = Path(__file__).resolve().parents[1]
TENANTS = ("northbank", "telco-one", "brightwater-energy")
CHANNELS = ("email", "sms", "email", "email", "letter")
BATCH = 2000


def iso(at_s: float) -> str:
    return datetime.fromtimestamp(at_s, UTC).isoformat()


class Synthetic:
    """Per partition and topic: the JSON payloads of a synthetic collections history."""

    def __init__(self, args: argparse.Namespace, partitions: int, now_s: float) -> None:
        self.rng = random.Random(args.seed)
        self.partitions = partitions
        self.now_s = now_s
        self.spread_s = duration_s(args.spread)
        self.ids = 0
        self.out: dict[tuple[Topic, int], list[dict[str, Any]]] = defaultdict(list)
        variants = args.combos // args.campaigns
        for combo in range(args.combos):
            campaign, variant = combo // variants, combo % variants
            for _ in range(args.messages_per_combo):
                self.message(f"campaign-{campaign:03d}", f"variant-{variant}", campaign)
        for i in range(args.combos):
            self.customer_events(i)

    def event(self, topic: Topic, partition: int, at_s: float, **body: Any) -> None:
        self.ids += 1
        self.out[(topic, partition)].append(
            {"event_id": f"e-{self.ids}", "occurred_at": iso(at_s), **body}
        )

    def message(self, campaign: str, variant: str, campaign_no: int) -> None:
        rng, mid = self.rng, f"m-{self.ids}"
        p = self.ids % self.partitions
        sent_s = self.now_s - rng.uniform(0, self.spread_s)
        channel = CHANNELS[campaign_no % len(CHANNELS)]
        self.event(
            Topic.DELIVERY,
            p,
            sent_s,
            message_id=mid,
            status="sent",
            channel=channel,
            customer_id=f"c-{rng.randrange(10**6)}",
            campaign=campaign,
            variant=variant,
            tenant=TENANTS[campaign_no % len(TENANTS)],
        )
        if rng.random() < 0.05:
            kind = "hard" if rng.random() < 0.5 else "soft"
            self.event(Topic.BOUNCE, p, sent_s + 30, message_id=mid, bounce_type=kind)
            return
        self.event(
            Topic.DELIVERY, p, sent_s + 20, message_id=mid, status="delivered", channel=channel
        )
        if rng.random() < 0.4:
            self.event(Topic.OPEN, p, sent_s + 600, message_id=mid, machine=rng.random() < 0.3)
            if rng.random() < 0.3:
                self.event(Topic.CLICK, p, sent_s + 700, message_id=mid)

    def customer_events(self, i: int) -> None:
        rng, p = self.rng, i % self.partitions
        at_s = self.now_s - rng.uniform(0, self.spread_s)
        tenant = TENANTS[i % len(TENANTS)]
        source = rng.choice(("direct", "email", "sms", "letter", "other"))
        self.event(Topic.PAGEVIEW, p, at_s, visitor_id=f"v-{i}", source=source, tenant=tenant)
        self.event(
            Topic.PAYMENT,
            p,
            at_s + 60,
            payment_id=f"pay-{i}",
            customer_id=f"c-{i}",
            status=rng.choice(("succeeded", "failed", "aborted")),
            amount_minor=rng.randrange(1000, 50000),
            currency=rng.choice(("EUR", "EUR", "USD")),
            tenant=tenant,
        )
        self.event(
            Topic.PROMISE,
            p,
            at_s + 120,
            promise_id=f"ptp-{i}",
            customer_id=f"c-{i}",
            kind="promise_to_pay",
            status=rng.choice(("made", "kept", "broken")),
            direction=rng.choice(("inbound", "outbound", "self_service")),
            amount_minor=5000,
            currency="EUR",
            due_date="2027-03-01",
            tenant=tenant,
        )


async def fill_store(settings: Settings, args: argparse.Namespace) -> int:
    """Write the synthetic history through the real StoreWriter; returns the event count."""
    client = Redis.from_url(settings.redis_url.get_secret_value())
    writer = StoreWriter(client, settings)
    synthetic = Synthetic(args, settings.topic_partitions, time.time())
    order = list(Topic)  # sends (delivery) before the events that join on them
    written = 0
    try:
        for (topic, partition), payloads in sorted(
            synthetic.out.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1])
        ):
            for start in range(0, len(payloads), BATCH):
                chunk = payloads[start : start + BATCH]
                records = []
                for offset, payload in enumerate(chunk, start=start):
                    raw = orjson.dumps(payload)
                    records.append(Record(offset, raw, decode(topic, raw, max_bytes=65536)))
                await writer.apply(topic, partition, records)
                written += len(records)
    finally:
        await client.aclose()
    return written


async def create_topics(settings: Settings) -> None:
    names = [settings.topic(t.value) for t in Topic]
    names += [settings.topic(DLQ_TOPIC), settings.topic(TOUCH_TOPIC)]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await asyncio.wait_for(admin.start(), 30)
    try:
        await admin.create_topics([NewTopic(n, settings.topic_partitions, 1) for n in names])
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()


def exporter_env(settings: Settings, port: int) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        value = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        env[f"COLLECTPULSE_{name.upper()}"] = (
            ",".join(value) if isinstance(value, tuple) else str(value)
        )
    env["COLLECTPULSE_HTTP_PORT"] = str(port)
    return env


async def wait_until_serving(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit(f"exporter did not answer {url} within {timeout_s} s")


class Mover:
    """Writes one landing view into each of the first ``partitions`` partitions, through
    the real StoreWriter, so their write versions move as a live worker's would."""

    def __init__(self, settings: Settings, partitions: int) -> None:
        self.client = Redis.from_url(settings.redis_url.get_secret_value())
        self.writer = StoreWriter(self.client, settings)
        self.partitions = partitions
        self.offset = 10**6  # past the history's offsets on every stream

    async def touch(self) -> None:
        self.offset += 1
        for p in range(self.partitions):
            payload = {
                "event_id": f"moved-{self.offset}-{p}",
                "occurred_at": iso(time.time()),
                "visitor_id": f"mover-{self.offset}",
                "source": "direct",
                "tenant": TENANTS[0],
            }
            raw = orjson.dumps(payload)
            record = Record(self.offset, raw, decode(Topic.PAGEVIEW, raw, max_bytes=65536))
            await self.writer.apply(Topic.PAGEVIEW, p, [record])


async def time_scrapes(
    url: str, count: int, pause_s: float, mover: Mover | None = None
) -> tuple[list[float], int, int]:
    """Scrape ``count`` times, ``pause_s`` apart (the mover writing first); latencies in ms,
    body bytes, samples."""
    latencies, size, samples = [], 0, 0
    async with httpx.AsyncClient(timeout=300) as client:
        for _ in range(count):
            if mover is not None and mover.partitions:
                await mover.touch()
            if pause_s:
                await asyncio.sleep(pause_s)
            started = time.perf_counter()
            response = await client.get(url)
            latencies.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
            size = len(response.content)
            samples = sum(
                1 for line in response.content.splitlines() if line and not line.startswith(b"#")
            )
    return latencies, size, samples


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads) so far, Linux only."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def redis_cpu(settings: Settings) -> float:
    """User + system CPU seconds of the Redis server so far (INFO cpu)."""
    client = Redis.from_url(settings.redis_url.get_secret_value())
    try:
        info = await client.info("cpu")
    finally:
        await client.aclose()
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def peak_rss_bytes(pid: int) -> int:
    """The process's peak resident set (VmHWM), Linux only."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise SystemExit(f"no VmHWM for pid {pid}")


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


async def breakdown(settings: Settings, rounds: int = 5) -> tuple[float, float]:
    """In-process median ms of one store read and of rendering it."""
    client = Redis.from_url(settings.redis_url.get_secret_value())
    reader = StoreReader(client, settings)
    reads, renders = [], []
    try:
        for _ in range(rounds):
            started = time.perf_counter()
            view = await reader.read()
            reads.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            render_kpis(view, min_sample=settings.experiment_min_sample)
            renders.append((time.perf_counter() - started) * 1000)
    finally:
        await client.aclose()
    return statistics.median(reads), statistics.median(renders)


async def cleanup(settings: Settings) -> None:
    """Remove the run's keys (its own prefix only)."""
    client = Redis.from_url(settings.redis_url.get_secret_value())
    try:
        batch = []
        async for key in client.scan_iter(match=f"{settings.key_prefix}:*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                await client.unlink(*batch)
                batch = []
        if batch:
            await client.unlink(*batch)
    finally:
        await client.aclose()


async def run(args: argparse.Namespace, bootstrap: str, redis_url: str) -> None:
    run_id = uuid.uuid4().hex[:8]
    settings = Settings(
        kafka_bootstrap_servers=bootstrap,
        redis_url=redis_url,  # type: ignore[arg-type]
        topic_prefix=f"scrape{run_id}.",
        key_prefix=f"scrape{run_id}",
        topic_partitions=args.partitions,
    )
    started = time.perf_counter()
    events = await fill_store(settings, args)
    elapsed_s = time.perf_counter() - started
    print(f"store: {events} events written in {elapsed_s:.1f} s, key prefix {settings.key_prefix}")
    await create_topics(settings)
    port = int(args.port)
    url = f"http://127.0.0.1:{port}/metrics"
    log_path = Path(f"/tmp/collectpulse-scrape-{run_id}.log")
    with log_path.open("wb") as log:
        exporter = subprocess.Popen(
            [sys.executable, "-m", "collectpulse.cli", "exporter"],
            env=exporter_env(settings, port),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # /healthz, not /metrics: at 5,000 combinations the old exporter's first scrape
        # takes longer than the probe's timeout
        await wait_until_serving(url.removesuffix("/metrics") + "/healthz")
        # the exporter's first scrape reads and renders everything: timed on its own
        first, _, _ = await time_scrapes(url, 1, 0.0)
        mover = Mover(settings, args.moving)
        exporter_cpu_s, redis_cpu_s = process_cpu_s(exporter.pid), await redis_cpu(settings)
        try:
            cold, size, samples = await time_scrapes(url, args.scrapes, VIEW_MAX_AGE_S + 0.1, mover)
        finally:
            await mover.client.aclose()
        exporter_cpu_ms = (process_cpu_s(exporter.pid) - exporter_cpu_s) * 1000 / args.scrapes
        redis_cpu_ms = (await redis_cpu(settings) - redis_cpu_s) * 1000 / args.scrapes
        cached, _, _ = await time_scrapes(url, args.scrapes, 0.0)
        peak_rss_mb = peak_rss_bytes(exporter.pid) / 2**20
        read_ms, render_ms = await breakdown(settings)
    finally:
        exporter.terminate()
        exporter.wait(timeout=30)
        if not args.keep:
            await cleanup(settings)
    print(
        f"/metrics with {args.combos} campaign x variant combinations "
        f"({args.campaigns} campaigns, {args.partitions} partitions, sends over {args.spread})"
    )
    print(f"  body                 {size / 1e6:8.2f} MB, {samples} samples")
    print(f"  first scrape         {first[0]:7.1f} ms (exporter just started: nothing cached)")
    print(f"  cold scrapes: {args.moving} of {args.partitions} partitions written before each")
    for name, latencies in (("cold (fresh read)", cold), ("cached (same second)", cached)):
        print(
            f"  {name:<20} p50 {quantile(latencies, 0.5):7.1f} ms   "
            f"p99 {quantile(latencies, 0.99):7.1f} ms   ({len(latencies)} scrapes)"
        )
    print(f"  in process           store read {read_ms:.1f} ms, render {render_ms:.1f} ms (median)")
    print(
        f"  CPU per cold scrape  exporter {exporter_cpu_ms:.0f} ms, redis {redis_cpu_ms:.0f} ms "
        "(what a loaded machine cannot stretch)"
    )
    print(f"  exporter peak RSS    {peak_rss_mb:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--combos", type=int, default=1000, help="campaign x variant pairs")
    parser.add_argument(
        "--campaigns",
        type=int,
        help="campaigns (<= the label cap, 200); default: 5 variants each, at most 200",
    )
    parser.add_argument("--messages-per-combo", type=int, default=10)
    parser.add_argument("--spread", default="24h", help="sends spread over this past period")
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--scrapes", type=int, default=30)
    parser.add_argument("--port", type=int, default=19465)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="leave the run's keys in Redis")
    parser.add_argument(
        "--moving",
        type=int,
        default=0,
        help="partitions written (a landing view each) before each cold scrape, so their "
        "write versions move as under a live worker; 0: an idle store",
    )
    args = parser.parse_args()
    if args.campaigns is None:
        args.campaigns = max(min(200, args.combos // 5), 1)
    if args.combos % args.campaigns:
        parser.error("--combos must be a multiple of --campaigns")
    # COLLECTPULSE_LOCAL_* selects the stack (default: the `make run` ports)
    bootstrap, redis_url = stack.start(LocalStackSettings(root=ROOT))
    asyncio.run(run(args, bootstrap, redis_url))


if __name__ == "__main__":
    main()
