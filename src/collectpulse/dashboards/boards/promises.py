"""Promises to pay and installment plans: kept ratio by direction, status changes."""

from __future__ import annotations

from collectpulse.dashboards import promql
from collectpulse.dashboards.boards.common import counter, describe, legend, ratio_panel
from collectpulse.dashboards.model import Board, Panel, PanelKind, Query, Row
from collectpulse.dashboards.promql import ALL

DIRECTION = ("direction",)
_PROMISES = counter("promises")
_STATUSES = _PROMISES.label("status").values


def _kept_row() -> Row:
    return Row(
        "Kept ratio (promises resolved in the window)",
        (
            ratio_panel(
                "promise_kept", DIRECTION, title="Promise kept ratio by direction", width=12
            ),
            ratio_panel(
                "promise_kept",
                ("direction", "kind"),
                title="Kept ratio by direction and kind",
                kind=PanelKind.BAR_GAUGE,
                width=12,
            ),
        ),
    )


def _status_row() -> Row:
    by_status = ("status",)
    return Row(
        "Status changes in the window",
        (
            Panel(
                "Promise status changes",
                PanelKind.TIMESERIES,
                (Query(promql.windowed_sum(_PROMISES, by_status), legend(by_status)),),
                describe(_PROMISES),
                stacked=True,
            ),
            Panel(
                "Promises by direction and status",
                PanelKind.TABLE,
                tuple(
                    Query(promql.windowed_sum(_PROMISES, DIRECTION, ALL.pin(status=status)), status)
                    for status in _STATUSES
                ),
                describe(_PROMISES),
            ),
        ),
    )


BOARD = Board(
    uid="collectpulse-promises",
    title="collectpulse / Promises to pay",
    description=(
        "Promise-to-pay and installment-plan outcomes by direction (inbound, outbound, "
        "self-service): the share kept of those resolved in the window."
    ),
    rows=(_kept_row(), _status_row()),
    tags=("promises",),
)
