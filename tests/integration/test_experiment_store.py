"""The experiment configurations and p-value minima in Redis: newer wins, minima only fall."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from redis.asyncio import Redis

from collectpulse.events.roster import ExperimentEvent
from collectpulse.settings import Settings
from collectpulse.store.experiment_config import ExperimentStore

START = datetime(2026, 11, 1, tzinfo=UTC)


def config(control: str = "control", alpha: float = 0.05) -> ExperimentEvent:
    return ExperimentEvent(
        event_id=f"cfg-{control}-{alpha}",
        occurred_at=START,
        campaign="tone",
        variants={"control": 0.5, "b": 0.25, "c": 0.25},
        control=control,
        started_at=START,
        alpha=alpha,
    )


async def test_a_redelivered_older_config_never_replaces_a_newer_one(
    settings: Settings, redis_client: Redis
) -> None:
    store = ExperimentStore(redis_client, settings.key_prefix)
    assert await store.store(config(alpha=0.05), partition=2, offset=10)
    assert await store.store(config(alpha=0.01), partition=2, offset=11)
    assert not await store.store(config(alpha=0.05), partition=2, offset=10)  # redelivered
    assert not await store.store(config(alpha=0.01), partition=2, offset=11)  # the same again
    (stored,) = (await store.configs()).values()
    assert (stored.alpha, stored.control, stored.tuning_n) == (0.01, "control", 5000)
    assert stored.variants == {"control": 0.5, "b": 0.25, "c": 0.25}
    assert stored.started_s == int(START.timestamp())
    # the topic re-keyed: a record from another partition is the latest applied
    assert await store.store(config(control="b"), partition=0, offset=3)
    assert (await store.configs())["tone"].control == "b"


async def test_minima_only_fall_whichever_exporter_lowers_them(
    settings: Settings, redis_client: Redis
) -> None:
    first = ExperimentStore(redis_client, settings.key_prefix)
    second = ExperimentStore(redis_client, settings.key_prefix)
    assert await first.lower_minima({"a": 0.3, "b": 0.9}) == {"a": 0.3, "b": 0.9}
    # two exporters evaluating at once with different counts: the lower values stay
    results = await asyncio.gather(
        first.lower_minima({"a": 0.2, "b": 0.95}), second.lower_minima({"a": 0.25, "b": 0.5})
    )
    assert {name: min(r[name] for r in results) for name in "ab"} == {"a": 0.2, "b": 0.5}
    assert await second.minima(["a", "b", "c"]) == {"a": 0.2, "b": 0.5}
    assert await first.lower_minima({"a": 7.7338e-05}) == {"a": 7.7338e-05}  # exact round trip
    assert await first.lower_minima({}) == {}
