"""K4-K7 by team: promises per right-party contact, kept so far and per agent, summed
over a team's agents (kpi-catalog section 9), from the daily per-agent facts
(``store.collector_net``).

Promise and contact events name an agent, not a team, so these are not counters: the
daily facts count them by uncapped agent id and the team is the agent's at read time,
as K8's (``collectors.agent_teams``: the roster's team, else the team of the agent's
open accounts). A team move therefore re-labels that agent's whole history. What no
team claims (no agent, or an agent on no roster and with no open account of a team) is
reported as ``__unassigned__``: promises made with no agent are real and the teams'
figures then add up to the tenant's. Windows are whole days local to the tenant ending
today (7d, 30d), as K8's; a ratio is absent when its denominator is 0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, timedelta

from collectpulse.kpi.accounts import Today
from collectpulse.kpi.collectors import NO_TEAM, WINDOWS_DAYS, RosterRow, agent_teams
from collectpulse.kpi.model import Gauge

_COHORT = "cohort_"
_PART = ":"
_LABELS = ("team", "tenant", "window")
_HOW = (
    "over whole days local to the tenant ending today (window 7d or 30d), by the team of "
    "each agent at read time (the roster's, else its open accounts'; __unassigned__ when "
    "none or no agent): an agent moved to another team takes its history along"
)

TEAM_PROMISE_GAUGES = (
    Gauge(
        "team_outbound_ptp_per_rpc_ratio",
        f"K4 by team: outbound promises to pay made per outbound right-party contact, {_HOW}. "
        "Absent without RPCs.",
        "promises",
        _LABELS,
    ),
    Gauge(
        "team_outbound_kept_per_rpc_ratio",
        "K5 by team: outbound promises made on the window's days and kept so far per "
        f"outbound right-party contact, {_HOW}. Grows while the promises resolve. Absent "
        "without RPCs.",
        "promises",
        _LABELS,
    ),
    Gauge(
        "team_promise_kept_cohort_ratio",
        "K6 by team: of the promises made on the window's days (cohort by made time, per "
        f"direction and kind of the made event), the share kept so far, {_HOW}. Absent "
        "without promises made.",
        "promises",
        ("direction", "kind", *_LABELS),
    ),
    Gauge(
        "team_promises_made",
        f"K7 by team: promises made, credited to the agent who made them, {_HOW}. Absent "
        "for a team with no promise made, kept or broken in the window.",
        "promises",
        _LABELS,
    ),
    Gauge(
        "team_promise_kept_ratio",
        "K7 by team: kept / (kept + broken) of the promises resolved on the window's days "
        f"(cancelled excluded), credited to the agent who made them, {_HOW}. Absent "
        "without resolved promises.",
        "promises",
        _LABELS,
    ),
)

_COLUMNS = (
    "outbound_rpcs",
    "outbound_ptp_made",
    "outbound_kept_cohort",
    "promises_made",
    "promises_kept",
    "promises_broken",
)
"""The daily facts' columns read here besides the per-direction-and-kind cohort ones."""

TeamValues = dict[str, dict[tuple[str, ...], float]]
"""Gauge name -> its labels (as in the gauge's definition) -> value."""


def cohort_column(status: str, direction: str, kind: str) -> str:
    """The daily facts' column of promises ``made`` or ``kept`` (cohort by made time) of
    one direction and kind (the store books them; read by ``team_promises``)."""
    return f"{_COHORT}{status}{_PART}{direction}{_PART}{kind}"


def team_promises(
    facts: Mapping[tuple[str, str, str, str, date], int],
    roster: Mapping[tuple[str, str], RosterRow],
    collectors: Mapping[tuple[str, str], frozenset[str]],
    today: Today,
) -> TeamValues:
    """The K4-K7 team gauges from the daily per-agent facts
    ``(column, tenant, currency, agent, day) -> sum``."""
    team_of = agent_teams(roster, collectors)
    sums: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for (column, tenant, _, agent, day), amount in facts.items():
        if column not in _COLUMNS and not column.startswith(_COHORT):
            continue
        team = team_of.get((tenant, agent), NO_TEAM)
        local = today if isinstance(today, date) else today(tenant)
        for window, days in WINDOWS_DAYS.items():
            if local - timedelta(days=days) < day <= local:
                sums[(column, team, tenant, window)] += amount
    out: TeamValues = {gauge.name: {} for gauge in TEAM_PROMISE_GAUGES}
    for labels in sorted({key[1:] for key in sums}):
        got = {c: sums.get((c, *labels), 0) for c in _COLUMNS}
        rpcs, kept, broken = got["outbound_rpcs"], got["promises_kept"], got["promises_broken"]
        _share(out, "team_outbound_ptp_per_rpc_ratio", labels, got["outbound_ptp_made"], rpcs)
        _share(out, "team_outbound_kept_per_rpc_ratio", labels, got["outbound_kept_cohort"], rpcs)
        _share(out, "team_promise_kept_ratio", labels, kept, kept + broken)
        if got["promises_made"] or kept or broken:
            out["team_promises_made"][labels] = got["promises_made"]
    made_prefix = f"{_COHORT}made{_PART}"
    for (column, team, tenant, window), made in sorted(sums.items()):
        if column.startswith(made_prefix):
            direction, kind = column[len(made_prefix) :].split(_PART, 1)
            cohort_kept = sums.get(
                (cohort_column("kept", direction, kind), team, tenant, window), 0
            )
            split = (direction, kind, team, tenant, window)
            _share(out, "team_promise_kept_cohort_ratio", split, cohort_kept, made)
    return out


def _share(out: TeamValues, name: str, labels: tuple[str, ...], part: int, whole: int) -> None:
    if whole > 0:
        out[name][labels] = part / whole


__all__ = ["TEAM_PROMISE_GAUGES", "TeamValues", "cohort_column", "team_promises"]
