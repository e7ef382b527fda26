"""The K10 and K16 gauges of the one definitions table (gathered by ``kpi.computed``).

Computed by the exporter from the allocation aggregates (``kpi.allocation``): net
collected allocated to accounts, accounts handled and placement cohorts.
"""

from __future__ import annotations

from collectpulse.kpi.model import Gauge

_WINDOWED = ("currency", "tenant", "window")
"""``window`` is 30d or 90d (whole tenant-local days ending today), as for K13-K15."""
_TEAM_WINDOWED = ("currency", "team", "tenant", "window")
_TEAM = (
    "team = the team of the account version in force at the payment's time (the newest "
    "version before it), __unassigned__ without one; a late version changing it moves "
    "the credit"
)
_NET = (
    "net collected = succeeded payments - reversed amounts, each on the tenant-local day "
    "of its own occurred_at"
)
_ALLOCATION = (
    "a payment goes to its account_id, else to the customer's only account in the "
    "payment's currency that was open just before the payment, else it is unallocated"
)

ALLOCATION_GAUGES: tuple[Gauge, ...] = (
    Gauge(
        "collected_per_account",
        f"Net collected allocated to accounts in the window per account handled ({_NET}; "
        f"{_ALLOCATION}). Accounts handled H(W) = open accounts now + accounts that left "
        "the open statuses in W - accounts that re-opened in W = the accounts open at the "
        "start of W plus those placed in W. Absent while H = 0. Per-account p50/p90: not "
        "exported.",
        "portfolio",
        _WINDOWED,
    ),
    Gauge(
        "collected_unallocated_minor",
        f"Net collected in the window that no account was allocated ({_NET}; {_ALLOCATION}): "
        "no account_id and zero or several open accounts of the customer in that currency.",
        "portfolio",
        _WINDOWED,
    ),
    Gauge(
        "handled_accounts",
        "Accounts handled in the window, H(W) = open accounts now + exits(W) - re-entries(W) "
        "(steps between consecutive versions in version order, on the later version's day).",
        "portfolio",
        _WINDOWED,
    ),
    Gauge(
        "team_collected_per_account",
        f"K10 by team: net collected allocated to the team's accounts in the window per "
        f"account the team handled ({_NET}; {_ALLOCATION}; {_TEAM}). H(W) by team = its "
        "open accounts now + exits(W) under the team left - re-entries(W) under the team "
        "joined. Absent while H = 0. A ratio: never sum or average it across teams; the "
        "tenant's value is collected_per_account, computed from the tenant's sums.",
        "portfolio",
        _TEAM_WINDOWED,
    ),
    Gauge(
        "team_handled_accounts",
        "Accounts a team handled in the window, H(W) = its open accounts now + exits(W) "
        "(under the team left) - re-entries(W) (under the team joined); the denominator of "
        "team_collected_per_account. Summed over teams: handled_accounts, except where "
        "racing reads were clamped at 0. Unallocated net has no team.",
        "portfolio",
        _TEAM_WINDOWED,
    ),
    Gauge(
        "recovery_ratio",
        f"Recovery of a placement cohort: net collected allocated so far to the accounts "
        f"placed in the cohort month ({_NET}) / the sum of their placed balances; cohort "
        "= the tenant-local month of the account's placed event, the last 12 months. "
        "Absent while nothing of the cohort was placed; the age curve (30/60/90/180 days "
        "after placement) is JSON only (/api/v1/recovery).",
        "portfolio",
        ("currency", "cohort", "tenant"),
    ),
    Gauge(
        "repaid_by_dpd_ratio",
        "Of the accounts placed in the window (30d or 90d, by the tenant-local day of "
        "their placed event) whose due date at placement + dpd days (7, 30, 60, 90) is "
        "today or earlier, the share that reached paid_in_full or settled (upstream "
        "statuses; partial payments never count) at or before that day. Absent while no "
        "account is old enough.",
        "portfolio",
        ("dpd", "tenant", "window"),
    ),
)
