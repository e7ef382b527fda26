"""The contact centre: a small roster of agents and the attempts the dialer makes.

Pure and seeded like the journeys. Each tenant has ``ROSTER_SIZE`` agents in
two teams, each with a skill (drawn from the agent's name, so the same agent is
as good in every run) that scales how often its attempts reach the right
party. Outbound attempts follow the usual outcome mix (no answer 45 %,
voicemail 20 %, busy 10 %, right party 15 %, wrong party 5 %, invalid number
5 %) and redial until the right party answers, the number proves wrong, or
``MAX_ATTEMPTS`` are spent; a predictive dialer bridges an agent only when a
person answers. Inbound calls reach the right party most of the time.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from collectpulse.events.models import ContactEvent, ContactOutcome
from collectpulse.simulate.factory import Contact, EventFactory, Planned
from collectpulse.simulate.scenario import Tenant

ROSTER_SIZE: Final = 8
MAX_ATTEMPTS: Final = 4
REDIAL_S: Final = 3 * 3600.0
OUTCOME_MIX: Final[tuple[tuple[ContactOutcome, float], ...]] = (
    ("no_answer", 0.45),
    ("voicemail", 0.20),
    ("right_party", 0.15),
    ("wrong_party", 0.05),
    ("busy", 0.10),
    ("invalid_number", 0.05),
)
DIALER_CAMPAIGNS: Final = ("dpd-30", "dpd-60")
_ANSWERED: Final = frozenset({"right_party", "wrong_party"})
_FINAL: Final = frozenset({"right_party", "wrong_party", "invalid_number"})
Channel = Literal["call", "chat", "email_reply"]


@dataclass(frozen=True, slots=True)
class Agent:
    agent_id: str
    team: str
    skill: float
    """Multiplies the right-party weight of the agent's attempts (0.6-1.5)."""


def roster(tenant: Tenant) -> tuple[Agent, ...]:
    """The tenant's agents; the same in every run (the ids the journeys' agents use)."""
    agents = []
    for i in range(1, ROSTER_SIZE + 1):
        agent_id = f"agent-{tenant.name}-{i:02d}"
        skill = random.Random(agent_id).uniform(0.6, 1.5)
        agents.append(
            Agent(agent_id, "early-stage" if i <= ROSTER_SIZE // 2 else "late-stage", skill)
        )
    return tuple(agents)


def outcome(rng: random.Random, agent: Agent) -> ContactOutcome:
    weights = [w * agent.skill if o == "right_party" else w for o, w in OUTCOME_MIX]
    return rng.choices([o for o, _ in OUTCOME_MIX], weights)[0]


class Dialer:
    """Plans contact attempts as events (the journeys add them to their plan)."""

    def __init__(self, rng: random.Random, make: EventFactory, delay: Callable[[float], float]):
        self._rng = rng
        self._make = make
        self._delay = delay
        self._rosters: dict[str, tuple[Agent, ...]] = {}

    def agent(self, tenant: Tenant) -> Agent:
        rosters = self._rosters
        if tenant.name not in rosters:
            rosters[tenant.name] = roster(tenant)
        return self._rng.choice(rosters[tenant.name])

    def outbound(self, at_s: float, contact: Contact) -> tuple[list[Planned], Agent | None, float]:
        """Dial until a final outcome or ``MAX_ATTEMPTS``: the attempts, and the agent and
        time of the right-party contact (None when the customer was not reached)."""
        rng = self._rng
        agent = self.agent(contact.tenant)
        campaign = rng.choice(DIALER_CAMPAIGNS)
        planned: list[Planned] = []
        for _ in range(MAX_ATTEMPTS):
            result = outcome(rng, agent)
            bridged = result in _ANSWERED
            talk_s = rng.randint(30, 600) if bridged else 0
            customer = contact.customer_id
            call = _Call("outbound", "call", result, agent, bridged, talk_s, campaign)
            planned.append(self._event(at_s, contact.tenant, customer, call))
            if result == "right_party":
                return planned, agent, at_s
            if result in _FINAL:
                break
            at_s += self._delay(REDIAL_S)
        return planned, None, at_s

    def inbound(
        self, at_s: float, contact: Contact, agent: Agent, *, known: bool = True
    ) -> tuple[float, ContactEvent]:
        """A customer calls (or writes) in; ``known=False``: the caller was not identified."""
        rng = self._rng
        channel: Channel = rng.choices(("call", "chat", "email_reply"), (0.7, 0.2, 0.1))[0]
        result: ContactOutcome = "right_party" if rng.random() < 0.93 else "wrong_party"
        call = _Call("inbound", channel, result, agent, True, rng.randint(60, 900), None)
        return self._event(at_s, contact.tenant, contact.customer_id if known else None, call)

    def _event(
        self, at_s: float, tenant: Tenant, customer_id: str | None, call: _Call
    ) -> tuple[float, ContactEvent]:
        # ``at_s`` is when the outcome is known (the event time); the attempt started
        # a ring and the talk before, so a plan is emitted without waiting for a call
        make, ring_s = self._make, 20 + self._rng.random() * 25
        started_s = at_s - ring_s - call.talk_s
        return at_s, ContactEvent(
            event_id=make.new_id("cx"),
            occurred_at=make.local_time(at_s, tenant),
            tenant=tenant.name,
            contact_id=make.new_id("contact"),
            customer_id=customer_id,
            direction=call.direction,
            channel=call.channel,
            outcome=call.outcome,
            agent_id=call.agent.agent_id if call.bridged else None,
            team=call.agent.team,
            started_at=make.local_time(started_s, tenant),
            duration_s=call.talk_s,
            dialer_campaign=call.campaign,
        )


@dataclass(frozen=True, slots=True)
class _Call:
    direction: Literal["inbound", "outbound"]
    channel: Channel
    outcome: ContactOutcome
    agent: Agent
    bridged: bool
    talk_s: int
    campaign: str | None


__all__ = ["DIALER_CAMPAIGNS", "MAX_ATTEMPTS", "OUTCOME_MIX", "ROSTER_SIZE", "Agent", "Dialer"]
