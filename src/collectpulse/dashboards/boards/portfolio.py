"""The portfolio now: open accounts and receivables by days-past-due bucket, DSO, ADD and
CEI (K13-K15), cost to collect, cost per contact and profit per account (K11, K12),
accounts and net collected per collector (K9, K8), and the account data-quality counters."""

from __future__ import annotations

from collectpulse.dashboards import promql
from collectpulse.dashboards.boards.common import counter, describe, gauge, legend
from collectpulse.dashboards.model import Board, Panel, PanelKind, Query, Row, Unit
from collectpulse.dashboards.promql import UNFILTERED

_OPEN = gauge("open_accounts")
_PER_COLLECTOR = gauge("accounts_per_collector")
_COLLECTED_PER_COLLECTOR = gauge("collected_per_collector")
_RECEIVABLES = gauge("receivables_minor")
_DSO = gauge("dso_days")
_BEST_DSO = gauge("best_possible_dso_days")
_ADD = gauge("add_days")
_CEI = gauge("cei_ratio")
_CASH_CEI = gauge("cash_cei_ratio")
_WEIGHTED_DPD = gauge("balance_weighted_dpd_days")
_PER_ACCOUNT = gauge("collected_per_account")
_UNALLOCATED = gauge("collected_unallocated_minor")
_HANDLED = gauge("handled_accounts")
_TEAM_PER_ACCOUNT = gauge("team_collected_per_account")
_TEAM_HANDLED = gauge("team_handled_accounts")
_RECOVERY = gauge("recovery_ratio")
_REPAID = gauge("repaid_by_dpd_ratio")
_COST = gauge("cost_minor")
_PER_CONTACT = gauge("cost_per_contact")
_TO_COLLECT = gauge("cost_to_collect_ratio")
_PROFIT = gauge("profit_per_account")
_STALE = counter("account_stale_versions")
_UNORDERED = counter("account_flow_unordered")
_MISMATCH = counter("currency_mismatch")
_CREDIT_LATE = counter("agent_credit_late")
BUCKET = ("dpd_bucket",)


def _receivables_row() -> Row:
    by_currency = ("currency", "dpd_bucket")
    return Row(
        "Receivables and open accounts by days past due",
        (
            Panel(
                "Receivables by currency and DPD bucket (minor units)",
                PanelKind.BAR_GAUGE,
                (Query(promql.gauge(_RECEIVABLES, by_currency, op="sum"), legend(by_currency)),),
                describe(_RECEIVABLES),
            ),
            Panel(
                "Open accounts by DPD bucket",
                PanelKind.TIMESERIES,
                (Query(promql.gauge(_OPEN, BUCKET, op="sum"), legend(BUCKET)),),
                describe(_OPEN),
                stacked=True,
            ),
        ),
    )


def _effectiveness_row() -> Row:
    by = ("currency", "tenant", "window")
    days = " ".join(f"{{{{{label}}}}}" for label in by)
    return Row(
        "DSO, ADD and collection effectiveness (30d and 90d)",
        (
            Panel(
                "DSO, best possible DSO and ADD (days)",
                PanelKind.TIMESERIES,
                (
                    Query(promql.gauge(_DSO, by), f"DSO {days}"),
                    Query(promql.gauge(_BEST_DSO, by), f"best possible DSO {days}"),
                    Query(promql.gauge(_ADD, by), f"ADD {days}"),
                ),
                describe(_DSO, _BEST_DSO, _ADD),
                width=8,
            ),
            Panel(
                "CEI and cash CEI",
                PanelKind.TIMESERIES,
                (
                    Query(promql.gauge(_CEI, by), f"CEI {days}"),
                    Query(promql.gauge(_CASH_CEI, by), f"cash CEI {days}"),
                ),
                describe(_CEI, _CASH_CEI),
                unit=Unit.RATIO,
                width=8,
            ),
            Panel(
                "Balance-weighted days past due now",
                PanelKind.BAR_GAUGE,
                (
                    Query(
                        promql.gauge(_WEIGHTED_DPD, ("currency", "tenant")),
                        legend(("currency", "tenant")),
                    ),
                ),
                describe(_WEIGHTED_DPD),
                width=8,
            ),
        ),
    )


def _recovery_row() -> Row:
    by = ("currency", "tenant", "window")
    team = ("currency", "team", "tenant", "window")
    cohort = ("currency", "cohort", "tenant")
    return Row(
        "Collected per account and recovery by placement month",
        (
            Panel(
                "Net collected per account handled (30d and 90d, minor units)",
                PanelKind.TIMESERIES,
                (Query(promql.gauge(_PER_ACCOUNT, by), legend(by)),),
                describe(_PER_ACCOUNT, _HANDLED),
                width=8,
            ),
            Panel(
                "Unallocated net collected and accounts handled",
                PanelKind.TABLE,
                (
                    Query(promql.gauge(_UNALLOCATED, by), legend(by)),
                    Query(promql.gauge(_HANDLED, by), legend(by)),
                ),
                describe(_UNALLOCATED, _HANDLED),
                width=8,
            ),
            Panel(
                "Recovery by placement month (last 12)",
                PanelKind.BAR_GAUGE,
                (Query(promql.gauge(_RECOVERY, cohort), legend(cohort)),),
                describe(_RECOVERY),
                unit=Unit.RATIO,
                width=8,
            ),
            Panel(
                "Net collected per account handled, by team (30d and 90d, minor units)",
                PanelKind.TIMESERIES,
                (Query(promql.gauge(_TEAM_PER_ACCOUNT, team), legend(team)),),
                describe(_TEAM_PER_ACCOUNT, _TEAM_HANDLED),
                width=12,
            ),
            Panel(
                "Accounts handled by team",
                PanelKind.TABLE,
                (Query(promql.gauge(_TEAM_HANDLED, team), legend(team)),),
                describe(_TEAM_HANDLED),
                width=12,
            ),
            Panel(
                "Repaid by days past due (share of accounts placed in the window)",
                PanelKind.TIMESERIES,
                (
                    Query(
                        promql.gauge(_REPAID, ("dpd", "tenant", "window")),
                        "dpd {{dpd}} {{tenant}} {{window}}",
                    ),
                ),
                describe(_REPAID),
                unit=Unit.RATIO,
                width=24,
            ),
        ),
    )


def _cost_row() -> Row:
    by = ("currency", "tenant", "window")
    category = ("category", "currency", "tenant", "window")
    return Row(
        "Cost to collect and profit per account (30d and 90d)",
        (
            Panel(
                "Cost to collect (all cost / net collected)",
                PanelKind.TIMESERIES,
                (Query(promql.gauge(_TO_COLLECT, by), legend(by)),),
                describe(_TO_COLLECT),
                unit=Unit.RATIO,
                width=6,
            ),
            Panel(
                "Cost per contact attempt (labour + telephony, minor units)",
                PanelKind.TIMESERIES,
                (Query(promql.gauge(_PER_CONTACT, by), legend(by)),),
                describe(_PER_CONTACT),
                width=6,
            ),
            Panel(
                "Profit per account handled (minor units)",
                PanelKind.TIMESERIES,
                (Query(promql.gauge(_PROFIT, by), legend(by)),),
                describe(_PROFIT),
                width=6,
            ),
            Panel(
                "Cost by category (minor units)",
                PanelKind.TABLE,
                (Query(promql.gauge(_COST, category), legend(category)),),
                describe(_COST),
                width=6,
            ),
        ),
    )


def _collectors_row() -> Row:
    team, agent = ("team",), ("team", "agent")
    collected = ("team", "currency", "window")
    return Row(
        "Collectors",
        (
            Panel(
                "Accounts per collector by team",
                PanelKind.BAR_GAUGE,
                (Query(promql.gauge(_PER_COLLECTOR, team, op="sum"), legend(team)),),
                describe(_PER_COLLECTOR),
                width=8,
            ),
            Panel(
                "Net collected per collector by team (7d, 30d)",
                PanelKind.TABLE,
                (
                    Query(
                        promql.gauge(_COLLECTED_PER_COLLECTOR, collected, op="sum"),
                        legend(collected),
                    ),
                ),
                describe(_COLLECTED_PER_COLLECTOR),
                width=8,
            ),
            Panel(
                "Open accounts by agent",
                PanelKind.TABLE,
                (Query(promql.gauge(_OPEN, agent, op="sum"), legend(agent)),),
                describe(_OPEN),
                width=8,
            ),
            Panel(
                "Account events not applied (all time)",
                PanelKind.TABLE,
                (
                    Query(promql.total_sum(_STALE, (), UNFILTERED), "stale version"),
                    Query(promql.total_sum(_MISMATCH, (), UNFILTERED), "currency mismatch"),
                    Query(promql.total_sum(_UNORDERED, (), UNFILTERED), "flow unordered"),
                    Query(promql.total_sum(_CREDIT_LATE, (), UNFILTERED), "agent credit late"),
                ),
                describe(_STALE, _MISMATCH, _UNORDERED, _CREDIT_LATE),
                width=8,
            ),
        ),
    )


BOARD = Board(
    uid="collectpulse-portfolio",
    title="collectpulse / Portfolio",
    description=(
        "Open accounts and receivables now, by days-past-due bucket (computed from each "
        "account's oldest unpaid due date when scraped), DSO, ADD and CEI over 30 and 90 "
        "days from the daily balance flows, net collected per account handled, recovery by "
        "placement month, cost to collect, cost per contact and profit per account, and "
        "accounts per collector."
    ),
    rows=(
        _receivables_row(),
        _effectiveness_row(),
        _recovery_row(),
        _cost_row(),
        _collectors_row(),
    ),
    tags=("portfolio",),
)
