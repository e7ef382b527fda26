"""The portfolio now: open accounts and receivables by days-past-due bucket, accounts per
collector, and the account data-quality counters."""

from __future__ import annotations

from collectpulse.dashboards import promql
from collectpulse.dashboards.boards.common import counter, describe, gauge, legend
from collectpulse.dashboards.model import Board, Panel, PanelKind, Query, Row
from collectpulse.dashboards.promql import UNFILTERED

_OPEN = gauge("open_accounts")
_PER_COLLECTOR = gauge("accounts_per_collector")
_RECEIVABLES = gauge("receivables_minor")
_STALE = counter("account_stale_versions")
_MISMATCH = counter("currency_mismatch")
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


def _collectors_row() -> Row:
    team, agent = ("team",), ("team", "agent")
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
                ),
                describe(_STALE, _MISMATCH),
                width=8,
            ),
        ),
    )


BOARD = Board(
    uid="collectpulse-portfolio",
    title="collectpulse / Portfolio",
    description=(
        "Open accounts and receivables now, by days-past-due bucket (computed from each "
        "account's oldest unpaid due date when scraped), and accounts per collector."
    ),
    rows=(_receivables_row(), _collectors_row()),
    tags=("portfolio",),
)
