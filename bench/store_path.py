"""The worker's CPU path without Kafka: decode + plan + exactly-once write, in one process.

Generates simulated events, splits them by topic and partition like Kafka
would (murmur2 of the key), and feeds batches of up to ``--batch`` records to
``decode_batch`` and ``StoreWriter.apply`` against a real Redis, with the
customer touches applied too. Prints events/s and the CPU split, so a change
to decoding or planning can be measured without a broker's noise.

    .venv/bin/python bench/store_path.py --events 100000 --redis redis://127.0.0.1:16379/0
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from collectpulse.events.models import Topic
from collectpulse.kafka.partitioning import murmur2
from collectpulse.settings import Settings
from collectpulse.simulate import EventGenerator, to_record
from collectpulse.store import writer as writer_module
from collectpulse.store.label_slots import LabelSlots
from collectpulse.store.writer import StoreWriter
from collectpulse.stream import agents as agents_module
from collectpulse.stream.batch import RawRecord, RecordBatch


def _partition(key: bytes, partitions: int) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def batches(events: int, partitions: int, size: int, seed: int) -> list[RecordBatch]:
    """Records in arrival order, cut into per (topic, partition) batches of ``size``."""
    start = datetime.now(UTC) - timedelta(minutes=30)
    gen = EventGenerator(seed=seed, start=start, events_per_s=events / 1800)
    pending: dict[tuple[Topic, int], list[RawRecord]] = defaultdict(list)
    offsets: dict[tuple[Topic, int], int] = defaultdict(int)
    out: list[RecordBatch] = []
    now_ms = int(time.time() * 1000)
    for _ in range(events):
        rec = to_record(next(gen))
        tp = (rec.topic, _partition(rec.key, partitions))
        pending[tp].append(RawRecord(offsets[tp], rec.key, rec.value, (), now_ms))
        offsets[tp] += 1
        if len(pending[tp]) == size:
            out.append(_batch(tp, pending.pop(tp)))
    out.extend(_batch(tp, recs) for tp, recs in pending.items())
    return out


def _batch(tp: tuple[Topic, int], records: Sequence[RawRecord]) -> RecordBatch:
    return RecordBatch(tp[0].value, tp[1], records[0].offset, records[-1].offset, tuple(records))


async def run(args: argparse.Namespace) -> None:
    settings = Settings(redis_url=args.redis, key_prefix="bench", topic_partitions=args.partitions)
    client = Redis.from_url(args.redis)
    await client.flushdb()
    work = batches(args.events, args.partitions, args.batch, args.seed)
    touches: dict[int, list[tuple[int, bytes]]] = defaultdict(list)
    touch_offsets: dict[int, int] = defaultdict(int)

    async def publish(records: Sequence[tuple[bytes, bytes]]) -> None:
        for key, value in records:
            p = _partition(key, args.partitions)
            touches[p].append((touch_offsets[p], value))
            touch_offsets[p] += 1

    if args.gc != "default":
        gc.freeze()  # as `collectpulse worker` does after start-up
    if args.gc == "off":
        gc.disable()
    writer = StoreWriter(client, settings, publish=publish)
    await client.config_resetstat()
    phases = _time_phases()
    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    cpu = time.process_time()
    if profiler:
        profiler.enable()
    for batch in work:
        topic = Topic(batch.topic)
        records = agents_module.decode_batch(
            topic,
            batch,
            max_bytes=settings.max_event_bytes,
            now_s=int(time.time()),
            future_tolerance_s=settings.future_tolerance_s,
        )
        await writer.apply(topic, batch.partition, records)
    for partition, recs in touches.items():
        for i in range(0, len(recs), args.batch):
            await writer.apply_touches(partition, recs[i : i + args.batch])
    if profiler:
        profiler.disable()
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    info = await client.info("commandstats")
    lua = info.get("cmdstat_evalsha", {}) or info.get("cmdstat_fcall", {})
    n_touches = sum(map(len, touches.values()))
    print(f"{args.events:,} events in {len(work)} batches, {n_touches:,} touches")
    print(f"  rate        {args.events / wall:>10,.0f} events/s (wall {wall:.2f} s)")
    print(f"  worker CPU  {cpu / args.events * 1e6:>10.1f} us/event")
    for phase, spent in phases.items():
        print(f"    {phase:<14}{spent / args.events * 1e6:>8.1f} us/event")
    if lua:
        print(f"  redis lua   {lua['usec'] / args.events:>10.1f} us/event ({lua['calls']} calls)")
    if profiler:
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.profile)
    await client.aclose()


def _time_phases() -> dict[str, float]:
    """Wrap the CPU phases of the path so their thread CPU time adds up here."""
    spent: dict[str, float] = defaultdict(float)

    def timed(module: Any, name: str) -> None:
        inner = getattr(module, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.thread_time()
            try:
                return inner(*args, **kwargs)
            finally:
                spent[name] += time.thread_time() - t0

        setattr(module, name, wrapper)

    def timed_async(cls: Any, name: str, label: str = "") -> None:
        inner = getattr(cls, name)

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.thread_time()
            try:
                return await inner(*args, **kwargs)
            finally:
                spent[label or name] += time.thread_time() - t0

        setattr(cls, name, wrapper)

    timed_async(StoreWriter, "_read")
    timed_async(StoreWriter, "_write")
    timed_async(LabelSlots, "admit", "_admit_labels")  # StoreWriter's until e814c60
    timed(writer_module, "plan_partition")
    timed(writer_module, "add_wanted")  # imported by name into store.writer
    timed(agents_module, "decode_batch")
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--redis", default="redis://127.0.0.1:16379/0")
    parser.add_argument("--profile", type=int, default=0, help="print the top N of a cProfile")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--gc", choices=["default", "freeze", "off"], default="freeze")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
