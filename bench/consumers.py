"""Reference consumer rates on the local broker: bare aiokafka, stock Faust, our batched Faust
hot path and Quix Streams, each over the same pre-published topic.

A script, not a test. It publishes N JSON events (~190 B) to a 1-partition (and
optionally 8-partition) topic once (reused by later runs), then runs every
consumer in its own subprocess with a bounded timeout and reports the median
events/s of several runs, timed in steady state: from the record that ends a
10% warm-up to the N-th processed (start-up, group join, prefetch and pre-filled
queues excluded)::

    .venv/bin/python bench/consumers.py                      # 200k events, 1 partition, 3 runs
    .venv/bin/python bench/consumers.py --partitions 1 8
    .venv/bin/python bench/consumers.py --profile .local/bench   # + py-spy profiles, summarised
    .venv/bin/python bench/consumers.py --json               # last line: {"name": events/s}

The broker must be running (see docs/HOT_PATH.md).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

DEFAULT_BOOTSTRAP = "127.0.0.1:19092"
EVENT_BASE_MS = 1_700_000_000_000


def event(i: int) -> bytes:
    return orjson.dumps(
        {
            "event_id": f"{i:032x}",
            "type": "delivery",
            "message_id": f"msg-{i % 100_000:08d}",
            "customer_id": f"cus-{i % 20_000:07d}",
            "campaign_id": "spring-rem",
            "provider": "ses",
            "occurred_at_ms": EVENT_BASE_MS + i,
        }
    )


# --------------------------------------------------------------------------- topic


async def ensure_topic(bootstrap: str, topic: str, partitions: int, events: int) -> None:
    """Create and fill ``topic`` unless an earlier run already did."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await asyncio.wait_for(admin.start(), 15)
    try:
        if topic not in await admin.list_topics():
            await admin.create_topics([NewTopic(topic, partitions, replication_factor=1)])
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        present = sum((await consumer.end_offsets(tps)).values())
    finally:
        await consumer.stop()
    if present == events:
        return
    if present:
        raise SystemExit(f"{topic} holds {present} records, not {events}: delete it first")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=262_144)
    await producer.start()
    try:
        started = time.perf_counter()
        for start in range(0, events, 10_000):
            futures = [
                await producer.send(topic, event(i), partition=i % partitions)
                for i in range(start, min(start + 10_000, events))
            ]
            await asyncio.gather(*futures)
        print(f"published {events} events to {topic} in {time.perf_counter() - started:.1f}s")
    finally:
        await producer.stop()


async def delete_topics_with_prefix(bootstrap: str, *prefixes: str) -> None:
    """Remove the topics a run created (e.g. a one-off group's internal topics)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await asyncio.wait_for(admin.start(), 15)
    try:
        doomed = [t for t in await admin.list_topics() if t.startswith(prefixes)]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


# --------------------------------------------------------------------------- consumers
# Each runs in a child process and ends by printing {"events": n, "seconds": s}.


class Clock:
    """Steady-state timer: from the record that ends the warm-up to the last one.

    Skipping the first records keeps start-up, prefetch and pre-filled agent
    queues (4 batches of 5,000 records for ours) out of the figure. Ends the
    child process when done.
    """

    def __init__(self, events: int, warmup: int) -> None:
        self.events = events
        self.warmup = warmup
        self.count = 0
        self.counted_from = -1
        self.started = 0.0
        self.cpu_started = 0.0

    def add(self, n: int) -> None:
        self.count += n
        if self.counted_from < 0 and self.count >= self.warmup:
            os.write(1, b'{"warm": true}\n')  # the parent may attach a profiler now
            self.started, self.counted_from = time.perf_counter(), self.count
            self.cpu_started = time.process_time()
        if self.count >= self.events:
            seconds = time.perf_counter() - self.started
            result = {
                "events": self.count - self.counted_from,
                "seconds": seconds,
                "cpu_seconds": time.process_time() - self.cpu_started,
            }
            # fd 1, not print(): a Faust worker redirects sys.stdout into its log.
            os.write(1, (json.dumps(result) + "\n").encode())
            os._exit(0)  # a bench child: skip each framework's graceful shutdown


async def run_bare_aiokafka(args: argparse.Namespace) -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=args.bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    topics = args.topic.split(",")  # bench/peers.py passes the product's topics
    consumer.assign([TopicPartition(t, p) for t in topics for p in range(args.partitions)])
    clock, loads = Clock(args.events, args.warmup), orjson.loads
    while True:
        fetched = await consumer.getmany(timeout_ms=1000, max_records=10_000)
        for records in fetched.values():
            for record in records:
                loads(record.value)
            clock.add(len(records))


def faust_app(args: argparse.Namespace, broker: str) -> Any:
    import faust

    return faust.App(
        args.group,
        broker=broker,
        datadir=tempfile.mkdtemp(prefix="bench-faust-"),
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
    )


def run_faust_worker(app: Any, args: argparse.Namespace) -> None:
    loop = ["--loop", "uvloop"] if args.loop == "uvloop" else []
    sys.argv = [sys.argv[0], *loop, "worker", "-l", "warn", "--without-web"]
    app.main()


def run_stock_faust(args: argparse.Namespace) -> None:
    app = faust_app(args, f"kafka://{args.bootstrap}")
    clock = Clock(args.events, args.warmup)

    # defaults: json value serializer, per-event stream
    @app.agent(app.topic(*args.topic.split(",")))
    async def count(stream: Any) -> None:
        async for _ in stream:
            clock.add(1)

    run_faust_worker(app, args)


def run_batched_faust(args: argparse.Namespace) -> None:
    from collectpulse.stream.transport import batch_topic, register

    register()
    app = faust_app(args, f"batchkafka://{args.bootstrap}?max_batch_records={args.batch}")
    clock, loads = Clock(args.events, args.warmup), orjson.loads

    @app.agent(batch_topic(app, args.topic))
    async def decode(stream: Any) -> None:
        if args.gc_freeze:
            # Faust's start-up heap is large; without this every full collection
            # triggered by per-record allocations walks all of it.
            gc.collect()
            gc.freeze()
        async for batch in stream:
            for record in batch.records:
                loads(record.value)
            clock.add(len(batch.records))

    run_faust_worker(app, args)


def run_quix(args: argparse.Namespace) -> None:
    from quixstreams import Application

    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        state_dir=tempfile.mkdtemp(prefix="bench-quix-"),
        loglevel="WARNING",
    )
    clock = Clock(args.events, args.warmup)
    for topic in args.topic.split(","):  # one dataframe per topic: no concat, no alignment
        sdf = app.dataframe(app.topic(topic, value_deserializer="json"))
        sdf.update(lambda _value: clock.add(1))
    app.run()


CHILDREN = {
    "aiokafka": lambda a: asyncio.run(run_bare_aiokafka(a)),
    "faust-stock": run_stock_faust,
    "faust-batched": run_batched_faust,
    "quix": run_quix,
}


# --------------------------------------------------------------------------- parent


@dataclass(frozen=True)
class Case:
    label: str
    child: str
    loop: str = "asyncio"
    gc_freeze: bool = False
    baseline: bool = False


CASES = [
    Case("bare aiokafka getmany(10000) + orjson", "aiokafka", baseline=True),
    Case("stock Faust agent, defaults", "faust-stock"),
    Case("batched Faust + orjson per record", "faust-batched"),
    Case("batched Faust + orjson, uvloop", "faust-batched", loop="uvloop"),
    Case("batched Faust + orjson, gc.freeze()", "faust-batched", gc_freeze=True),
    Case("batched, uvloop + gc.freeze()", "faust-batched", loop="uvloop", gc_freeze=True),
    Case("Quix Streams 3.28, counting, json", "quix"),
]


@dataclass(frozen=True)
class Run:
    command: list[str]
    group: str
    bootstrap: str


def child_run(case: Case, args: argparse.Namespace, topic: str, partitions: int) -> Run:
    """A child command with its own consumer group, so every run reads from the start."""
    group = f"bench.consumers.{case.child}.{uuid.uuid4().hex[:8]}"
    command = [
        sys.executable,
        __file__,
        "child",
        case.child,
        f"--bootstrap={args.bootstrap}",
        f"--topic={topic}",
        f"--partitions={partitions}",
        f"--events={args.events}",
        f"--group={group}",
        f"--loop={case.loop}",
        f"--batch={args.batch}",
        f"--warmup={int(args.events * args.warmup)}",
        *(["--gc-freeze"] if case.gc_freeze else []),
    ]
    return Run(command, group, args.bootstrap)


@dataclass(frozen=True)
class Measured:
    events_per_s: float
    cpu_us_per_event: float  # both threads of the consumer process; the broker excluded


def run_once(run: Run, timeout_s: float, profile: Path | None = None) -> Measured | None:
    """One child run; with ``profile``, py-spy attaches once the warm-up is over."""
    deadline = time.monotonic() + timeout_s
    spy: subprocess.Popen[bytes] | None = None
    with tempfile.TemporaryFile() as stderr:
        child = subprocess.Popen(run.command, stdout=subprocess.PIPE, stderr=stderr, text=True)
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_read_lines, args=(child, lines), daemon=True).start()
        try:
            while True:
                try:
                    line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    print(f"  timed out after {timeout_s:.0f}s: {run.command[3]}", file=sys.stderr)
                    return None
                if not line:
                    stderr.seek(0)
                    tail = stderr.read()[-2000:].decode(errors="replace")
                    print(f"  {run.command[3]} exited without a result:\n{tail}", file=sys.stderr)
                    return None
                if line.startswith('{"warm"') and profile is not None:
                    spy = subprocess.Popen(
                        [str(Path(sys.executable).parent / "py-spy"), "record", "--pid",
                         str(child.pid), "--format", "raw", "--rate", "250", "--threads", "--gil",
                         "--nonblocking", "-o", str(profile)],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    )  # fmt: skip
                if line.startswith('{"events"'):
                    result = json.loads(line)
                    return Measured(
                        result["events"] / result["seconds"],
                        result["cpu_seconds"] / result["events"] * 1e6,
                    )
        finally:
            if child.poll() is None:
                child.kill()
            child.wait()
            if spy is not None:
                spy.wait(timeout=60)
            asyncio.run(delete_topics_with_prefix(run.bootstrap, run.group))


def _read_lines(child: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    assert child.stdout is not None
    for line in child.stdout:
        lines.put(line)
    lines.put("")  # end of output


def summarise_profile(path: Path, top: int = 12) -> str:
    """GIL-holding samples per thread, by package of the innermost frame, top functions.

    Recorded with ``--gil``: a thread waiting for the GIL is not counted. Native
    code (orjson, uvloop) and cyclic GC are charged to the Python frame running.
    """
    by_thread: Counter[str] = Counter()
    by_package: Counter[str] = Counter()
    by_function: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = "faust consumer thread" if "Thread-" in frames[0] else "main thread"
        leaf = frames[-1]
        by_thread[thread] += count
        by_package[f"{thread}: {_package(leaf)}"] += count
        by_function[f"{leaf.split(' (')[0]} [{_package(leaf)}]"] += count
    total = sum(by_thread.values())
    if not total:
        return f"  {path}: no samples"
    out = [f"  {path.name}: {total} samples holding the GIL (250 Hz)"]
    out += [f"    {n / total:6.1%}  {name}" for name, n in by_thread.most_common()]
    out.append("    by package (self time):")
    out += [f"    {n / total:6.1%}  {name}" for name, n in by_package.most_common(top)]
    out.append("    top functions (self time):")
    out += [f"    {n / total:6.1%}  {name}" for name, n in by_function.most_common(top)]
    return "\n".join(out)


PACKAGES = ("faust", "mode", "aiokafka", "asyncio", "uvloop", "collectpulse", "quixstreams")


def _package(frame: str) -> str:
    where = frame.rpartition("(")[2]
    for package in PACKAGES:
        if f"/{package}/" in where or where.startswith(f"{package}/"):
            return package
    if "consumers.py" in where:
        return "bench agent"
    return where.split(":")[0].rsplit("/", 1)[-1] or "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", default=DEFAULT_BOOTSTRAP)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--partitions", type=int, nargs="+", default=[1])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=5000, help="max_batch_records for ours")
    parser.add_argument("--warmup", type=float, default=0.1, help="fraction of events not timed")
    parser.add_argument("--timeout", type=float, default=180.0, help="per consumer run, seconds")
    parser.add_argument("--only", nargs="*", help="child names to run, e.g. aiokafka faust-batched")
    parser.add_argument("--profile", type=Path, help="also record py-spy profiles into this dir")
    parser.add_argument("--profile-events", type=int, default=1_000_000, help="topic size, ours")
    parser.add_argument("--json", action="store_true", help="last line: JSON {label: events/s}")
    args = parser.parse_args()

    medians: dict[str, float] = {}
    rows: list[tuple[str, list[Measured], float | None, float | None]] = []
    for partitions in args.partitions:
        topic = f"bench.consumers.p{partitions}.n{args.events}"
        asyncio.run(ensure_topic(args.bootstrap, topic, partitions, args.events))
        baseline = None
        for case in CASES:
            if args.only and case.child not in args.only:
                continue
            runs = [
                measured
                for _ in range(args.runs)
                if (measured := run_once(child_run(case, args, topic, partitions), args.timeout))
            ]
            median = statistics.median(m.events_per_s for m in runs) if runs else None
            if case.baseline:
                baseline = median
            label = f"{case.label} ({partitions}p)"
            if median is not None:
                medians[label] = median
            rows.append((label, runs, median, baseline))
            shown = ", ".join(f"{m.events_per_s:,.0f}" for m in runs) or "failed"
            print(f"{label}: {shown}", file=sys.stderr)

    print(
        f"\n{args.events} events of ~{len(event(0))} B, median of {args.runs} runs, "
        f"timed after a {args.warmup:.0%} warm-up"
    )
    print(f"{'consumer':<46} {'events/s':>9} {'x bare':>7} {'CPU us/ev':>9}   runs (events/s)")
    for label, runs, median, baseline in rows:
        ratio = f"{median / baseline:6.2f}x" if median and baseline else "      -"
        shown = f"{median:>9,.0f}" if median else f"{'failed':>9}"
        cpu = statistics.median(m.cpu_us_per_event for m in runs) if runs else 0.0
        each = ", ".join(f"{m.events_per_s:,.0f}" for m in runs)
        print(f"{label:<46} {shown} {ratio} {cpu:>9.2f}   {each}")

    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        print("\npy-spy profiles after the warm-up (samples holding the GIL):")
        # Ours finishes 200k events in under a second: profile it on a longer topic.
        for case, events in ((CASES[1], args.events), (CASES[2], args.profile_events)):
            topic = f"bench.consumers.p1.n{events}"
            asyncio.run(ensure_topic(args.bootstrap, topic, 1, events))
            path = args.profile / f"{case.child}.txt"
            path.unlink(missing_ok=True)
            run_args = argparse.Namespace(**{**vars(args), "events": events})
            measured = run_once(child_run(case, run_args, topic, 1), args.timeout, path)
            rate = measured.events_per_s if measured else 0.0
            print(f"  {case.label}: {rate:,.0f} events/s while sampled ({events} events)")
            print(summarise_profile(path) if path.exists() else f"  no profile for {case.child}")

    if args.json:
        print(json.dumps(medians))


def child_main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name", choices=sorted(CHILDREN))
    for option in ("bootstrap", "topic", "group", "loop"):
        parser.add_argument(f"--{option}", required=True)
    for option in ("partitions", "events", "batch", "warmup"):
        parser.add_argument(f"--{option}", type=int, required=True)
    parser.add_argument("--gc-freeze", action="store_true")
    args = parser.parse_args(sys.argv[2:])
    CHILDREN[args.name](args)


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        child_main()
    else:
        main()
