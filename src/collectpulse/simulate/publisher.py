"""Publish the simulated stream to Kafka at a steady rate and report what was acknowledged.

The thin shell around the pure generator: creates the topics, paces records
with a token bucket, produces each with the key the contract requires
(idempotent producer, `acks=all`) and counts a record only once Kafka has
acknowledged it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from types import MappingProxyType
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from collectpulse.events.models import ReferenceTopic, Topic
from collectpulse.events.roster import (
    AgentEvent,
    CostEvent,
    ExperimentEvent,
    TargetEvent,
    reference_key,
)
from collectpulse.kafka.connection import kafka_options
from collectpulse.kafka.topics import create_missing, ensure_topics, reference_topics
from collectpulse.settings import Settings
from collectpulse.simulate.exceptions import BrokerUnavailableError, PublishError
from collectpulse.simulate.generator import EventGenerator, GeneratorStats
from collectpulse.simulate.named import ExperimentSplit, History, experiment_configs
from collectpulse.simulate.pacing import TokenBucket, chunk_size
from collectpulse.simulate.poison import PoisonMaker
from collectpulse.simulate.records import Record, to_record
from collectpulse.simulate.scenario import DEFAULT_SCENARIO, Scenario

LINGER_MS = 20
MAX_REQUEST_BYTES = 1_000_000
CLIENT_ID = "collectpulse-simulate"
# A history is published as fast as this, then live traffic is paced at its own rate.
CATCH_UP_RATE_PER_S = 20_000.0


@dataclass(frozen=True, slots=True)
class PublishReport:
    """Records acknowledged per canonical topic; poison and duplicates are included there."""

    records: Mapping[Topic, int]
    poison: Mapping[Topic, int]
    duplicates: int
    elapsed_s: float
    created_topics: tuple[str, ...] = field(default=())

    @property
    def total(self) -> int:
        return sum(self.records.values())

    def summary(self) -> str:
        """One line for humans: totals, rate, then per topic."""
        rate = self.total / self.elapsed_s if self.elapsed_s > 0 else 0.0
        topics = " ".join(f"{topic.value}={self.records.get(topic, 0)}" for topic in Topic)
        return (
            f"{self.total} records in {self.elapsed_s:.1f} s ({rate:.0f}/s): {topics} "
            f"poison={sum(self.poison.values())} duplicates={self.duplicates}"
        )


async def publish(
    settings: Settings,
    *,
    rate_per_s: float,
    total: int | None,
    duration_s: float | None,
    seed: int,
    scenario: Scenario = DEFAULT_SCENARIO,
    start: datetime | None = None,
    history: History | None = None,
    poison_rate: float = 0.0,
    stop: asyncio.Event | None = None,
    on_progress: Callable[[PublishReport], None] | None = None,
    progress_every_s: float = 10.0,
    on_live: Callable[[PublishReport], None] | None = None,
    experiments: Sequence[ExperimentSplit] = (),
    reference: Sequence[AgentEvent | TargetEvent | CostEvent] = (),
) -> PublishReport:
    """Publish generated records to `settings.topic(...)` until `total`, `duration_s` or `stop`.

    With neither `total` nor `duration_s` it runs until `stop` is set or the
    task is cancelled; a cancel still flushes what was sent before it
    propagates. `start` is the event time live traffic starts at (default:
    now); a `history` before it is published first, at `CATCH_UP_RATE_PER_S`
    (`total` and `duration_s` include it; `on_live` hears when it is
    acknowledged, before live traffic starts). ``experiments`` are configured first on the
    ``experiment`` topic, started at the history's start, and ``reference`` records (roster,
    targets, costs) on their topics. Raises
    `BrokerUnavailableError` when Kafka cannot be reached, `TopicLayoutError`
    when existing topics are not co-partitioned, `PublishError` when a record
    is not acknowledged.
    """
    _check_arguments(rate_per_s, total, duration_s, poison_rate, progress_every_s)
    live_at = partial(_live_start, start)
    first = live_at() - timedelta(seconds=history.duration_s if history else 0.0)
    generator = EventGenerator(
        seed=seed,
        start=first,
        events_per_s=history.events_per_s if history else rate_per_s,
        scenario=scenario,
        live_start=live_at() if history else None,
    )
    poison = PoisonMaker(
        seed, max_event_bytes=settings.max_event_bytes, max_record_bytes=MAX_REQUEST_BYTES
    )
    source = poison.mix(map(to_record, generator), rate=poison_rate)
    created = await _prepare_topics(settings, reference=bool(experiments or reference))
    producer = AIOKafkaProducer(
        **kafka_options(settings),
        client_id=CLIENT_ID,
        acks="all",
        enable_idempotence=True,
        linger_ms=LINGER_MS,
        max_request_size=MAX_REQUEST_BYTES,
    )
    tally = _Tally(generator.stats, created)
    try:
        await _start(producer, settings)
        configs = [*experiment_configs(experiments, first, live_at()), *reference]
        await _configure(producer, settings, configs)
        pump = _Pump(producer, settings, tally, stop or asyncio.Event())
        pump.start(duration_s, on_progress, progress_every_s)
        sent = 0
        if history is not None:
            past = _until_live(source, generator, live_at)
            sent = await pump.run(past, CATCH_UP_RATE_PER_S, total)
            generator.events_per_s = rate_per_s
            await tally.drain()
            tally.raise_if_failed()
            if on_live is not None:
                on_live(tally.report())
        await pump.run(source, rate_per_s, None if total is None else total - sent)
        await tally.drain()
    finally:
        await producer.stop()
    tally.raise_if_failed()
    return tally.report()


def _live_start(start: datetime | None) -> datetime:
    return start if start is not None else datetime.now(UTC)


def _until_live(
    source: Iterator[tuple[Record, bool]],
    generator: EventGenerator,
    live_at: Callable[[], datetime],
) -> Iterator[tuple[Record, bool]]:
    """The history: records up to the first whose event time reaches the live start."""
    for item in source:
        yield item
        if generator.now >= live_at():
            return


def _check_arguments(
    rate_per_s: float,
    total: int | None,
    duration_s: float | None,
    poison_rate: float,
    progress_every_s: float,
) -> None:
    if not (rate_per_s > 0 and math.isfinite(rate_per_s)):
        raise ValueError(f"rate_per_s must be a positive number, got {rate_per_s}")
    if total is not None and total < 0:
        raise ValueError(f"total must not be negative, got {total}")
    if duration_s is not None and not duration_s > 0:
        raise ValueError(f"duration_s must be positive, got {duration_s}")
    if not 0.0 <= poison_rate < 1.0:
        raise ValueError(f"poison_rate must be in [0, 1), got {poison_rate}")
    if not progress_every_s > 0:
        raise ValueError(f"progress_every_s must be positive, got {progress_every_s}")


async def _configure(
    producer: AIOKafkaProducer,
    settings: Settings,
    configs: Sequence[ExperimentEvent | AgentEvent | TargetEvent | CostEvent],
) -> None:
    """Publish reference records (experiments, roster, targets, costs) each to its topic
    under its reference key, and wait for the broker."""
    sent = [
        await producer.send(
            settings.topic(_reference_topic(config).value),
            config.model_dump_json().encode(),
            reference_key(config),
        )
        for config in configs
    ]
    await asyncio.gather(*sent)


def _reference_topic(
    config: ExperimentEvent | AgentEvent | TargetEvent | CostEvent,
) -> ReferenceTopic:
    # an experiment's model names no topic of its own (the others carry it as a ClassVar)
    return ReferenceTopic.EXPERIMENT if isinstance(config, ExperimentEvent) else config.topic


async def _prepare_topics(settings: Settings, *, reference: bool) -> tuple[str, ...]:
    admin = AIOKafkaAdminClient(**kafka_options(settings), client_id=CLIENT_ID)
    try:
        await admin.start()
        created = await ensure_topics(admin, settings)
        if reference:  # the compacted reference topics, only for a scenario that uses them
            created += await create_missing(admin, settings, reference_topics(settings))
        return created
    except KafkaError as exc:
        raise _unreachable(settings, exc) from exc
    finally:
        await admin.close()


async def _start(producer: AIOKafkaProducer, settings: Settings) -> None:
    try:
        await producer.start()
    except KafkaError as exc:
        raise _unreachable(settings, exc) from exc


def _unreachable(settings: Settings, exc: KafkaError) -> BrokerUnavailableError:
    return BrokerUnavailableError(
        f"Kafka at {settings.kafka_bootstrap_servers} (COLLECTPULSE_KAFKA_BOOTSTRAP_SERVERS) "
        f"failed: {type(exc).__name__}: {exc}"
    )


class _Tally:
    """Counts records as Kafka acknowledges them; keeps the first failure."""

    def __init__(self, stats: GeneratorStats, created: tuple[str, ...]) -> None:
        self._stats = stats
        self._created = created
        self._records: Counter[Topic] = Counter()
        self._poison: Counter[Topic] = Counter()
        self._pending: set[asyncio.Future[Any]] = set()
        self._failure: BaseException | None = None
        self._started = time.monotonic()

    def start_clock(self) -> None:
        """Measure elapsed time from now: the first record, not the topic set-up."""
        self._started = time.monotonic()

    def track(self, future: asyncio.Future[Any], topic: Topic, poisoned: bool) -> None:
        self._pending.add(future)
        future.add_done_callback(partial(self._acknowledged, topic, poisoned))

    def _acknowledged(self, topic: Topic, poisoned: bool, future: asyncio.Future[Any]) -> None:
        self._pending.discard(future)
        failure = future.exception() if not future.cancelled() else asyncio.CancelledError()
        if failure is not None:
            self._failure = self._failure or failure
            return
        self._records[topic] += 1
        if poisoned:
            self._poison[topic] += 1

    async def drain(self) -> None:
        await asyncio.gather(*self._pending, return_exceptions=True)

    def raise_if_failed(self) -> None:
        if self._failure is not None:
            failure = self._failure
            raise PublishError(f"a record was not acknowledged: {failure!r}") from failure

    def report(self) -> PublishReport:
        return PublishReport(
            records=MappingProxyType(dict(self._records)),
            poison=MappingProxyType(dict(self._poison)),
            duplicates=self._stats.duplicates,
            elapsed_s=time.monotonic() - self._started,
            created_topics=self._created,
        )


class _Pump:
    """Moves records from a source to the producer, a paced chunk at a time."""

    def __init__(
        self, producer: AIOKafkaProducer, settings: Settings, tally: _Tally, stop: asyncio.Event
    ) -> None:
        self._producer = producer
        self._settings = settings
        self._tally = tally
        self._stop = stop
        self._deadline = math.inf
        self._on_progress: Callable[[PublishReport], None] | None = None
        self._progress_every_s = math.inf
        self._next_progress_at = math.inf

    def start(
        self,
        duration_s: float | None,
        on_progress: Callable[[PublishReport], None] | None,
        progress_every_s: float,
    ) -> None:
        """Start the clocks: the deadline, the elapsed time, the progress reports."""
        started = time.monotonic()
        self._tally.start_clock()
        if duration_s is not None:
            self._deadline = started + duration_s
        self._on_progress = on_progress
        self._progress_every_s = progress_every_s
        self._next_progress_at = started + progress_every_s

    async def run(
        self, source: Iterator[tuple[Record, bool]], rate_per_s: float, total: int | None
    ) -> int:
        """Send until `source` ends, `total` records are sent, the deadline or `stop`."""
        chunk = chunk_size(rate_per_s)
        bucket = TokenBucket(rate_per_s, burst=chunk, sleep=self._nap)
        sent = 0
        while total is None or sent < total:
            size = chunk if total is None else min(chunk, total - sent)
            await bucket.take(size)
            if self._stop.is_set() or time.monotonic() >= self._deadline:
                break
            count = await self._send(itertools.islice(source, size))
            sent += count
            self._tally.raise_if_failed()
            if self._on_progress is not None and time.monotonic() >= self._next_progress_at:
                self._on_progress(self._tally.report())
                self._next_progress_at = time.monotonic() + self._progress_every_s
            if count < size:
                break
        return sent

    async def _send(self, records: Iterator[tuple[Record, bool]]) -> int:
        count = 0
        for record, poisoned in records:
            topic = self._settings.topic(record.topic)
            try:
                future = await self._producer.send(topic, record.value, key=record.key)
            except KafkaError as exc:
                raise PublishError(f"could not send to {topic}: {exc!r}") from exc
            self._tally.track(future, record.topic, poisoned)
            count += 1
        return count

    async def _nap(self, seconds: float) -> None:
        """Sleep for the bucket, waking early for `stop` or the deadline."""
        seconds = min(seconds, max(0.0, self._deadline - time.monotonic()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)


__all__ = ["CLIENT_ID", "LINGER_MS", "MAX_REQUEST_BYTES", "PublishReport", "publish"]
