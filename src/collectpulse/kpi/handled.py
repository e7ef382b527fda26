"""Outbound attempts per handled account (catalog §9, K20): counters and pure arithmetic.

Handled accounts H(W) = accounts open at the start of W plus accounts placed in W
= open_count(now) + exits(W) - re-entries(W) (catalog §9, shared rules), so no
snapshot of the past is stored: the store counts, by the account event's time, each
account leaving the open statuses (an exit) and coming back to them (a re-entry),
under the team it leaves or joins, between consecutive versions whatever the arrival
order (``store.account_transitions``); the placement is no transition. The reduction
over time is PromQL's ``offset``: ``1 - x / (x offset 30d)`` of the ``window="30d"``
sample (the Agents dashboard).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING

from collectpulse.kpi.labels import TEAM, TENANT
from collectpulse.kpi.model import Bucketing, Counter

if TYPE_CHECKING:  # kpi.ratios imports the definitions table, which imports this module
    from collectpulse.kpi.ratios import CounterValues

UNASSIGNED = "__unassigned__"
"""The team of accounts nobody is assigned to, and of contacts that name no team."""

HANDLED_COUNTERS = (
    Counter(
        "account_exits",
        "Accounts leaving the open statuses (open, in_plan) for a terminal one, by the team "
        "they leave (__unassigned__: none); windowed by the account event's time. With "
        "account_reentries and open_accounts: handled accounts (catalog K20).",
        "portfolio",
        (TEAM, TENANT),
        Bucketing.ACTIVITY,
    ),
    Counter(
        "account_reentries",
        "Accounts re-opened (from a terminal status back to open or in_plan), by the team "
        "they join; windowed by the account event's time.",
        "portfolio",
        (TEAM, TENANT),
        Bucketing.ACTIVITY,
    ),
)

TeamTenant = tuple[str, str]


def handled_accounts(
    open_now: Mapping[TeamTenant, float], values: CounterValues
) -> dict[TeamTenant, float]:
    """H(W) per (team, tenant): open now + exits in W - re-entries in W (never below 0)."""
    handled: dict[TeamTenant, float] = defaultdict(float)
    for pair, count in open_now.items():
        handled[pair] += count
    for counter, sign in (("account_exits", 1), ("account_reentries", -1)):
        for labelset, value in values.get(counter, {}).items():
            handled[_team_tenant(dict(labelset))] += sign * value
    return {pair: max(h, 0.0) for pair, h in handled.items()}


def attempts_per_account(
    open_now: Mapping[TeamTenant, float], values: CounterValues
) -> dict[TeamTenant, float]:
    """K20 per (team, tenant): outbound contact attempts in W / H(W); absent when H is 0.

    A contact's team is the one it names; ``__unassigned__`` when it names none, as
    accounts without a team.
    """
    attempts: dict[TeamTenant, float] = defaultdict(float)
    for labelset, value in values.get("contact_attempts", {}).items():
        labels = dict(labelset)
        if labels.get("direction") == "outbound":
            attempts[_team_tenant(labels)] += value
    handled = handled_accounts(open_now, values)
    return {pair: attempts.get(pair, 0.0) / h for pair, h in sorted(handled.items()) if h > 0}


def _team_tenant(labels: Mapping[str, str]) -> TeamTenant:
    return labels.get("team") or UNASSIGNED, labels.get("tenant", "")
