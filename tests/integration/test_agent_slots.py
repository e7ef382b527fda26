"""The agent label's slots in Redis (kpi-catalog section 9): roster first, then first seen."""

from __future__ import annotations

from datetime import UTC, datetime

from redis.asyncio import Redis

from collectpulse.events.roster import AgentEvent
from collectpulse.settings import Settings
from collectpulse.store.roster import RosterStore

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
