"""Where one cold scrape's CPU goes: the store read (exporter and Redis side) and each
step of the render, over a store that ``bench/scrape.py --keep`` left in Redis.

    .venv/bin/python bench/scrape.py --combos 1000 --scrapes 5 --keep
    .venv/bin/python bench/scrape_profile.py --key-prefix scrapeXXXXXXXX  # as it printed

Each round reads with the per-partition cache dropped (as when every partition moved
since the last scrape, under a live worker), then with a reader kept across
rounds (nothing moved: the cached read and the kept text of the summed families).
CPU time (``time.process_time``, Redis ``INFO cpu``), minimum of ``--rounds``: the
shared machine's load stretches wall times, much less CPU time. A script, not a test:
figures go to docs/BENCHMARKS.md ("Scrape").
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from collectpulse.exporter import collector, computed
from collectpulse.exporter.collector import SummedText
from collectpulse.exporter.exposition import render
from collectpulse.exporter.http import render_kpis
from collectpulse.localstack import stack
from collectpulse.localstack.settings import LocalStackSettings
from collectpulse.settings import Settings
from collectpulse.store.read_cache import PartitionCache
from collectpulse.store.reader import StoreReader, StoreView
from collectpulse.store.silence import deliveries_since, silence_starts


async def redis_cpu_s(client: Redis) -> float:
    info = await client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def render_steps(view: StoreView) -> dict[str, float]:
    """CPU seconds of each step of ``render_kpis`` over ``view``."""
    steps: dict[str, Callable[[], list[Any]]] = {
        "counters (known zeros, rows)": lambda: list(collector._counters(view)),
        "ratios": lambda: list(collector._ratios(view)),
        "histograms": lambda: list(collector._histograms(view)),
        "computed gauges": lambda: [
            *computed.experiments(view, 100),
            *computed.landing_silence(view),
            *computed.struggling(view),
            *computed.pipeline(view),
        ],
    }
    out, families = {}, []
    for name, step in steps.items():
        started = time.process_time()
        families += step()
        out[name] = time.process_time() - started
    started = time.process_time()
    body = render(families)
    out["text"] = time.process_time() - started
    out["samples"] = sum(1 for line in body.splitlines() if not line.startswith(b"#"))
    return out


async def run(args: argparse.Namespace, redis_url: str) -> None:
    settings = Settings(redis_url=redis_url, key_prefix=args.key_prefix)  # type: ignore[arg-type]
    client = Redis.from_url(redis_url)
    probe = Redis.from_url(redis_url)
    figures: dict[str, list[float]] = {}
    reader = StoreReader(client, settings)
    await reader.read()
    kept = StoreReader(client, settings)
    await kept.read()
    try:
        for _ in range(args.rounds):
            # its per-partition cache dropped (key names kept, as in an exporter): as if
            # every partition had moved since the last read
            reader._cache, reader._last = PartitionCache(), None
            redis_before, started = await redis_cpu_s(probe), time.process_time()
            view = await reader.read()
            read_s = time.process_time() - started
            figures.setdefault("store read, exporter", []).append(read_s)
            figures.setdefault("store read, Redis", []).append(
                await redis_cpu_s(probe) - redis_before
            )
            redis_before = await redis_cpu_s(probe)
            await deliveries_since(
                reader._scripts,
                reader._keys,
                view.partitions,
                silence_starts(view.totals),
                now_s=view.now_s,
                bucket_s=settings.bucket_s,
                lookback_s=max(settings.windows_s.values()),
            )
            figures.setdefault("  of which landing silence, Redis", []).append(
                await redis_cpu_s(probe) - redis_before
            )
            for name, value in render_steps(view).items():
                figures.setdefault(name, []).append(value)
            # the kept reader: no partition moved since its last read
            redis_before, started = await redis_cpu_s(probe), time.process_time()
            unmoved = await kept.read()
            figures.setdefault("nothing moved: store read, exporter", []).append(
                time.process_time() - started
            )
            figures.setdefault("nothing moved: store read, Redis", []).append(
                await redis_cpu_s(probe) - redis_before
            )
            summed = SummedText()
            summed.render(unmoved)
            started = time.process_time()
            render_kpis(unmoved, min_sample=settings.experiment_min_sample, summed=summed)
            figures.setdefault("nothing moved: render (summed text kept)", []).append(
                time.process_time() - started
            )
    finally:
        await client.aclose()
        await probe.aclose()
    samples = figures.pop("samples")[0]
    print(f"one cold scrape of {args.key_prefix}: {samples:,.0f} samples, CPU ms (min)")
    for name, values in figures.items():
        print(f"  {name:<44} {min(values) * 1000:7.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key-prefix", required=True, help="the store bench/scrape.py kept")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    _, redis_url = stack.start(LocalStackSettings(root=Path(__file__).resolve().parents[1]))
    asyncio.run(run(args, redis_url))


if __name__ == "__main__":
    main()
