"""Service health: dependency state, workers' heartbeats, consumer lag, and readiness.

Pure functions over what the exporter found (``Probes``) and what the store holds
(``StoreView``, heartbeats): ``HealthCollector`` turns them into metric families,
``readiness_problems`` into the reasons ``/readyz`` answers 503.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from collectpulse.exporter.broker import LogPositions
from collectpulse.exporter.computed import gauge_family
from collectpulse.store.heartbeats import HEARTBEAT_STALE_S, WorkerBeat
from collectpulse.store.reader import StoreView

DEPENDENCIES = ("redis", "kafka")


@dataclass(frozen=True)
class Probes:
    """What the exporter found when it looked at its dependencies; None means fine."""

    redis_error: str | None = None
    kafka_error: str | None = None
    positions: LogPositions | None = None
    """The partitions' log positions, when Kafka answered."""


def live_workers(beats: Sequence[WorkerBeat], now_s: float) -> list[WorkerBeat]:
    """Workers that beat within ``HEARTBEAT_STALE_S``."""
    return [b for b in beats if now_s - b.beat_s <= HEARTBEAT_STALE_S]


def reported_down(beat: WorkerBeat) -> dict[str, str]:
    """The dependencies a worker's beat reports down (``"redis: why; kafka: why"``), and why."""
    if beat.healthy:
        return {}
    down = {}
    for part in beat.reason.split("; "):
        name, _, why = part.partition(":")
        if name in DEPENDENCIES:
            down[name] = why.strip()
    return down


def dependency_up(probes: Probes, beats: Sequence[WorkerBeat], now_s: float) -> dict[str, bool]:
    """Per dependency: reachable from here, and no live worker reports it failing."""
    up = {"redis": probes.redis_error is None, "kafka": probes.kafka_error is None}
    for beat in live_workers(beats, now_s):
        for failing in reported_down(beat):
            up[failing] = False
    return up


def consumer_lag(
    applied: Mapping[tuple[str, int], int], positions: LogPositions
) -> dict[tuple[str, int], int]:
    """Per partition: records between the store's next offset to apply and the log end.

    A partition the store never applied lags by everything still in the log.
    """
    lag = {}
    for tp, end in positions.end.items():
        begin = positions.begin.get(tp, 0)
        offset = applied.get(tp)
        next_offset = begin if offset is None else max(offset + 1, begin)
        lag[tp] = max(end - next_offset, 0)
    return lag


def readiness_problems(
    probes: Probes, beats: Sequence[WorkerBeat] | None, now_s: float
) -> list[str]:
    """Why this deployment is not ready (empty when it is): Redis, Kafka, an assigned worker.

    ``beats`` is None when Redis could not be read.
    """
    problems = []
    if probes.redis_error is not None:
        problems.append(f"redis: unreachable ({probes.redis_error})")
    if probes.kafka_error is not None:
        problems.append(f"kafka: unreachable ({probes.kafka_error})")
    if beats is not None:
        live = live_workers(beats, now_s)
        if not live:
            problems.append(f"worker: no heartbeat in the last {HEARTBEAT_STALE_S:g} s")
        elif not any(b.partitions for b in live):
            problems.append(f"worker: {len(live)} live, none assigned a partition")
        for beat in live:
            for name, why in reported_down(beat).items():
                problems.append(f"worker {beat.worker}: {name} unavailable ({why})")
    return problems


class HealthCollector(Collector):
    """Pipeline health families for one scrape; ``view`` is None when Redis failed."""

    def __init__(self, view: StoreView | None, probes: Probes, *, now_s: float) -> None:
        self._view = view
        self._probes = probes
        self._now_s = now_s

    def collect(self) -> Iterator[Metric]:
        beats = self._view.heartbeats if self._view is not None else ()
        up = gauge_family("dependency_up")
        for dependency, ok in dependency_up(self._probes, beats, self._now_s).items():
            up.add_metric([dependency], 1.0 if ok else 0.0)
        yield up
        if self._view is None:
            return
        yield from self._workers(beats)
        if self._probes.positions is not None:
            lag = gauge_family("consumer_lag_records")
            by_tp = consumer_lag(self._view.offsets, self._probes.positions)
            for (topic, partition), records in sorted(by_tp.items()):
                lag.add_metric([topic, str(partition)], records)
            yield lag

    def _workers(self, beats: Sequence[WorkerBeat]) -> Iterator[Metric]:
        age = gauge_family("worker_heartbeat_age_seconds")
        assigned = gauge_family("worker_assigned_partitions")
        waits = gauge_family("worker_redis_wait_timeouts")
        for beat in beats:
            age.add_metric([beat.worker], max(self._now_s - beat.beat_s, 0.0))
            assigned.add_metric([beat.worker], len(beat.partitions))
            waits.add_metric([beat.worker], beat.wait_timeouts)
        live = gauge_family("live_workers")
        live.add_metric([], len(live_workers(beats, self._now_s)))
        yield from (age, assigned, waits, live)
