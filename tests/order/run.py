"""Publish a log in one order through a real worker, drain, and return the comparable scrape.

Each run has its own topic prefix, key prefix and consumer group, a worker and an
exporter of its own, and publishes only once the worker owns its partitions.
Drained means: every published record was counted (``events_received``), the
store's applied offsets are at the end of every canonical topic and then of the
customer-touch topic (whose records are all published before the writes that
reach those ends), and two scrapes in a row agree.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer

from collectpulse.events.models import Topic
from collectpulse.events.providers import PROVIDERS
from collectpulse.kafka.connection import kafka_options
from collectpulse.settings import Settings
from collectpulse.store.touches import TOUCH_TOPIC
from collectpulse.stream.normalise import RAW_TOPIC_PREFIX
from tests.faults.oracle import Key
from tests.order.log import Entry
from tests.order.oracle import Expected
from tests.support.kafka import create_topics, end_offsets
from tests.support.metrics import Samples, scrape, total
from tests.support.pipeline import Process, run_pipeline

WINDOWS = ("24h", "7d")
NOT_COMPARED = (
    "lag",
    "last_event",
    "seconds_since",
    "silence",
    "process_",
    "python_",
    "scrape",
    "build_info",
    "_created",
    "worker_",
    "live_workers",
    "dependency_up",
    "applied_offset",
    "stale_versions",
)
"""Parts of sample names that measure time, liveness or position, not the events (or, for
account versions arriving after a higher one, the arrival order itself)."""
HLL_RELATIVE_ERROR = 0.02
MESSAGE_FIRST = ("payment", "promise", "pageview")


def order_event_time(log: Sequence[Entry]) -> list[Entry]:
    return sorted(log, key=lambda e: e.seq)


def order_topic_by_topic(log: Sequence[Entry]) -> list[Entry]:
    """Account events newest version first (every older version is then late), then
    payments and promises, then pageviews, then message events (raw ones too)."""
    rank = {topic: i for i, topic in enumerate(MESSAGE_FIRST)}
    accounts = sorted((e for e in log if e.topic == "account"), key=lambda e: -e.seq)
    rest = sorted(
        (e for e in log if e.topic != "account"),
        key=lambda e: (rank.get(e.topic, len(rank)), e.seq),
    )
    return [*accounts, *rest]


def order_shuffled(log: Sequence[Entry], seed: int) -> list[Entry]:
    out = list(log)
    random.Random(seed).shuffle(out)
    return out


@dataclass(frozen=True)
class Order:
    name: str
    arrange: Callable[[Sequence[Entry]], list[Entry]]
    rate_per_s: float | None
    """Publishing pace; None: all at once."""


def run_settings(bootstrap: str, redis_url: str, data_dir: Path) -> Settings:
    run = uuid.uuid4().hex[:10]
    return Settings(
        kafka_bootstrap_servers=bootstrap,
        redis_url=redis_url,
        topic_prefix=f"o{run}.",
        key_prefix=f"o{run}",
        consumer_group=f"collectpulse-order-{run}",
        data_dir=data_dir,
        topic_partitions=4,
        windows=WINDOWS,
    )


Published = tuple[str, bytes, bytes]
"""(topic without prefix, key, value): one record to publish."""


def as_published(entries: Sequence[Entry]) -> list[Published]:
    return [(e.topic, e.key, e.value) for e in entries]


async def run_order(
    settings: Settings,
    records: Sequence[Published],
    logs: Path,
    *,
    rate_per_s: float | None,
    backlog: bool = False,
    drain_timeout_s: float = 90.0,
) -> Samples:
    """Publish ``records`` in their order (at ``rate_per_s``, or all at once; with
    ``backlog`` before the worker starts) and return the scrape once drained."""
    raw_topics = [settings.topic(RAW_TOPIC_PREFIX + p) for p in PROVIDERS]
    await create_topics(settings, extra=[*raw_topics, settings.topic("cost")])
    await asyncio.to_thread(logs.mkdir, parents=True, exist_ok=True)
    if backlog:
        await _publish(settings, records, rate_per_s)
    with run_pipeline(settings, logs) as pipeline:
        url = pipeline.url("/metrics")
        procs = pipeline.processes
        await _until(url, procs, _owns_partitions, "the worker got no partitions", 120.0)
        if not backlog:
            await _publish(settings, records, rate_per_s)
        expected = len(records)  # each raw SES record becomes one canonical record

        def counted(s: Samples) -> bool:
            return total(s, "collectpulse_events_received_total") >= expected

        await _until(url, procs, counted, f"not all {expected} records counted", drain_timeout_s)
        canonical = [settings.topic(t.value) for t in Topic]
        for topics in (canonical, [settings.topic(TOUCH_TOPIC)]):
            ends = await end_offsets(settings, topics)
            at_end = _applied_to(settings, ends)
            await _until(url, procs, at_end, f"{topics} not applied to the end", drain_timeout_s)
        return await _settle(url, procs)


async def _settle(url: str, processes: Sequence[Process], timeout_s: float = 60.0) -> Samples:
    """The scrape once two in a row agree (the exporter re-reads the store each second)."""
    deadline = time.monotonic() + timeout_s
    previous: dict[Key, float] | None = None
    samples: Samples = {}
    while time.monotonic() < deadline:
        for proc in processes:
            assert proc.poll() is None, f"{proc.args!r} exited with {proc.returncode}; see its log"
        samples = await scrape(url)
        now = comparable(samples)
        if now == previous:
            return samples
        previous = now
        await asyncio.sleep(1.1)
    raise AssertionError(f"/metrics kept changing for {timeout_s:.0f} s after the drain")


async def _until(
    url: str,
    processes: Sequence[Process],
    done: Callable[[Samples], bool],
    what: str,
    timeout_s: float = 90.0,
) -> Samples:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for proc in processes:
            assert proc.poll() is None, f"{proc.args!r} exited with {proc.returncode}; see its log"
        try:
            samples = await scrape(url)
        except httpx.HTTPError:
            samples = {}
        if samples and done(samples):
            return samples
        await asyncio.sleep(0.3)
    raise AssertionError(f"{what} within {timeout_s:.0f} s")


def _owns_partitions(samples: Samples) -> bool:
    assigned = [v for (n, _), v in samples.items() if n.endswith("worker_assigned_partitions")]
    return bool(assigned) and all(assigned)


def _applied_to(
    settings: Settings, ends: Mapping[tuple[str, int], int]
) -> Callable[[Samples], bool]:
    def at_end(samples: Samples) -> bool:
        applied = {
            (settings.topic(dict(ls)["topic"]), int(dict(ls)["partition"])): v
            for (name, ls), v in samples.items()
            if name == "collectpulse_applied_offset"
        }
        return all(applied.get(tp, -1) + 1 >= end for tp, end in ends.items() if end)

    return at_end


async def _publish(
    settings: Settings, records: Sequence[Published], rate_per_s: float | None
) -> None:
    # idempotent, as the gateway is: a batch retried after a broker dies is written once
    # (a plain producer may write it twice, an upstream duplicate the oracle does not model)
    producer = AIOKafkaProducer(
        **kafka_options(settings), acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    try:
        begin = time.monotonic()
        futures = []
        for i, (topic, key, value) in enumerate(records):
            futures.append(await producer.send(settings.topic(topic), value=value, key=key))
            if len(futures) >= 5000:
                await asyncio.gather(*futures)
                futures.clear()
            if rate_per_s is not None and i % 20 == 19:
                # paced: the wall clock keeps up with the log, as a live stream does
                await asyncio.sleep(max(0.0, begin + (i + 1) / rate_per_s - time.monotonic()))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


# --- comparing scrapes ------------------------------------------------------------


def comparable(samples: Samples) -> dict[Key, float]:
    """The scrape without time, liveness and position series; empty label values dropped."""
    out: dict[Key, float] = {}
    for (name, ls), v in samples.items():
        if any(part in name for part in NOT_COMPARED) or name == "up":
            continue
        out[(name, _normal(ls))] = v
    return out


def _normal(ls: Iterable[tuple[str, str]]) -> frozenset[tuple[str, str]]:
    return frozenset((k, str(float(v)) if k == "le" else v) for k, v in ls if v)


def differences_between(runs: Mapping[str, dict[Key, float]]) -> list[str]:
    """One line per sample on which the orders disagree, with every order's value."""
    names = list(runs)
    keys = sorted(set().union(*(set(r) for r in runs.values())), key=show)
    out = []
    for key in keys:
        values = [runs[n].get(key) for n in names]
        if len({_num(v) for v in values}) > 1:
            got = ", ".join(f"{n}={_num(v)}" for n, v in zip(names, values, strict=True))
            out.append(f"{show(key)}: {got}")
    return out


def differences_from(expected: Expected, got: Mapping[Key, float]) -> list[str]:
    """One line per sample of a modelled family whose value is not the oracle's."""
    out = []
    keys = set(expected.samples) | {k for k in got if k[0] in expected.families}
    for key in sorted(keys, key=show):
        e, a = expected.samples.get(key), got.get(key)
        if key[0] in expected.ratios:
            same = (e is None and a is None) or (
                e is not None and a is not None and math.isclose(e, a, rel_tol=_tol(expected, key))
            )
        else:
            # a distinct count's estimate may also miss by one whole member at small counts
            # (two members in one HyperLogLog register: 34 for 35 is 2.9 %)
            near = 1.0 if key[0] in expected.approximate else 1e-9
            same = math.isclose(e or 0.0, a or 0.0, rel_tol=_tol(expected, key), abs_tol=near)
        if not same:
            out.append(f"{show(key)}: expected {_num(e)}, got {_num(a)}")
    return out


def _tol(expected: Expected, key: Key) -> float:
    if key[0] not in expected.approximate:
        return 1e-9
    # a ratio of two estimates (tests/faults/compare.py: ESTIMATED_RATIO_ERROR)
    return 2 * HLL_RELATIVE_ERROR + 0.001 if key[0] in expected.ratios else HLL_RELATIVE_ERROR


def show(key: Key) -> str:
    name, ls = key
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(ls)) + "}"


def _num(value: float | None) -> str:
    if value is None:
        return "absent"
    return str(int(value)) if value == int(value) else f"{value:.6g}"


def summary(report: Sequence[str]) -> str:
    """How many differing samples each metric family has, per section of ``report``."""
    out, section = [], ""
    counts: Counter[str] = Counter()
    for line in [*report, "end:"]:
        if line.endswith(":"):
            if section:
                out.append(section + " " + ", ".join(f"{f} {n}" for f, n in counts.most_common()))
            section, counts = line, Counter()
        else:
            counts[_family(line.split("{", 1)[0])] += 1
    return "\n".join(out)


def _family(name: str) -> str:
    for suffix in ("_bucket", "_count", "_sum", "_total"):
        name = name.removesuffix(suffix)
    return name.removeprefix("collectpulse_").removeprefix("windowed_")
