"""Campaign funnel overview: sent, delivered, opened, clicked, landing, paid by channel."""

from __future__ import annotations

from collectpulse.dashboards import promql
from collectpulse.dashboards.boards.common import (
    counter,
    describe,
    gauge,
    histogram,
    legend,
    ratio_panel,
)
from collectpulse.dashboards.model import Board, Panel, PanelKind, Query, Row, Unit
from collectpulse.dashboards.promql import ALL, Selection

CHANNEL = ("channel",)
_STAGES = (  # legend, funnel counter; the landing stage sits between clicked and paid
    ("sent", "messages_sent"),
    ("delivered", "messages_delivered"),
    ("opened", "messages_opened"),
    ("clicked", "messages_clicked"),
)
_PAID = ("paid", "messages_paid")
_VISITORS = counter("landing_unique_visitors")
# Landing visitors by the channel they came from: the landing `source` named like the
# selected channels; direct and other visits belong to no channel.
_FROM_CHANNELS = Selection(
    filters=("tenant",),
    also=(("source", "channel"),),
    exclude=(("source", "direct"), ("source", "other")),
)


def _stage_queries(by: tuple[str, ...]) -> tuple[Query, ...]:
    def stage(name: str, counter_name: str) -> Query:
        return Query(promql.windowed_sum(counter(counter_name), by), name)

    rename = ("source", "channel") if by else None
    landing = Query(
        promql.windowed_sum(_VISITORS, by, _FROM_CHANNELS, rename=rename), "landing visitors"
    )
    return (*(stage(*s) for s in _STAGES), landing, stage(*_PAID))


_FUNNEL_NOTE = (
    "Cohort counts: of the messages sent in the window, how many reached each stage so far. "
    "Landing visitors are distinct visitors whose landing source is one of the selected "
    "channels, in the window (they cannot be filtered by campaign)."
)


def _funnel_row() -> Row:
    return Row(
        "Funnel: messages sent in the window",
        (
            Panel(
                "Funnel stages",
                PanelKind.BAR_GAUGE,
                _stage_queries(()),
                _FUNNEL_NOTE,
                height=9,
            ),
            Panel(
                "Funnel by channel",
                PanelKind.TABLE,
                _stage_queries(CHANNEL),
                _FUNNEL_NOTE,
                height=9,
            ),
        ),
    )


def _ratio_row() -> Row:
    return Row(
        "Funnel ratios by channel",
        (
            ratio_panel("delivery", CHANNEL, title="Delivery ratio"),
            ratio_panel("open", CHANNEL, title="Open ratio"),
            ratio_panel("human_open", CHANNEL, title="Human open ratio"),
            ratio_panel("click_through", CHANNEL, title="Click-through ratio"),
            ratio_panel("click_to_open", CHANNEL, title="Click-to-open ratio"),
            ratio_panel("message_payment", CHANNEL, title="Message payment ratio"),
        ),
    )


def _volume_row() -> Row:
    sent = counter("messages_sent")
    stages = (*_STAGES, _PAID)
    return Row(
        "Volume (as the events arrive)",
        (
            Panel(
                "Messages sent per second by channel",
                PanelKind.TIMESERIES,
                (Query(promql.per_second(sent, CHANNEL), legend(CHANNEL)),),
                describe(sent),
                Unit.PER_SECOND,
            ),
            Panel(
                "Funnel events per second",
                PanelKind.TIMESERIES,
                tuple(Query(promql.per_second(counter(name)), stage) for stage, name in stages),
                "Messages reaching each stage per second, counted when the stage's event is "
                "applied (all-time counters), for the selected campaigns and channels.",
                Unit.PER_SECOND,
            ),
        ),
    )


def _response_row() -> Row:
    names = (
        ("send_to_open_seconds", "Send to open"),
        ("send_to_click_seconds", "Send to click"),
        ("send_to_payment_seconds", "Send to payment"),
        ("open_to_payment_seconds", "Open to payment"),
    )
    panels = []
    for name, title in names:
        kpi = histogram(name)
        queries = tuple(
            Query(promql.quantile(kpi, q, CHANNEL, ALL), f"{{{{channel}}}} p{round(q * 100)}")
            for q in (0.5, 0.9)
        )
        note = "Median and 90th percentile of the responses observed in the dashboard's range."
        panels.append(
            Panel(
                f"{title} (p50, p90)",
                PanelKind.BAR_GAUGE,
                queries,
                describe(kpi, note=note),
                Unit.SECONDS,
                width=6,
            )
        )
    return Row("Response times", tuple(panels))


_SEND_HOUR = gauge("send_hour_messages")
_SEND_WEEKDAY = gauge("send_weekday_messages")
_SLOT_WINDOW = "28d"
_SLOT_NOTE = (
    "Messages sent in the last 28 days, by the local hour (weekday) of their send in the "
    "tenant's time zone; a late open, click or payment counts where its message was sent. "
    "The window selector does not apply (K21 has 7d and 28d only); campaigns are summed "
    "(the grid per campaign: GET /api/v1/send-time)."
)
_NO_BEST_TIME = (
    "Observational: hours differ in who is messaged then, so read no 'best time' from it "
    "without a randomized send-slot experiment."
)


def _send_time_row() -> Row:
    def hour_heatmap(title: str, numerator: str) -> Panel:
        expr = promql.stage_ratio(_SEND_HOUR, ("send_hour",), numerator, "delivered", _SLOT_WINDOW)
        return Panel(
            title,
            PanelKind.HEATMAP,
            (Query(expr, "{{send_hour}}"),),
            describe(_SEND_HOUR, note=f"Cell: {numerator} / delivered. {_SLOT_NOTE}"),
            Unit.RATIO,
            width=9,
            rows=True,
        )

    by_weekday = tuple(
        Query(
            promql.stage_ratio(_SEND_WEEKDAY, ("send_weekday",), stage, "delivered", _SLOT_WINDOW),
            f"{{{{send_weekday}}}} {stage}",
        )
        for stage in ("opened_human", "paid")
    )
    return Row(
        "Send time of day (local to the tenant, 28 days by send time)",
        (
            hour_heatmap("Human opens per delivered message by send hour", "opened_human"),
            hour_heatmap("Paid per delivered message by send hour", "paid"),
            Panel(
                "Human opens and paid per delivered message by send weekday (1 = Monday)",
                PanelKind.BAR_GAUGE,
                by_weekday,
                describe(_SEND_WEEKDAY, note=f"{_SLOT_NOTE} {_NO_BEST_TIME}"),
                Unit.RATIO,
                width=6,
            ),
        ),
    )


BOARD = Board(
    uid="collectpulse-funnel",
    title="collectpulse / Campaign funnel",
    description=(
        "Sent -> delivered -> opened -> clicked -> landing -> paid by channel, for the messages "
        "sent in the selected window."
    ),
    rows=(_funnel_row(), _ratio_row(), _send_time_row(), _volume_row(), _response_row()),
    tags=("funnel",),
)
