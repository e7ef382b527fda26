"""``GET /api/v1/agents``: the complete per-agent table of one window.

Prometheus gets per-agent series only under the ``agent`` label cap; here every agent
the store counted is a row, by its own id (catalog §9, "JSON only"), read from the
ledger ``store.agent_ledger`` writes. Reading sums the window's buckets server-side
(one small reply per partition); the shaping, sorting and paging below are pure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from collectpulse.store.agent_ledger import COLUMNS
from collectpulse.store.client import StoreClient
from collectpulse.store.keys import FIELD_SEP, Keys
from collectpulse.store.reader import window_buckets
from collectpulse.store.replies import text as _text
from collectpulse.store.scripts import Scripts

MAX_LIMIT = 1000
PER_CURRENCY = frozenset({"collected_amount_minor"})
"""Answered as ``{currency: amount}``: amounts in different currencies never add."""
COUNTS = tuple(c for c in COLUMNS if c not in PER_CURRENCY)
RATIOS = {
    "rpc_ratio": ("outbound_rpcs", ("outbound_attempts",)),
    "promise_kept_ratio": ("promises_kept", ("promises_kept", "promises_broken")),
    "outbound_ptp_per_rpc_ratio": ("outbound_ptp_made", ("outbound_rpcs",)),
    "outbound_kept_per_rpc_ratio": ("outbound_kept_cohort", ("outbound_rpcs",)),
    "promise_kept_cohort_ratio": ("promises_kept_cohort", ("promises_made_cohort",)),
}
"""Ratio column -> (numerator, denominator terms), as the Prometheus ratios K2, K7, K4,
K5 and K6."""
SORTABLE = ("agent", *COUNTS, *RATIOS, "collected_amount_minor", "open_accounts")


class BadQuery(ValueError):
    """A parameter the API refuses (answered 400 with this message)."""


async def read_ledger(
    scripts: Scripts,
    keys: Keys,
    partitions: Iterable[int],
    now_s: int,
    window_s: int,
    bucket_s: int,
) -> dict[str, int]:
    """Ledger field -> its sum over the window's buckets and every partition."""
    gran, starts = window_buckets(now_s, window_s, bucket_s)
    wanted = list(partitions)

    def fill(pipe: Any) -> None:
        for p in wanted:
            bucket_keys = [keys.agent_bucket(p, gran, s) for s in starts]
            scripts.queue(pipe, scripts.sum_buckets, bucket_keys, [1, len(bucket_keys)])

    sums: dict[str, int] = defaultdict(int)
    for reply in await scripts.pipelined(fill) if wanted else []:
        flat = reply[0]
        for name, value in zip(flat[::2], flat[1::2], strict=True):
            sums[_text(name)] += int(value)
    return sums


async def read_open_accounts(
    client: StoreClient, keys: Keys, partitions: Iterable[int]
) -> dict[tuple[str, str], int]:
    """(tenant, agent id) -> open accounts assigned to the agent now (account state)."""
    pipe = client.pipeline(transaction=False)
    for p in partitions:
        pipe.hgetall(keys.account_agents(p))
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for reply in await pipe.execute():
        for name, value in reply.items():
            # the agent id is last and uncapped: it may itself contain the separator
            tenant, _team, agent = _text(name).split(FIELD_SEP, 2)
            counts[(tenant, agent)] += int(value)
    return counts


def agent_rows(
    ledger: Mapping[str, int],
    tenant: str | None,
    open_accounts: Mapping[tuple[str, str], int] | None = None,
) -> list[dict[str, Any]]:
    """One row per agent id counted in the window or holding open accounts now
    (``__unassigned__``: what no agent earned), ``tenant`` filtering when given."""
    rows: dict[str, dict[str, Any]] = {}
    for (row_tenant, agent), count in (open_accounts or {}).items():
        if count and (tenant is None or row_tenant == tenant):
            rows.setdefault(agent, _empty(agent))["open_accounts"] += count
    for name, value in ledger.items():
        column, agent, row_tenant, currency = name.split(FIELD_SEP)
        if column not in COLUMNS or (tenant is not None and row_tenant != tenant):
            continue
        row = rows.setdefault(agent, _empty(agent))
        if column in PER_CURRENCY:
            per = row[column]
            per[currency] = per.get(currency, 0) + value
        else:
            row[column] += value
    for row in rows.values():
        for name, (top, below) in RATIOS.items():
            total = sum(row[b] for b in below)
            row[name] = row[top] / total if total else None
    return list(rows.values())


def _empty(agent: str) -> dict[str, Any]:
    row: dict[str, Any] = {"agent": agent, "open_accounts": 0}
    for column in COLUMNS:
        row[column] = {} if column in PER_CURRENCY else 0
    return row


def page(
    rows: list[dict[str, Any]], *, sort: str, descending: bool, offset: int, limit: int
) -> list[dict[str, Any]]:
    """Sorted by ``sort`` (ties and the rows without a value last, by agent id), then
    ``rows[offset:offset + limit]``. Amounts sort by their sum over currencies."""
    if sort not in SORTABLE:
        raise BadQuery(f"sort must be one of {', '.join(SORTABLE)}")

    def value(row: dict[str, Any]) -> Any:
        v = row[sort]
        return sum(v.values()) if isinstance(v, dict) else v

    sign = -1 if descending else 1
    if sort == "agent":
        ordered = sorted(rows, key=lambda r: str(r["agent"]), reverse=descending)
    else:
        present = [r for r in rows if value(r) is not None]
        absent = [r for r in rows if value(r) is None]
        ordered = sorted(present, key=lambda r: (sign * value(r), str(r["agent"])))
        ordered += sorted(absent, key=lambda r: str(r["agent"]))
    return ordered[offset : offset + limit]
