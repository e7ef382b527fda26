"""The K4-K6, K19 and K20 samples /metrics must show for a log, from the catalog, not src.

Rules (kpi-catalog §8-9), none depending on arrival order:

- a promise is made by its first ``made`` event (direction, kind, agent, tenant of
  that event); ``promise_cohort`` counts it ``made`` once, and ``kept`` once if any
  ``kept`` event of the same promise id exists, both in the made time's bucket (every
  event lies in the run's smallest window, so windowed = all-time);
- K4 = outbound promises to pay made / outbound right-party contacts, K5 = outbound
  promises kept / outbound RPCs, per agent and tenant; K6 = kept / made per direction,
  kind, agent and tenant;
- a succeeded payment counts under ``initiated_by``, else ``agent`` when it names an
  agent, else ``self_service``; the shares leave ``scheduled`` out; promises made
  self-service / all made per kind and tenant;
- an account's versions, in version order (valid currency only), make an exit when one
  leaves the open statuses (team left) and a re-entry when one comes back (team
  joined); handled accounts = open now + exits - re-entries per team and tenant, and
  K20 = outbound attempts / handled accounts (a contact's missing team and an
  account's are both ``__unassigned__``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from tests.order.log import event_s
from tests.support.kpi_oracle import Labels, divide, sum_by

# not imported from tests.faults.oracle, which uses this module (as does tests.order.oracle)
P = "collectpulse_"
Key = tuple[str, Labels]


def labels(**pairs: str | None) -> Labels:
    return frozenset((k, v) for k, v in pairs.items() if v)


OPEN = ("open", "in_plan")
UNASSIGNED = "__unassigned__"
RATIO_NAMES = (
    "outbound_ptp_per_rpc",
    "outbound_kept_per_rpc",
    "promise_kept_cohort",
    "self_service_share",
    "self_service_amount_share",
    "self_service_promise_share",
)
COUNTER_NAMES = (
    "promise_cohort",
    "initiated_payments",
    "initiated_amount_minor",
    "account_exits",
    "account_reentries",
)
GAUGE = f"{P}outbound_attempts_per_account"
FAMILIES = frozenset(
    {
        *(f"{P}{name}_ratio" for name in RATIO_NAMES),
        *(f"{P}{name}_total" for name in COUNTER_NAMES),
        *(f"{P}windowed_{name}" for name in COUNTER_NAMES),
        GAUGE,
    }
)
NO_VALUE = frozenset({*(f"{P}{name}_ratio" for name in RATIO_NAMES), GAUGE})
"""Families whose absent sample means 'no value' rather than 0."""


def agent_samples(
    valid: Sequence[tuple[str, dict[str, Any]]], windows: Sequence[str]
) -> dict[Key, float]:
    """``valid``: the log's (topic, body) without duplicates, in any order."""
    c: dict[str, Counter[Labels]] = defaultdict(Counter)
    by_topic: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for topic, body in valid:
        by_topic[topic].append(body)
    _cohort(by_topic["promise"], c)
    for b in by_topic["payment"]:
        if b["status"] == "succeeded":
            who = b.get("initiated_by") or ("agent" if b.get("agent_id") else "self_service")
            ls = labels(initiated_by=who, currency=b["currency"], tenant=b.get("tenant"))
            c["initiated_payments"][ls] += 1
            c["initiated_amount_minor"][ls] += b["amount_minor"]
    open_now = _flows(by_topic["account"], c)
    samples: dict[Key, float] = {}
    for name, series in c.items():
        for ls, v in series.items():
            samples[(f"{P}{name}_total", ls)] = v
            for window in windows:
                samples[(f"{P}windowed_{name}", ls | {("window", window)})] = v
    contacts = [b for b in by_topic["contact"] if b["direction"] == "outbound"]
    ratios = _ratios(c, contacts, by_topic["promise"])
    ratios[GAUGE] = _per_account(contacts, open_now, c)
    for name, rseries in ratios.items():
        for ls, value in rseries.items():
            for window in windows:
                samples[(name, ls | {("window", window)})] = value
    return samples


def _cohort(promises: Sequence[dict[str, Any]], c: dict[str, Counter[Labels]]) -> None:
    made: dict[str, dict[str, Any]] = {}
    for b in sorted(promises, key=event_s):
        if b["status"] == "made":
            made.setdefault(b["promise_id"], b)
    kept = {b["promise_id"] for b in promises if b["status"] == "kept"}
    for pid, b in made.items():
        base = {
            "direction": b["direction"],
            "kind": b["kind"],
            "agent": b.get("agent_id"),
            "tenant": b.get("tenant"),
        }
        c["promise_cohort"][labels(**base, status="made")] += 1
        if pid in kept:
            c["promise_cohort"][labels(**base, status="kept")] += 1


def _flows(accounts: Sequence[dict[str, Any]], c: dict[str, Counter[Labels]]) -> Counter[Labels]:
    """Count exits and re-entries; return open accounts now per (team, tenant)."""
    placed = {b["account_id"]: b["currency"] for b in accounts if b["change"] == "placed"}
    chains: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for b in accounts:
        if b["currency"] == placed.get(b["account_id"], b["currency"]):
            chains[b["account_id"]].append(b)
    open_now: Counter[Labels] = Counter()
    for chain in chains.values():
        chain.sort(key=lambda b: b["version"])
        for old, new in pairwise(chain):
            was, now = old["status"] in OPEN, new["status"] in OPEN
            if was != now:
                team = (old if was else new).get("team") or UNASSIGNED
                name = "account_exits" if was else "account_reentries"
                c[name][labels(team=team, tenant=new.get("tenant"))] += 1
        last = chain[-1]
        if last["status"] in OPEN:
            open_now[labels(team=last.get("team") or UNASSIGNED, tenant=last.get("tenant"))] += 1
    return open_now


def _ratios(
    c: dict[str, Counter[Labels]],
    outbound: Sequence[dict[str, Any]],
    promises: Sequence[dict[str, Any]],
) -> dict[str, dict[Labels, float]]:
    agent = ("agent", "tenant")
    rpcs: Counter[Labels] = Counter(
        labels(agent=b.get("agent_id"), tenant=b.get("tenant"))
        for b in outbound
        if b["outcome"] == "right_party"
    )
    cohort = c["promise_cohort"]
    out_made = sum_by(
        cohort, agent, {"direction": "outbound", "kind": "promise_to_pay", "status": "made"}
    )
    out_kept = sum_by(cohort, agent, {"direction": "outbound", "status": "kept"})
    group = ("direction", "kind", "agent", "tenant")
    shares = ("currency", "tenant")
    out: dict[str, dict[Labels, float]] = {
        f"{P}outbound_ptp_per_rpc_ratio": divide(out_made, rpcs),
        f"{P}outbound_kept_per_rpc_ratio": divide(out_kept, rpcs),
        f"{P}promise_kept_cohort_ratio": divide(
            sum_by(cohort, group, {"status": "kept"}), sum_by(cohort, group, {"status": "made"})
        ),
    }
    for counter, name in (
        ("initiated_payments", "self_service_share"),
        ("initiated_amount_minor", "self_service_amount_share"),
    ):
        own = sum_by(c[counter], shares, {"initiated_by": "self_service"})
        both = own + sum_by(c[counter], shares, {"initiated_by": "agent"})
        out[f"{P}{name}_ratio"] = divide(own, both)
    made = [b for b in promises if b["status"] == "made"]
    all_made = Counter(labels(kind=b["kind"], tenant=b.get("tenant")) for b in made)
    self_made = Counter(
        labels(kind=b["kind"], tenant=b.get("tenant"))
        for b in made
        if b["direction"] == "self_service"
    )
    out[f"{P}self_service_promise_share_ratio"] = divide(self_made, all_made)
    return out


def _per_account(
    outbound: Sequence[dict[str, Any]], open_now: Counter[Labels], c: dict[str, Counter[Labels]]
) -> dict[Labels, float]:
    attempts: Counter[Labels] = Counter(
        labels(team=b.get("team") or UNASSIGNED, tenant=b.get("tenant")) for b in outbound
    )
    handled: Counter[Labels] = Counter()
    handled.update(open_now)
    handled.update(c["account_exits"])
    handled.subtract(c["account_reentries"])
    return {ls: attempts.get(ls, 0) / h for ls, h in handled.items() if h > 0}
