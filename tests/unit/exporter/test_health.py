"""Service health without servers: consumer lag, live workers, dependency state, readiness."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from collectpulse.exporter.broker import LogPositions
from collectpulse.exporter.health import (
    HealthCollector,
    Probes,
    consumer_lag,
    dependency_up,
    readiness_problems,
)
from collectpulse.kpi.definitions import GAUGES
from collectpulse.store.heartbeats import HEARTBEAT_STALE_S, WorkerBeat
from collectpulse.store.reader import StoreView

NOW_S = 1_800_000_000.0


def beat(
    worker: str, age_s: float, partitions: tuple[int, ...] = (0, 1), **kw: object
) -> WorkerBeat:
    return WorkerBeat(worker, NOW_S - age_s, partitions, **kw)  # type: ignore[arg-type]


def scrape(view: StoreView | None, probes: Probes) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(HealthCollector(view, probes, now_s=NOW_S))
    return registry


def test_lag_is_the_log_end_minus_the_next_offset_the_store_will_apply() -> None:
    positions = LogPositions(
        begin={("open", 0): 0, ("open", 1): 0, ("open", 2): 500},
        end={("open", 0): 100, ("open", 1): 40, ("open", 2): 520},
    )
    applied = {("open", 0): 99, ("open", 1): 9, ("open", 2): 100}

    lag = consumer_lag(applied, positions)

    assert lag == {("open", 0): 0, ("open", 1): 30, ("open", 2): 20}


def test_a_partition_the_store_never_applied_lags_by_everything_left_in_the_log() -> None:
    positions = LogPositions(begin={("payment", 3): 10}, end={("payment", 3): 25})

    assert consumer_lag({}, positions) == {("payment", 3): 15}


def test_workers_silent_for_three_beats_are_not_live() -> None:
    view = StoreView(
        int(NOW_S),
        (),
        {},
        heartbeats=(beat("w-1", 1.0), beat("w-2", HEARTBEAT_STALE_S + 1)),
    )

    registry = scrape(view, Probes())

    assert registry.get_sample_value("collectpulse_live_workers") == 1
    age = registry.get_sample_value("collectpulse_worker_heartbeat_age_seconds", {"worker": "w-2"})
    assert age == HEARTBEAT_STALE_S + 1
    assigned = registry.get_sample_value(
        "collectpulse_worker_assigned_partitions", {"worker": "w-1"}
    )
    assert assigned == 2


def test_a_dependency_is_down_when_unreachable_or_a_live_worker_reports_it_failing() -> None:
    failing = beat("w-1", 1.0, healthy=False, reason="redis: ConnectionError")
    stale = beat("w-2", 60.0, healthy=False, reason="kafka: KafkaTimeoutError")

    assert dependency_up(Probes(), [failing, stale], NOW_S) == {"redis": False, "kafka": True}
    down = Probes(kafka_error="KafkaConnectionError")
    assert dependency_up(down, [], NOW_S) == {"redis": True, "kafka": False}


def test_without_the_store_only_the_dependency_state_is_exported() -> None:
    registry = scrape(None, Probes(redis_error="ConnectionError"))

    assert registry.get_sample_value("collectpulse_dependency_up", {"dependency": "redis"}) == 0
    assert registry.get_sample_value("collectpulse_dependency_up", {"dependency": "kafka"}) == 1
    assert registry.get_sample_value("collectpulse_live_workers") is None


def test_consumer_lag_is_exported_per_topic_and_partition_when_kafka_answered() -> None:
    view = StoreView(int(NOW_S), (0,), {}, offsets={("click", 0): 4})
    probes = Probes(positions=LogPositions(begin={("click", 0): 0}, end={("click", 0): 12}))

    registry = scrape(view, probes)

    labels = {"topic": "click", "partition": "0"}
    assert registry.get_sample_value("collectpulse_consumer_lag_records", labels) == 7
    no_kafka = scrape(view, Probes(kafka_error="timeout"))
    assert no_kafka.get_sample_value("collectpulse_consumer_lag_records", labels) is None


def test_ready_needs_redis_kafka_and_a_live_worker_with_partitions() -> None:
    assert readiness_problems(Probes(), [beat("w-1", 2.0)], NOW_S) == []
    assert readiness_problems(Probes(), [], NOW_S) == [
        f"worker: no heartbeat in the last {HEARTBEAT_STALE_S:g} s"
    ]
    unassigned = [beat("w-1", 2.0, partitions=())]
    assert readiness_problems(Probes(), unassigned, NOW_S) == [
        "worker: 1 live, none assigned a partition"
    ]
    both_down = Probes(redis_error="ConnectionError", kafka_error="KafkaConnectionError")
    assert readiness_problems(both_down, None, NOW_S) == [
        "redis: unreachable (ConnectionError)",
        "kafka: unreachable (KafkaConnectionError)",
    ]


def test_heartbeat_help_texts_name_the_intervals_in_force() -> None:
    helps = {g.name: g.help for g in GAUGES}
    assert f"{HEARTBEAT_STALE_S:g} s" in helps["live_workers"]


def test_a_heartbeat_survives_its_encoding_and_bad_data_is_no_heartbeat() -> None:
    original = WorkerBeat("host-1", NOW_S, (0, 3), healthy=False, reason="kafka: KafkaError")

    assert WorkerBeat.decode("host-1", original.encode()) == original
    assert WorkerBeat.decode("host-1", b"not json") is None
    assert WorkerBeat.decode("host-1", b"[1, 2]") is None
    assert WorkerBeat.decode("host-1", b'{"partitions": [1]}') is None


def test_a_worker_reporting_both_dependencies_down_marks_both_and_says_why() -> None:
    reason = "redis: ConnectionError: refused; kafka: KafkaConnectionError: no broker"
    failing = beat("w-1", 1.0, healthy=False, reason=reason)

    assert dependency_up(Probes(), [failing], NOW_S) == {"redis": False, "kafka": False}
    assert readiness_problems(Probes(), [failing], NOW_S) == [
        "worker w-1: redis unavailable (ConnectionError: refused)",
        "worker w-1: kafka unavailable (KafkaConnectionError: no broker)",
    ]
