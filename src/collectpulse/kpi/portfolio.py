"""The portfolio formulas of catalog §9 (K10-K17): pure functions of flows and receivables.

Amounts are integer minor units of one currency (there is no FX: every figure is
per currency). Receivables are read at one instant: E = Σ balance of open
accounts, E_cur the part not past due, E_pd = E - E_cur. Flows are totals over a
window W: S = Σ positive balance changes (placements, charges, reversals, upward
adjustments), R = -Σ negative ones (payments, discounts, write-offs, downward
adjustments, implicit ``closed_residual``). No historical snapshot is stored: the
opening balance is derived, B(W) = E(now) - S(W) + R(W).

A function returns None where the catalog says "no sample" (a zero denominator),
so the exporter omits the series instead of exporting a 0 or an infinity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

BASIS_POINTS = 10_000
RESOLVED_STATUSES = frozenset({"paid_in_full", "settled"})
"""The statuses that count as repaid for K17 (partial payments never do)."""


@dataclass(frozen=True, slots=True)
class Receivables:
    """Open balances at one instant: total and the part that is not past due (DPD ≤ 0)."""

    total: int
    current: int

    def __post_init__(self) -> None:
        if not 0 <= self.current <= self.total:
            raise ValueError(f"need 0 <= current <= total, got {self.current} of {self.total}")

    @property
    def past_due(self) -> int:
        return self.total - self.current


@dataclass(frozen=True, slots=True)
class Flows:
    """A window's balance flows: S (up), R (down) and the part of R that is cash."""

    up: int
    down: int
    cash: int = 0

    def __post_init__(self) -> None:
        if self.up < 0 or self.down < 0 or not 0 <= self.cash <= self.down:
            raise ValueError(f"need up, down >= 0 and 0 <= cash <= down, got {self}")


def split_delta(delta_minor: int) -> Flows:
    """One balance change as flows: a positive delta is S, a negative one R."""
    return Flows(up=max(delta_minor, 0), down=max(-delta_minor, 0))


def residual_delta(balance_minor: int, *, was_open: bool, is_open: bool) -> int:
    """The implicit ``closed_residual`` of a status change: an account leaving the open
    statuses with a balance books -balance, re-opening books +balance, else 0."""
    if was_open and not is_open:
        return -balance_minor
    if is_open and not was_open:
        return balance_minor
    return 0


def opening_balance(now: Receivables, flows: Flows) -> int:
    """B(W) = E(now) - S(W) + R(W)."""
    return now.total - flows.up + flows.down


def dso_days(now: Receivables, flows: Flows, days: int) -> float | None:
    """K13, the period ("simple") method: E / S * days(W); None when S = 0."""
    return _per_sales(now.total, flows, days)


def best_possible_dso_days(now: Receivables, flows: Flows, days: int) -> float | None:
    """K14: E_cur / S * days(W); None when S = 0."""
    return _per_sales(now.current, flows, days)


def add_days(now: Receivables, flows: Flows, days: int) -> float | None:
    """K14, average days delinquent = DSO - best possible DSO = E_pd / S * days(W)."""
    return _per_sales(now.past_due, flows, days)


def _per_sales(balance: int, flows: Flows, days: int) -> float | None:
    if days <= 0:
        raise ValueError(f"a window has at least one day, got {days}")
    return None if flows.up == 0 else balance / flows.up * days


def balance_weighted_dpd_days(accounts: Iterable[tuple[int, int]]) -> float | None:
    """K14: Σ balance·DPD / Σ balance over open past-due accounts, from (balance, DPD)
    pairs of open accounts (those with DPD ≤ 0 or no balance do not count)."""
    weighted = total = 0
    for balance, dpd in accounts:
        if dpd >= 1 and balance > 0:
            weighted += balance * dpd
            total += balance
    return None if total == 0 else weighted / total


def cei_ratio(now: Receivables, flows: Flows) -> float | None:
    """K15: (B + S - E) / (B + S - E_cur), which equals R / (R + E_pd); counts
    write-offs and discounts as collected, as the standard CEI does."""
    opening = opening_balance(now, flows)
    denominator = opening + flows.up - now.current
    return None if denominator <= 0 else (opening + flows.up - now.total) / denominator


def cei_at_pace(cei: float, days: int, at_days: int, keep: float = 1.0) -> float:
    """The ``at_days`` CEI a book shows when it collects at ``keep`` x the pace of a
    ``days`` window whose CEI is ``cei``, with the same past-due balance.

    CEI = R / (R + E_pd) and E_pd is read now for every window, so CEI / (1 - CEI) =
    R / E_pd, which a steady book scales with the window's length: a 30-day CEI is
    compared with this, never with the 90-day CEI itself (on a book whose past-due
    balance is large against a month's collections the two differ by design).
    ``keep`` < 1 gives an alert limit: ``keep`` x the pace, in R / E_pd. Closed form,
    no division by zero for ``cei`` = 1.
    """
    if not 0.0 <= cei <= 1.0 or days <= 0 or at_days <= 0 or keep < 0:
        raise ValueError(f"need 0 <= cei <= 1, days > 0 and keep >= 0: {cei, days, at_days, keep}")
    scaled = keep * cei * at_days
    denominator = days * (1.0 - cei) + scaled
    return 0.0 if denominator == 0 else scaled / denominator


def cash_cei_ratio(now: Receivables, flows: Flows) -> float | None:
    """K15, cash variant: only payments in the numerator, the denominator unchanged."""
    denominator = flows.down + now.past_due
    return None if denominator <= 0 else flows.cash / denominator


def handled_accounts(open_now: int, exits: int, reentries: int) -> int:
    """H(W) = accounts open at the start of W plus those placed in W, from counters:
    open_count(now) + exits(W) - re-entries(W)."""
    handled = open_now + exits - reentries
    if handled < 0:
        raise ValueError(f"counters give a negative number of handled accounts: {handled}")
    return handled


def per_account(amount_minor: int, handled: int) -> float | None:
    """K10 (net collected allocated / H) and the base of K11; None when H = 0."""
    return None if handled == 0 else amount_minor / handled


def agency_revenue(allocated_net_by_commission: Mapping[int, int]) -> int:
    """K11 revenue of an agency: Σ allocated net collected * commission_bp / 10 000,
    from net amounts grouped by their accounts' ``commission_bp`` (floored per group)."""
    revenue = 0
    for basis_points, net in allocated_net_by_commission.items():
        if not 0 <= basis_points <= BASIS_POINTS:
            raise ValueError(f"commission_bp must be 0-10000, got {basis_points}")
        revenue += net * basis_points // BASIS_POINTS
    return revenue


def profit_per_account(
    revenue_minor: int, cost_minor: int, handled: int, *, labour_covers_window: bool
) -> float | None:
    """K11: (revenue - cost) / H; absent unless labour cost covers every day of W
    (a profit without wages would flatter every month whose payroll is not in yet)."""
    if not labour_covers_window:
        return None
    return per_account(revenue_minor - cost_minor, handled)


def cost_per_contact(labour_and_telephony_minor: int, attempts: int) -> float | None:
    """K12: (labour + telephony) cost / contact attempts."""
    return None if attempts == 0 else labour_and_telephony_minor / attempts


def cost_to_collect_ratio(cost_minor: int, net_collected_minor: int) -> float | None:
    """K12: all cost / net collected (None when nothing was collected)."""
    return None if net_collected_minor <= 0 else cost_minor / net_collected_minor


def recovery_ratio(collected_minor: int, placed_minor: int) -> float | None:
    """K16: cumulative net collected allocated to a placement cohort / its placed balance."""
    return None if placed_minor <= 0 else collected_minor / placed_minor


def spread_cost(amount_minor: int, start: date, end: date) -> dict[date, int]:
    """A cost over the days of [start, end): floor per day, the remainder on the first."""
    if amount_minor < 0:
        raise ValueError(f"a cost is >= 0, got {amount_minor}")
    days = (end - start).days
    if days <= 0:
        raise ValueError(f"period_end {end} must be after period_start {start}")
    per_day, remainder = divmod(amount_minor, days)
    spread = {start + timedelta(days=i): per_day for i in range(days)}
    spread[start] += remainder
    return spread


def covers(days_with_cost: Iterable[date], window_start: date, window_days: int) -> bool:
    """Whether a cost category has an amount on every day of the window."""
    have = set(days_with_cost)
    return all(window_start + timedelta(days=i) in have for i in range(window_days))


@dataclass(frozen=True, slots=True)
class PlacedAccount:
    """What K17 needs of an account placed in the window."""

    due_date: date
    """The due date at placement."""
    resolved_on: date | None
    """The local date it first reached ``paid_in_full`` or ``settled``; None if not yet."""


def repaid_by_dpd_ratio(accounts: Iterable[PlacedAccount], days: int, today: date) -> float | None:
    """K17: of the accounts with due_date + days ≤ today, the share resolved at or before
    due_date + days. None when no account is old enough yet."""
    eligible = resolved = 0
    for account in accounts:
        deadline = account.due_date + timedelta(days=days)
        if deadline > today:
            continue
        eligible += 1
        if account.resolved_on is not None and account.resolved_on <= deadline:
            resolved += 1
    return None if eligible == 0 else resolved / eligible
