"""The capped label registries as one writer sees them: which label values it may report.

Label values go through a cap so a typo'd or unbounded field cannot explode the series
count: tenants, campaigns and the other labels through the store's registries
(``cp:{labels}:<label>``, admit_labels.lua), agents through per-tenant slots
(``store.roster``). A value that looks personal is reported as ``__redacted__`` and one
holding a key separator as ``__other__`` (``screened_label``); neither takes a slot.
Admitted stays admitted, so a value is asked about once per process; an agent's slot
decision is trusted for ``AGENT_RECHECK_S``.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping

from collectpulse.events.decode import Invalid
from collectpulse.kpi.labels import OTHER_VALUE
from collectpulse.settings import Settings, duration_s
from collectpulse.store.client import StoreClient
from collectpulse.store.context import Record, screened_label
from collectpulse.store.event_labels import label_values
from collectpulse.store.keys import Keys
from collectpulse.store.roster import RosterStore
from collectpulse.store.scripts import Scripts

AGENT_RECHECK_S = 60.0
"""How long the worker trusts an agent's slot decision: the roster or an idle agent may
change it, and the check also tells the store the agent is still seen."""
MAX_AGENT_DECISIONS = 100_000


class LabelSlots:
    """Admits an apply's label values and maps each to the value it is reported as."""

    def __init__(
        self,
        client: StoreClient,
        settings: Settings,
        keys: Keys,
        scripts: Scripts,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._keys = keys
        self._scripts = scripts
        self._clock = clock
        self._admitted: dict[str, set[str]] = defaultdict(set)
        self._roster = RosterStore(client, settings.key_prefix)
        self._agent_slots: dict[tuple[str, str], tuple[bool, float]] = {}
        """(tenant, agent) -> (holds a label slot, when the store said so)."""
        self._agent_misses: defaultdict[str, set[str]] = defaultdict(set)

    def take_misses(self) -> dict[str, set[str]]:
        """Tenant -> agents ``cap_agent`` was asked about before any slot decision (and
        so reported as ``__other__``); cleared by the call."""
        misses, self._agent_misses = dict(self._agent_misses), defaultdict(set)
        return misses

    async def admit(self, records: Iterable[Record]) -> None:
        """Admit this apply's new label values into the capped registries (one call per label)."""
        wanted: dict[str, set[str]] = defaultdict(set)
        agents: dict[str, set[str]] = defaultdict(set)
        admitted = self._admitted
        stale_before = self._clock() - AGENT_RECHECK_S
        for record in records:
            event = record.event
            if isinstance(event, Invalid):
                continue
            for label, value in label_values(event):
                if not value:
                    continue
                if label == "agent":
                    tenant = event.tenant or ""
                    slot = self._agent_slots.get((tenant, value))
                    if slot is None or slot[1] < stale_before:
                        agents[tenant].add(value)
                elif value not in admitted[label]:
                    wanted[label].add(value)
        # a value reported redacted or other takes no slot of the cap; screened once per
        # distinct value and apply (a regex per event was 3.6 µs/event on the hot path)
        await self.admit_agents(_admissible(agents))
        for label, values in _admissible(wanted).items():
            ordered = sorted(values)
            cap = self._settings.team_label_cap if label == "team" else self._settings.label_cap
            reply = await self._scripts.admit_labels(
                keys=[self._keys.labels(label)], args=[cap, *ordered]
            )
            self._admitted[label].update(v for v, ok in zip(ordered, reply, strict=True) if int(ok))

    def cap(self, label: str, value: str) -> str:
        screened = screened_label(value)
        if screened is not None:
            return screened
        if label == "agent":  # a caller that does not name the tenant: any tenant's slot
            held = any(ok for (_, a), (ok, _) in self._agent_slots.items() if a == value)
            return value if held else OTHER_VALUE
        return value if value in self._admitted[label] else OTHER_VALUE

    def cap_agent(self, tenant: str, agent: str) -> str:
        screened = screened_label(agent)
        if screened is not None:
            return screened
        slot = self._agent_slots.get((tenant, agent))
        if slot is None:
            self._agent_misses[tenant].add(agent)
            return OTHER_VALUE
        return agent if slot[0] else OTHER_VALUE

    async def admit_agents(self, wanted: Mapping[str, set[str]]) -> None:
        """Ask the per-tenant agent slots (store.roster) about agents not checked lately."""
        now = self._clock()
        if len(self._agent_slots) > MAX_AGENT_DECISIONS:
            self._agent_slots.clear()
        s = self._settings
        for tenant, agents in wanted.items():
            ordered = sorted(agents)
            admitted = await self._roster.admit(
                tenant,
                ordered,
                cap=s.agent_label_cap,
                now_s=int(now),
                idle_s=duration_s(s.agent_label_idle),
            )
            for agent in ordered:
                self._agent_slots[(tenant, agent)] = (agent in admitted, now)


def _admissible(wanted: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """``wanted`` without the values ``screened_label`` reports as redacted or other."""
    out = {key: {v for v in values if screened_label(v) is None} for key, values in wanted.items()}
    return {key: values for key, values in out.items() if values}


__all__ = ["AGENT_RECHECK_S", "MAX_AGENT_DECISIONS", "LabelSlots"]
