"""The experiment configurations and p-value minima in Redis: newer wins, minima only fall."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from redis.asyncio import Redis
from redis.crc import key_slot

from collectpulse.events.roster import ExperimentEvent
from collectpulse.settings import Settings
from collectpulse.store.experiment_config import (
    ExperimentStore,
    config_key,
    config_offsets_key,
)
from collectpulse.stream.batch import RawRecord, RecordBatch
from collectpulse.stream.experiment_agent import make_experiment_agent
from collectpulse.stream.retry import DependencyState
from tests.integration.reference_resume import DlqSink, resumed, run_agent

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


async def test_a_partition_resumes_after_the_last_record_the_store_applied(
    settings: Settings, redis_client: Redis
) -> None:
    prefix = settings.key_prefix
    keys = (config_key(prefix), config_offsets_key(prefix))
    assert key_slot(keys[0].encode()) == key_slot(keys[1].encode())  # one Lua call, one slot
    store = ExperimentStore(redis_client, prefix)
    assert await store.store(config(alpha=0.05), partition=2, offset=10)
    assert await store.store(config(alpha=0.01), partition=2, offset=11)
    # the agent: a valid config, then a dead-lettered one that stores nothing but was read
    valid = config(alpha=0.02).model_copy(update={"campaign": "tone2"}).model_dump_json()
    records = [RawRecord(0, b"tone2", valid.encode(), (), 0), RawRecord(1, b"x", b"{", (), 0)]
    body = make_experiment_agent(
        store, DlqSink(), max_bytes=65536, future_tolerance_s=300, state=DependencyState()
    )
    batch = RecordBatch(settings.topic("experiment"), 0, 0, 1, records)
    await run_agent(body, [batch])
    assert await store.applied_offsets() == {2: 11, 0: 1}
    assert await resumed(settings, "experiment", store.applied_offsets, range(4)) == {2: 12, 0: 2}

    async def snapshot() -> list[dict[bytes | str, bytes | str]]:
        return [await redis_client.hgetall(key) for key in keys]

    before = await snapshot()
    # compaction or a second owner may read a record again: applying it changes nothing
    assert not await store.store(config(alpha=0.05), partition=2, offset=10)
    assert not await store.store(config(alpha=0.01), partition=2, offset=11)
    await run_agent(body, [batch])
    assert await snapshot() == before
    assert (await store.configs())["tone2"].alpha == 0.02


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
