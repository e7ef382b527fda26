"""One fault run: publish a seeded log while killing things, drain, compare with the oracle.

``run(config)`` returns a ``Report``; it never asserts, so the same code is the
pytest tests (tests/faults/test_faults.py) and the long run
(``python -m tests.faults``, ``make faults``).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from collectpulse.events.models import Topic
from collectpulse.kafka.connection import kafka_options
from collectpulse.settings import Settings
from collectpulse.stream.deadletter import DLQ_TOPIC
from tests.faults.cluster import Servers, Workers, start_exporter
from tests.faults.compare import check_dead_letters, checked_only, compare
from tests.faults.generator import Kind, Log, Publication, generate
from tests.faults.oracle import Key, LogRecord, ground_truth
from tests.faults.report import FaultRecord, Report
from tests.support.kafka import create_topics, read_to_end
from tests.support.metrics import Samples, scrape, total
from tests.support.processes import stop_process

FAULTS = ("worker_kill", "worker_stop", "rebalance", "redis_kill", "broker_kill")
SERVER_FAULTS = {"redis_kill", "broker_kill"}
WINDOWS = ("1h", "24h", "7d")
LAG = "collectpulse_consumer_lag_records"
MIN_AGE_FOR_CLEAN_STOP_S = 8.0


@dataclass(frozen=True)
class RunConfig:
    seed: int
    messages: int
    publish_s: float
    """Publishing is spread over this long; the faults fall inside it."""
    faults: tuple[str, ...]
    workers: int = 2
    partitions: int = 3
    batch_max_records: int = 50
    duplicate_share: float = 0.10
    poison_share: float = 0.01
    extra_env: dict[str, str] = field(default_factory=dict)
    """Environment for the workers, e.g. a COLLECTPULSE_UNSAFE_TEST_* switch."""
    drain_timeout_s: float = 180.0
    tweak_log: Callable[[Log], None] | None = None
    """Changes the generated log before publishing (the can-fail test adds one duplicate)."""


SHORT = RunConfig(
    seed=20261123,
    messages=250,
    publish_s=45.0,
    # three clean stops: each lost a few records before the transport's rewind fix
    faults=("worker_kill", "rebalance", "redis_kill", "broker_kill", *("worker_stop",) * 3),
)
LONG = RunConfig(
    seed=8,
    messages=4000,
    publish_s=600.0,
    faults=(
        *("worker_kill",) * 5,
        *("worker_stop",) * 2,
        *("rebalance",) * 2,
        *("redis_kill",) * 2,
        *("broker_kill",) * 2,
    ),
    workers=3,
)


@dataclass
class _Run:
    config: RunConfig
    settings: Settings
    servers: Servers | None
    workers: Workers
    rng: random.Random
    started: float
    report: Report

    def now(self) -> float:
        return time.monotonic() - self.started

    def note_crashes(self) -> None:
        for proc in self.workers.died():
            self.report.notes.append(
                f"{self.now():7.1f}s  a worker (pid {proc.pid}) exited on its own with code "
                f"{proc.returncode}; restarted"
            )
            self.workers.start()


async def run(
    config: RunConfig,
    workdir: Path,
    *,
    servers: Servers | None = None,
    bootstrap: str | None = None,
    redis_url: str | None = None,
) -> Report:
    """Run ``config``; servers to kill come from ``servers`` (started and stopped here).

    Without ``servers``, ``bootstrap`` and ``redis_url`` name shared servers, and
    only worker faults are allowed.
    """
    if servers is None and SERVER_FAULTS & set(config.faults):
        raise ValueError("server faults need servers of the run's own")
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    started = time.monotonic()
    if servers is not None:
        await asyncio.to_thread(servers.start_kafka)
        await asyncio.to_thread(servers.start_redis)
        bootstrap, redis_url = servers.bootstrap, servers.redis_url
    assert bootstrap and redis_url
    tag = f"f{config.seed}x{int(time.time()) % 100000}"
    settings = Settings(
        kafka_bootstrap_servers=bootstrap,
        redis_url=redis_url,  # type: ignore[arg-type]
        topic_prefix=f"{tag}.",
        key_prefix=tag,
        consumer_group=f"faults-{tag}",
        data_dir=workdir / "worker",
        topic_partitions=config.partitions,
        batch_max_records=config.batch_max_records,
        windows=WINDOWS,
    )
    log = generate(
        config.seed,
        base_s=int(time.time()),
        messages=config.messages,
        duplicate_share=config.duplicate_share,
        poison_share=config.poison_share,
    )
    if config.tweak_log:
        config.tweak_log(log)
    report = Report(config_line=_describe(config), seed=config.seed)
    workers = Workers(settings, workdir, env=dict(config.extra_env))
    state = _Run(config, settings, servers, workers, random.Random(config.seed), started, report)
    exporter = None
    try:
        await create_topics(settings)
        url, exporter = start_exporter(settings, workdir)
        for _ in range(config.workers):
            workers.start()
        await _wait_for_workers(url, config.workers)
        report.setup_s = state.now()
        publish_start = state.now()
        await asyncio.gather(_publish(state, log), _inject(state, publish_start))
        report.publish_s = state.now() - publish_start
        while len(workers.running) < config.workers:
            workers.start()
        drain_start = state.now()
        truth_log = await _read_back(settings)
        truth = ground_truth(truth_log, log.publications, WINDOWS)
        samples = await _drain(state, url, sum(truth.received.values()))
        report.drain_s = state.now() - drain_start
        state.note_crashes()
        report.record_log(log, truth)
        report.differences.extend(compare(truth, samples))
        counts = checked_only(samples)
        report.scraped_samples = len(counts)
        report.scraped_nonzero = sum(1 for v in counts.values() if v)
        dlq = await read_to_end(settings, settings.topic(DLQ_TOPIC))
        report.differences.extend(check_dead_letters(settings, truth, dlq, report.notes))
    finally:
        workers.stop_all()
        if exporter is not None:
            stop_process(exporter)
        if servers is not None:
            await asyncio.to_thread(servers.stop)
    report.duration_s = time.monotonic() - started
    return report


def _describe(c: RunConfig) -> str:
    env = " ".join(f"{k}={v}" for k, v in c.extra_env.items())
    return (
        f"seed={c.seed} messages={c.messages} publish_s={c.publish_s:g} workers={c.workers} "
        f"partitions={c.partitions} batch_max_records={c.batch_max_records}"
        + (f" {env}" if env else "")
    )


async def _wait_for_workers(url: str, n: int, timeout_s: float = 120.0) -> None:
    """Until ``n`` workers beat and each has partitions, so faults land mid-stream."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            samples = await scrape(url)
        except httpx.HTTPError:  # the exporter may be starting or restarting
            samples = {}
        assigned = [v for (name, _), v in samples.items() if name.endswith("_assigned_partitions")]
        if (
            total(samples, "collectpulse_live_workers") >= n
            and len(assigned) >= n
            and all(assigned)
        ):
            return
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{n} workers did not get partitions within {timeout_s:.0f} s")


async def _publish(state: _Run, log: Log) -> None:
    """Publish the whole log, in its order, spread over ``publish_s``; nothing waits for
    the store, so payments, promises and views meet message events in any order."""
    settings = state.settings
    producer = AIOKafkaProducer(
        **kafka_options(settings),
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_request_size=1_048_576,
        request_timeout_ms=10_000,
        retry_backoff_ms=250,
    )
    await producer.start()
    try:
        await _paced(state, producer, log.publications, state.config.publish_s)
    finally:
        await producer.stop()


async def _paced(
    state: _Run, producer: AIOKafkaProducer, pubs: list[Publication], span_s: float
) -> None:
    """Send ``pubs`` in slices of 0.5 s spread evenly over ``span_s``."""
    slices = max(int(span_s / 0.5), 1)
    per_slice = max(-(-len(pubs) // slices), 1)
    begin = time.monotonic()
    for i in range(0, len(pubs), per_slice):
        await _send_all(state, producer, pubs[i : i + per_slice])
        due = begin + (i // per_slice + 1) * span_s / slices
        await asyncio.sleep(max(0.0, due - time.monotonic()))


async def _send_all(state: _Run, producer: AIOKafkaProducer, pubs: list[Publication]) -> None:
    pending = pubs
    while pending:
        futures = []
        failed: list[Publication] = []
        for pub in pending:
            try:
                fut = await producer.send(
                    state.settings.topic(pub.topic.value), value=pub.value, key=pub.key
                )
                futures.append((pub, fut))
            except KafkaError:
                failed.append(pub)
        for pub, fut in futures:
            try:
                await fut
            except KafkaError:
                failed.append(pub)
        if failed:
            # the broker is down: the read-back log, not this list, is the truth, so a
            # record that landed although its send failed is simply a duplicate there
            state.report.resends += len(failed)
            await asyncio.sleep(0.5)
        pending = failed


async def _inject(state: _Run, publish_start: float) -> None:
    """The faults in a seeded order, at seeded points inside the publishing time."""
    kinds = list(state.config.faults)
    state.rng.shuffle(kinds)
    span = state.config.publish_s
    times = sorted(state.rng.uniform(0.05, 0.9) * span for _ in kinds)
    for at, kind in zip(times, kinds, strict=True):
        await asyncio.sleep(max(0.0, publish_start + at - state.now()))
        state.note_crashes()
        begin = state.now()
        detail = await ACTIONS[kind](state)
        state.report.faults.append(FaultRecord(begin, state.now() - begin, kind, detail))


async def _worker_kill(state: _Run) -> str:
    victim = state.rng.choice(state.workers.running)
    state.workers.kill(victim)
    pause = state.rng.uniform(0.5, 5.0)
    await asyncio.sleep(pause)
    new = state.workers.start()
    return f"kill -9 worker pid {victim.pid}; replacement pid {new.pid} after {pause:.1f} s"


async def _worker_stop(state: _Run) -> str:
    victim = state.rng.choice(state.workers.running)
    # a SIGTERM before Faust installed its handlers would be a kill, not a clean stop
    await asyncio.sleep(max(0.0, MIN_AGE_FOR_CLEAN_STOP_S - state.workers.age_s(victim)))
    await state.workers.stop(victim)
    new = state.workers.start()
    return f"SIGTERM worker pid {victim.pid} (exit {victim.returncode}); restart pid {new.pid}"


async def _rebalance(state: _Run) -> str:
    oldest = state.workers.running[0]
    joined = state.workers.start()
    pause = state.rng.uniform(3.0, 8.0)
    await asyncio.sleep(max(pause, MIN_AGE_FOR_CLEAN_STOP_S - state.workers.age_s(oldest)))
    await state.workers.stop(oldest)
    return f"worker pid {joined.pid} joined; {pause:.1f} s later pid {oldest.pid} left (SIGTERM)"


async def _redis_kill(state: _Run) -> str:
    assert state.servers is not None
    state.servers.kill_redis()
    pause = state.rng.uniform(0.5, 3.0)
    await asyncio.sleep(pause)
    await asyncio.to_thread(state.servers.start_redis)
    return f"kill -9 redis-server; restarted from its AOF after {pause:.1f} s"


async def _broker_kill(state: _Run) -> str:
    assert state.servers is not None
    state.servers.kill_kafka()
    pause = state.rng.uniform(1.0, 4.0)
    await asyncio.sleep(pause)
    await asyncio.to_thread(state.servers.start_kafka)
    return f"kill -9 the Kafka broker; restarted (same data dir and port) after {pause:.1f} s"


ACTIONS: dict[str, Callable[[_Run], Awaitable[str]]] = {
    "worker_kill": _worker_kill,
    "worker_stop": _worker_stop,
    "rebalance": _rebalance,
    "redis_kill": _redis_kill,
    "broker_kill": _broker_kill,
}


async def _read_back(settings: Settings) -> list[LogRecord]:
    out = []
    for topic in Topic:
        for r in await read_to_end(settings, settings.topic(topic.value)):
            out.append(LogRecord(topic, r.partition, r.offset, r.value or b""))
    return out


async def _drain(state: _Run, url: str, expected: int) -> Samples:
    """Scrape until two scrapes 3 s apart agree and either every record is received or
    the store's offsets are at the end of every partition (then records were skipped)."""
    deadline = time.monotonic() + state.config.drain_timeout_s
    last: dict[Key, float] = {}
    samples: Samples = {}
    while time.monotonic() < deadline:
        state.note_crashes()
        try:
            samples = await scrape(url)
        except httpx.HTTPError:  # a scrape during a restart may fail; try again
            samples = {}
        counts = checked_only(samples)
        received = total(samples, "collectpulse_events_received_total")
        lags = [v for (name, _), v in samples.items() if name == LAG]
        at_end = bool(lags) and not any(lags)
        if counts and counts == last and (received >= expected or at_end):
            if received < expected:
                state.report.differences.append(
                    f"the store's offsets reached the end of every partition with {received:.0f} "
                    f"of {expected} records received: records were skipped"
                )
            return samples
        last = counts
        await asyncio.sleep(3.0)
    state.report.differences.append(
        f"the stream did not drain within {state.config.drain_timeout_s:.0f} s "
        f"(received {total(samples, 'collectpulse_events_received_total'):.0f} of {expected})"
    )
    return samples


__all__ = ["FAULTS", "LONG", "SHORT", "Kind", "RunConfig", "run"]
