"""The agent label's slots in Redis (kpi-catalog section 9): roster first, then first seen."""

from __future__ import annotations

from datetime import UTC, date, datetime

import orjson
from redis.asyncio import Redis
from redis.crc import key_slot

from collectpulse.events.roster import AgentEvent, TargetEvent
from collectpulse.settings import Settings
from collectpulse.store.roster import RosterStore, roster_key, roster_offsets_key
from collectpulse.store.targets import TargetStore, targets_key, targets_offsets_key
from collectpulse.stream.batch import RawRecord, RecordBatch
from collectpulse.stream.retry import DependencyState
from collectpulse.stream.roster_agent import make_roster_agent
from tests.integration.reference_resume import DlqSink, resumed, run_agent

AT = datetime(2026, 11, 1, tzinfo=UTC)
DAY_S = 86_400
IDLE_S = 35 * DAY_S


def roster(agent: str, status: str = "active", tenant: str = "t1") -> AgentEvent:
    return AgentEvent(
        event_id=f"r-{agent}-{status}",
        occurred_at=AT,
        tenant=tenant,
        agent_id=agent,
        team="north",
        role="collector",
        status=status,  # type: ignore[arg-type]
    )


async def test_roster_agents_first_then_first_seen_and_idle_agents_free_their_slot(
    settings: Settings, redis_client: Redis
) -> None:
    store = RosterStore(redis_client, settings.key_prefix)
    now = 1_800_000_000

    async def admit(*agents: str, at: int = now, tenant: str = "t1") -> set[str]:
        return await store.admit(tenant, list(agents), cap=3, now_s=at, idle_s=IDLE_S)

    # first seen, in that order, until the cap
    assert await admit("z1", "z2") == {"z1", "z2"}
    assert await admit("z3", "z4") == {"z3"}
    # the cap is per tenant
    assert await admit("z4", tenant="t2") == {"z4"}
    # two active roster agents take the first slots: only the first seen keeps one
    assert await store.store(roster("b-roster"), partition=0, offset=1)
    assert await store.store(roster("a-roster"), partition=0, offset=2)
    assert await admit("a-roster", "b-roster", "z1", "z2", "z3") == {"a-roster", "b-roster", "z1"}
    # a redelivered older record changes nothing; a newer one makes b inactive: z2 is back
    assert not await store.store(roster("b-roster"), partition=0, offset=1)
    assert await store.store(roster("b-roster", "inactive"), partition=0, offset=3)
    assert await admit("b-roster", "z1", "z2") == {"z1", "z2"}
    entries = {e.agent_id: e for e in await store.entries()}
    assert entries["b-roster"].status == "inactive" and entries["a-roster"].active_collector
    # z1 seen again later, z2 not: 35 days on, z2's slot is free for a new agent
    assert await admit("z1", at=now + IDLE_S - 10) == {"z1"}
    assert await admit("z5", "z1", at=now + IDLE_S + 1) == {"z1", "z5"}
    assert await admit("z6", at=now + IDLE_S + 2) == set()


def target(scope_id: str, value: float) -> TargetEvent:
    return TargetEvent(
        event_id=f"tg-{scope_id}-{value}",
        occurred_at=AT,
        tenant="t1",
        scope="agent",
        scope_id=scope_id,
        metric="rpc_count",
        period="day",
        value=value,
        valid_from=date(2026, 11, 1),
    )


async def test_roster_and_target_partitions_resume_after_the_last_record_applied(
    settings: Settings, redis_client: Redis
) -> None:
    prefix = settings.key_prefix
    roster_keys = (roster_key(prefix), roster_offsets_key(prefix))
    target_keys = (targets_key(prefix), targets_offsets_key(prefix))
    for entries, offsets in (roster_keys, target_keys):  # one Lua call, one slot
        assert key_slot(entries.encode()) == key_slot(offsets.encode())
    roster_store = RosterStore(redis_client, prefix)
    target_store = TargetStore(redis_client, prefix)
    a1_target = "agent:a1:rpc_count:day"
    assert await roster_store.store(roster("a1"), partition=0, offset=4)
    assert await roster_store.store(roster("a2"), partition=1, offset=0)
    assert await target_store.store(a1_target, target("a1", 5), 2, 7)
    assert await target_store.store(a1_target, None, 2, 8)  # a tombstone
    # the agents, partition 3: the last record stores nothing but was read all the same
    dlq = DlqSink()
    a3 = roster("a3").model_dump_json().encode()
    a5 = target("a5", 2).model_dump_json().encode()

    async def run_agents() -> None:
        # each batch's last record: dead-lettered (agent), a tombstone without key (target)
        for store, records in (
            (roster_store, [RawRecord(0, b"a3", a3, (), 0), RawRecord(1, b"a4", b"{", (), 0)]),
            (target_store, [RawRecord(3, b"a5", a5, (), 0), RawRecord(4, None, None, (), 0)]),
        ):
            topic = settings.topic("agent" if store is roster_store else "target")
            batch = RecordBatch(topic, 3, records[0].offset, records[-1].offset, records)
            state = DependencyState()
            body = make_roster_agent(
                store, dlq, max_bytes=65536, future_tolerance_s=300, state=state
            )
            await run_agent(body, [batch])

    await run_agents()
    assert len(dlq.sent) == 1
    assert await roster_store.applied_offsets() == {0: 4, 1: 0, 3: 1}
    assert await target_store.applied_offsets() == {2: 8, 3: 4}
    roster_resumes = await resumed(settings, "agent", roster_store.applied_offsets, range(5))
    assert roster_resumes == {0: 5, 1: 1, 3: 2}  # partitions 2 and 4: from the commit
    target_resumes = await resumed(settings, "target", target_store.applied_offsets, range(5))
    assert target_resumes == {2: 9, 3: 5}

    async def snapshot() -> list[dict[bytes | str, bytes | str]]:
        return [await redis_client.hgetall(key) for key in (*roster_keys, *target_keys)]

    before = await snapshot()
    # compaction or a second owner may read a record again: applying it changes nothing
    assert not await roster_store.store(roster("a1"), partition=0, offset=4)
    assert not await roster_store.store(roster("a1"), partition=0, offset=2)
    assert not await target_store.store(a1_target, target("a1", 5), 2, 7)
    assert not await target_store.store(a1_target, None, 2, 8)
    await run_agents()
    assert await snapshot() == before
    assert {e.agent_id for e in await roster_store.entries()} == {"a1", "a2", "a3"}
    assert [t.scope_id for t in await target_store.targets()] == ["a5"]
    assert orjson.loads(before[2][b"agent:a1:rpc_count:day"])["deleted"]
