"""Landing page and payments: visitors and conversion by source, load time and views by
device, attempts, aborts, amounts."""

from __future__ import annotations

from collectpulse.dashboards import promql
from collectpulse.dashboards.boards.common import (
    counter,
    describe,
    gauge,
    histogram,
    legend,
    ratio,
    ratio_panel,
)
from collectpulse.dashboards.model import Board, Panel, PanelKind, Query, Row, Unit
from collectpulse.dashboards.promql import ALL, Selection

SOURCE = ("source",)
STATUS = ("status",)
CAMPAIGN = ("campaign",)
DEVICE = ("device",)
SOURCE_DEVICE = ("source", "device")
_VISITORS = counter("landing_unique_visitors")
_VIEWS = counter("landing_pageviews")
_DELIVERIES = counter("campaign_deliveries")
_ATTEMPTS = counter("payment_attempts")
_COLLECTED = counter("collected_amount_minor")
_SILENCE = gauge("landing_silence_seconds")
_SILENT_DELIVERED = gauge("landing_silence_delivered_messages")
_STRUGGLING = gauge("struggling_customers")
_LOAD = histogram("landing_load_seconds")
_MINOR = "Amounts are in minor currency units (cents), one series per currency."


def _landing_row() -> Row:
    return Row(
        "Landing page",
        (
            Panel(
                "Unique visitors by source",
                PanelKind.TIMESERIES,
                (Query(promql.windowed_sum(_VISITORS, SOURCE), legend(SOURCE)),),
                describe(_VISITORS),
                width=8,
            ),
            Panel(
                "Page views by source",
                PanelKind.TIMESERIES,
                (Query(promql.windowed_sum(_VIEWS, SOURCE), legend(SOURCE)),),
                describe(_VIEWS),
                width=8,
            ),
            ratio_panel("landing_conversion", SOURCE, title="Conversion ratio by source"),
            ratio_panel("installment_request", SOURCE, title="Installment request ratio by source"),
            Panel(
                "Landing silence by campaign",
                PanelKind.TABLE,
                (
                    Query(promql.gauge(_SILENCE, CAMPAIGN), "seconds since last view"),
                    Query(promql.gauge(_SILENT_DELIVERED, CAMPAIGN), "delivered since"),
                ),
                describe(_SILENCE, _SILENT_DELIVERED),
                width=16,
            ),
            Panel(
                "Deliveries by campaign (delivery time)",
                PanelKind.TIMESERIES,
                (Query(promql.windowed_sum(_DELIVERIES, CAMPAIGN), legend(CAMPAIGN)),),
                describe(_DELIVERIES),
                width=8,
            ),
        ),
    )


def _landing_ux_row() -> Row:
    quantiles = tuple(
        Query(promql.quantile(_LOAD, q, DEVICE), f"{{{{device}}}} p{round(q * 100)}")
        for q in (0.5, 0.9)
    )
    note = (
        "Median and 90th percentile of the load times observed in the dashboard's range; "
        "an empty device is a view that did not report one."
    )
    return Row(
        "Landing page experience (K22)",
        (
            Panel(
                "Page load time by device (p50, p90)",
                PanelKind.BAR_GAUGE,
                quantiles,
                describe(_LOAD, note=note),
                Unit.SECONDS,
                width=8,
            ),
            Panel(
                "Page load time p90 by device over time",
                PanelKind.TIMESERIES,
                (
                    Query(
                        promql.quantile(_LOAD, 0.9, DEVICE, over=promql.RATE_INTERVAL),
                        legend(DEVICE),
                    ),
                ),
                describe(_LOAD),
                Unit.SECONDS,
                width=8,
            ),
            Panel(
                "Page views by device",
                PanelKind.TIMESERIES,
                (Query(promql.windowed_sum(_VIEWS, DEVICE), legend(DEVICE)),),
                describe(_VIEWS, note="An empty device is a view that did not report one."),
                stacked=True,
                width=8,
            ),
            # distinct counts keep source and device: summing devices into a source would
            # count a customer who viewed on two devices twice
            ratio_panel(
                "landing_conversion_by_device",
                SOURCE_DEVICE,
                title="Conversion ratio by source and device",
                width=12,
            ),
            ratio_panel(
                "installment_request_by_device",
                SOURCE_DEVICE,
                title="Installment request ratio by source and device",
                width=12,
            ),
        ),
    )


def _payments_row() -> Row:
    agents = Selection(filters=("tenant",), exclude=(("agent", ""),))
    by_agent = ("agent", "currency")
    return Row(
        "Payments",
        (
            ratio_panel(
                "payment_success", (), title="Payment success ratio", kind=PanelKind.STAT, width=6
            ),
            ratio_panel(
                "payment_abort", (), title="Payment abort ratio", kind=PanelKind.STAT, width=6
            ),
            Panel(
                "Payment attempts in the window",
                PanelKind.STAT,
                (Query(promql.windowed_sum(_ATTEMPTS), "attempts"),),
                describe(_ATTEMPTS),
                width=6,
                height=4,
            ),
            Panel(
                "Struggling customers",
                PanelKind.STAT,
                (Query(promql.gauge(_STRUGGLING, op="sum"), "customers"),),
                describe(_STRUGGLING),
                width=6,
                height=4,
            ),
            Panel(
                "Payment attempts by outcome",
                PanelKind.TIMESERIES,
                (Query(promql.windowed_sum(_ATTEMPTS, STATUS), legend(STATUS)),),
                describe(_ATTEMPTS),
                stacked=True,
            ),
            Panel(
                "Success and abort ratio",
                PanelKind.TIMESERIES,
                (
                    Query(promql.ratio(ratio("payment_success")), "succeeded"),
                    Query(promql.ratio(ratio("payment_abort")), "aborted"),
                ),
                describe(ratio("payment_success"), ratio("payment_abort")),
                Unit.RATIO,
            ),
            Panel(
                "Amount collected by currency (minor units)",
                PanelKind.TIMESERIES,
                (Query(promql.windowed_sum(_COLLECTED, ("currency",)), legend(("currency",))),),
                describe(_COLLECTED, note=_MINOR),
            ),
            Panel(
                "Amount reversed by currency (minor units)",
                PanelKind.TIMESERIES,
                (
                    Query(
                        promql.windowed_sum(counter("reversed_amount_minor"), ("currency",)),
                        legend(("currency",)),
                    ),
                ),
                describe(counter("reversed_amount_minor"), note=_MINOR),
            ),
            Panel(
                "Top agents by amount collected (minor units)",
                PanelKind.BAR_GAUGE,
                (
                    Query(
                        f"topk(10, {promql.windowed_sum(_COLLECTED, by_agent, agents)})",
                        legend(by_agent),
                    ),
                ),
                describe(_COLLECTED, note=_MINOR),
            ),
            Panel(
                "Payments attributed to messages by campaign (minor units)",
                PanelKind.BAR_GAUGE,
                (
                    Query(
                        promql.windowed_sum(
                            counter("attributed_amount_minor"), ("campaign", "currency"), ALL
                        ),
                        legend(("campaign", "currency")),
                    ),
                ),
                describe(counter("attributed_amount_minor"), note=_MINOR),
            ),
        ),
    )


BOARD = Board(
    uid="collectpulse-landing-payments",
    title="collectpulse / Landing page & payments",
    description=(
        "Landing-page visitors and conversion by traffic source, payment outcomes and amounts "
        "in the window, and the broken-link signal (landing silence) per campaign."
    ),
    rows=(_landing_row(), _landing_ux_row(), _payments_row()),
    tags=("landing", "payments"),
)
