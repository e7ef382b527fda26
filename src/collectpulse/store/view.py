"""What one read of the store gives a scrape: the ``StoreView`` (``store.reader`` builds it;
the exporter, the live page and the APIs read it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from collectpulse.kpi.accounts import AccountTotals
from collectpulse.kpi.allocation import AllocationTotals
from collectpulse.kpi.collectors import RosterRow
from collectpulse.kpi.costs import Cost, RevenueModel
from collectpulse.kpi.ratios import CounterValues
from collectpulse.kpi.send_time import Slot
from collectpulse.kpi.targets import Target
from collectpulse.store.experiment_reader import ExperimentResult
from collectpulse.store.heartbeats import WorkerBeat


@dataclass(frozen=True, slots=True)
class Struggling:
    tenant: str
    customer_id: str
    since_s: int


@dataclass(frozen=True)
class StoreView:
    """Everything one scrape needs, read at ``now_s``."""

    now_s: int
    partitions: tuple[int, ...]
    totals: Mapping[str, int]
    """Raw total fields (counter, labels, histogram buckets, last-event times) merged."""
    windows: Mapping[str, CounterValues] = field(default_factory=dict)
    """Window name -> counter -> label set -> value (uniques included)."""
    offsets: Mapping[tuple[str, int], int] = field(default_factory=dict)
    """(topic without prefix, partition) -> last offset whose effects are in the store."""
    struggling: tuple[Struggling, ...] = ()
    """Customers struggling now, for the count metric and the agents' JSON list."""
    label_values: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Capped label -> the values admitted under the cardinality cap (label registries)."""
    heartbeats: tuple[WorkerBeat, ...] = ()
    """Workers that beat within ``HEARTBEAT_FORGET_S``, by worker id."""
    delivered_since_view: Mapping[tuple[str, str], int] = field(default_factory=dict)
    """(campaign, tenant) -> messages delivered since its last landing view (store.silence)."""
    accounts: AccountTotals = field(default_factory=AccountTotals)
    """Open accounts and receivables by due date, summed over partitions (K9, K18)."""
    allocation: AllocationTotals = field(default_factory=AllocationTotals)
    """Net collected allocated to accounts, exits and placement cohorts (K10, K16)."""
    experiments: tuple[ExperimentResult, ...] = ()
    """Customer-level experiments evaluated at this read (store.experiment_reader)."""
    tenant_zones: Mapping[str, str] = field(default_factory=dict)
    """Tenant -> IANA zone its dates are local to (Settings.tenant_time_zones)."""
    default_zone: str = "UTC"
    send_slots: Mapping[str, Mapping[Slot, int]] = field(default_factory=dict)
    """K21 window (7d, 28d) -> send slot -> count, summed over partitions (store.send_time)."""
    summed: object = None
    """Stands for ``totals``, ``windows`` and ``label_values``: two views holding the same
    object (not None) hold the same values (the reader reuses them while no partition's
    write version moved), so what is derived from them alone can be reused too."""
    agent_net: Mapping[tuple[str, str, str, str, date], int] = field(default_factory=dict)
    """(column, tenant, currency, agent id, local day) -> the agents' daily facts
    (store.collector_net: K8, K24)."""
    roster: Mapping[tuple[str, str], RosterRow] = field(default_factory=dict)
    """(tenant, agent id) -> (team, role, status): the agent roster (store.roster)."""
    targets: tuple[Target, ...] = ()
    """The agent, team and tenant targets (store.targets, K24)."""
    costs: tuple[Cost, ...] = ()
    """The standing operating costs (store.costs, K11, K12)."""
    revenue_models: Mapping[str, RevenueModel] = field(default_factory=dict)
    """Tenant -> its K11 revenue model (Settings.tenant_revenue_models; default in_house)."""
