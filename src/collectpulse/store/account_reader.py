"""Read the partitions' account aggregates for the exporter (one pipelined round trip).

Reads may span slots (kpi-catalog section 7): each partition's three hashes, its
``attempts_since`` mark (HGET) and its daily flow hashes of the last
``FLOW_READ_DAYS`` days are read with HGETALL in one pipeline and summed here; days
past due and windows are computed from the dates by ``kpi.accounts`` and ``kpi.dso``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from collectpulse.kpi.accounts import AccountTotals
from collectpulse.store.client import StoreClient
from collectpulse.store.contact_effects import ATTEMPTS_SINCE
from collectpulse.store.keys import FIELD_SEP, Keys
from collectpulse.store.replies import text as _text

FLOW_READ_DAYS = 92
"""The 90-day window ends on the tenant's local today, which is the UTC date, the day
before or the day after: UTC today + 1 and the 91 days before it cover every zone."""


def flow_days(now_s: float) -> list[str]:
    """The ISO dates of the flow hashes a read at ``now_s`` fetches, newest first."""
    last = datetime.fromtimestamp(now_s, UTC).date() + timedelta(days=1)
    return [(last - timedelta(days=i)).isoformat() for i in range(FLOW_READ_DAYS)]


async def read_accounts(
    client: StoreClient, keys: Keys, partitions: Sequence[int], now_s: float
) -> AccountTotals:
    """The open-account counts, receivables, active collectors and recent daily flows of
    every partition."""
    if not partitions:
        return AccountTotals()
    days = flow_days(now_s)
    pipe = client.pipeline(transaction=False)
    for p in partitions:
        pipe.hgetall(keys.open_accounts(p))
        pipe.hgetall(keys.receivables(p))
        pipe.hgetall(keys.account_agents(p))
        pipe.hget(keys.totals(p), ATTEMPTS_SINCE)
        for day in days:
            pipe.hgetall(keys.flows(p, day))
    replies = await pipe.execute()
    per = 4 + len(days)
    aggregates = [r for i in range(0, len(replies), per) for r in replies[i : i + 3]]
    flows = [replies[i + 4 : i + per] for i in range(0, len(replies), per)]
    totals = merge_accounts(aggregates)
    return replace(
        totals,
        flows=merge_flows(days, flows),
        attempts=merge_attempts(days, flows),
        attempts_since_s=attempts_since(replies[i + 3] for i in range(0, len(replies), per)),
    )


def attempts_since(replies: Iterable[bytes | str | None]) -> int | None:
    """Since when every partition counts contact attempts: the latest of their marks
    (``store.contact_effects``; a partition without one has written nothing since)."""
    marks = [int(r) for r in replies if r is not None]
    return max(marks) if marks else None


def merge_flows(
    days: Sequence[str], replies: Sequence[Sequence[dict[Any, Any]]]
) -> dict[tuple[str, str, date], tuple[int, int, int]]:
    """(tenant, currency, day) -> (S, R, cash) summed over partitions; ``replies`` holds
    each partition's flow hashes in the order of ``days``."""
    sums: dict[tuple[str, str, date], list[int]] = defaultdict(lambda: [0, 0, 0])
    dates = [date.fromisoformat(d) for d in days]
    for partition in replies:
        for day, hashed in zip(dates, partition, strict=True):
            for name, value in hashed.items():
                parts = _text(name).split(FIELD_SEP)
                if len(parts) == 3 and parts[2] in _FLOW_KINDS:
                    sums[(parts[0], parts[1], day)][_FLOW_KINDS[parts[2]]] += int(value)
    return {k: (s, r, c) for k, (s, r, c) in sums.items() if s or r or c}


_FLOW_KINDS = {"s": 0, "r": 1, "c": 2}


def merge_attempts(
    days: Sequence[str], replies: Sequence[Sequence[dict[Any, Any]]]
) -> dict[tuple[str, date], int]:
    """(tenant, day) -> contact attempts (the flow hashes' ``<tenant> n`` fields, K12)."""
    sums: dict[tuple[str, date], int] = defaultdict(int)
    dates = [date.fromisoformat(d) for d in days]
    for partition in replies:
        for day, hashed in zip(dates, partition, strict=True):
            for name, value in hashed.items():
                tenant, _, kind = _text(name).partition(FIELD_SEP)
                if kind == "n":
                    sums[(tenant, day)] += int(value)
    return dict(sums)


def merge_accounts(replies: Sequence[dict[Any, Any]]) -> AccountTotals:
    """Sum the replies of ``read_accounts`` (three hashes per partition, in order)."""
    opened: dict[tuple[str, str, str, str, str], int] = defaultdict(int)
    balances: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    teams: dict[tuple[str, str, str], int] = defaultdict(int)
    collectors: dict[tuple[str, str], set[str]] = defaultdict(set)
    for i in range(0, len(replies), 3):
        for name, value in replies[i].items():
            parts = _text(name).split(FIELD_SEP)
            if len(parts) == 5:
                tenant, status, team, agent, due = parts
                opened[(tenant, status, team, agent, due)] += int(value)
        for name, value in replies[i + 1].items():
            parts = _text(name).split(FIELD_SEP)
            if len(parts) == 4 and parts[3] in ("b", "n"):
                tenant, currency, due, kind = parts
                balances[(tenant, currency, due)][kind == "n"] += int(value)
            elif len(parts) == 4 and parts[3] == "t":
                teams[(parts[0], parts[1], parts[2])] += int(value)
        for name, value in replies[i + 2].items():
            # the agent id is last and uncapped: it may itself contain the separator
            tenant, team, agent = _text(name).split(FIELD_SEP, 2)
            if int(value) > 0:
                collectors[(tenant, team)].add(agent)
    return AccountTotals(
        open={labels: n for labels, n in opened.items() if n},
        receivables={labels: (b, n) for labels, (b, n) in balances.items()},
        open_teams={labels: n for labels, n in teams.items() if n},
        collectors={labels: frozenset(agents) for labels, agents in collectors.items()},
    )


__all__ = [
    "FLOW_READ_DAYS",
    "attempts_since",
    "flow_days",
    "merge_accounts",
    "merge_attempts",
    "merge_flows",
    "read_accounts",
]
