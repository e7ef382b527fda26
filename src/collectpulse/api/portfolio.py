"""``GET /api/v1/collected-per-account`` and ``GET /api/v1/recovery``: K10's per-account
distribution and K16's recovery age curves (kpi-catalog section 9: JSON only, as a
series per account or per age would multiply the label sets).

Reading is pipelined across partitions (``store.allocation_reader`` and
``store.account_reader`` for the aggregates, one pipeline of per-account day hashes
here); the shaping below is pure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from collectpulse.kpi import allocation
from collectpulse.kpi.accounts import AccountTotals
from collectpulse.kpi.dso import FLOW_WINDOWS, TenantToday
from collectpulse.store.account_reader import flow_days
from collectpulse.store.client import StoreClient
from collectpulse.store.keys import FIELD_SEP, Keys

WINDOWS = dict(FLOW_WINDOWS)
PerAccountDays = Mapping[tuple[str, str, date], Mapping[str, int]]
"""(tenant, currency, day) -> account id -> net allocated that day."""


async def read_per_account(
    client: StoreClient, keys: Keys, partitions: Sequence[int], now_s: float
) -> PerAccountDays:
    days = flow_days(now_s)
    pipe = client.pipeline(transaction=False)
    for p in partitions:
        for day in days:
            pipe.hgetall(keys.account_collected(p, day))
    replies = await pipe.execute()
    out: dict[tuple[str, str, date], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    dates = [date.fromisoformat(d) for d in days] * len(partitions)
    for on, hashed in zip(dates, replies, strict=True):
        for name, value in hashed.items():
            text = name.decode() if isinstance(name, bytes) else name
            tenant, currency, account = text.split(FIELD_SEP, 2)
            out[(tenant, currency, on)][account] += int(value)
    return out


def collected_rows(
    window: str,
    totals: allocation.AllocationTotals,
    accounts: AccountTotals,
    per_account: PerAccountDays,
    today: TenantToday,
    tenant: str | None,
) -> list[dict[str, Any]]:
    """One row per tenant and currency: K10, its parts and the p50/p90 per account."""
    days = WINDOWS[window]
    sums: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (t, currency, day), amounts in per_account.items():
        if _within(day, today(t), days):
            for account, amount in amounts.items():
                sums[(t, currency)][account] += amount
    rows = []
    k10 = allocation.collected_per_account(totals, accounts, today)
    for (currency, t, name), row in sorted(k10.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if name != window or (tenant is not None and t != tenant):
            continue
        spread = allocation.distribution(list(sums.get((t, currency), {}).values()), row.handled)
        rows.append(
            {
                "tenant": t,
                "currency": currency,
                "handled_accounts": row.handled,
                "allocated_net_minor": row.allocated_minor,
                "unallocated_net_minor": row.unallocated_minor,
                "collected_per_account": row.collected_per_account,
                "accounts": spread.accounts,
                "paid_accounts": spread.paid_accounts,
                "p50_minor": spread.p50_minor,
                "p90_minor": spread.p90_minor,
            }
        )
    return rows


def recovery_rows(
    totals: allocation.AllocationTotals, today: TenantToday, tenant: str | None
) -> list[dict[str, Any]]:
    """One row per tenant, currency and placement month of the last 12: K16 and its
    age curve (net allocated within 30/60/90/180 days of placement / placed balance)."""
    rows = []
    for (currency, month, t), cohort in sorted(
        allocation.cohorts(totals, today).items(), key=lambda kv: (kv[0][2], kv[0][0], kv[0][1])
    ):
        if tenant is not None and t != tenant:
            continue
        rows.append(
            {
                "tenant": t,
                "currency": currency,
                "cohort": month,
                "placed_minor": cohort.placed_minor,
                "collected_minor": cohort.collected_minor,
                "recovery_ratio": cohort.recovery_ratio,
                "curve": [
                    {"age_days": age, "recovery_ratio": ratio}
                    for age, ratio in cohort.curve().items()
                ],
            }
        )
    return rows


def _within(day: date, last: date, days: int) -> bool:
    return last - timedelta(days=days - 1) <= day <= last


__all__ = ["WINDOWS", "TenantToday", "collected_rows", "read_per_account", "recovery_rows"]
