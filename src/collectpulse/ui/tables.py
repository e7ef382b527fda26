"""The live page's KPI tables, declared from the KPI definitions table.

Each table's rows are keyed by exactly the labels of the Prometheus series its
cells come from (the window aside), so every cell is one sample of /metrics:
the column's ``metric`` at the row's ``labels`` plus the column's ``where`` and
the window. A ratio joins the table whose row labels are its own labels, so a
ratio added to the definitions table appears on the page without a change here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from collectpulse.kpi.definitions import FUNNEL_LABEL_NAMES, RATIOS, counter_by_name
from collectpulse.kpi.model import Aggregation, Ratio, metric_name
from collectpulse.kpi.ratios import CounterValues, LabelSet, evaluate_ratio, labelset

Unit = Literal["count", "ratio", "minor"]


@dataclass(frozen=True)
class Column:
    key: str
    """Unique within its table; the counter or ratio name (plus the ``where`` value)."""
    title: str
    metric: str
    """The Prometheus sample name the cell's value is exported under."""
    help: str
    unit: Unit
    counter: str = ""
    """The counter summed for the cell; empty for a ratio column."""
    where: tuple[tuple[str, str], ...] = ()
    """Labels the cell adds to the row's labels (e.g. ``status="kept"``)."""
    ratio: Ratio | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "metric": self.metric,
            "help": self.help,
            "unit": self.unit,
            "where": dict(self.where),
        }


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    labels: tuple[str, ...]
    """The row labels: the labels of every column's series but ``where`` and window."""
    counters: tuple[Column, ...]
    caption: str


def count(name: str, title: str, **where: str) -> Column:
    counter = counter_by_name(name)
    suffix = "".join(f"_{value}" for value in where.values())
    unit: Unit = "minor" if name.endswith("_amount_minor") else "count"
    help_text = counter.help
    if counter.aggregation is Aggregation.HLL:
        help_text += " (estimate)"
    return Column(
        key=name + suffix,
        title=title,
        metric=metric_name(counter, windowed=True),
        help=help_text,
        unit=unit,
        counter=name,
        where=tuple(sorted(where.items())),
    )


def ratio_column(definition: Ratio) -> Column:
    return Column(
        key=definition.name,
        title=definition.name.replace("_", " "),
        metric=metric_name(definition),
        help=f"{definition.help} Definition: {definition.formula()}.",
        unit="ratio",
        ratio=definition,
    )


_FUNNEL = tuple(FUNNEL_LABEL_NAMES)

TABLES: tuple[Table, ...] = (
    Table(
        "funnel",
        "Funnel",
        _FUNNEL,
        (
            count("messages_sent", "sent"),
            count("messages_delivered", "delivered"),
            count("messages_opened", "opened"),
            count("messages_clicked", "clicked"),
            count("messages_paid", "paid"),
        ),
        "Messages sent in the window and what became of them, per series.",
    ),
    Table(
        "landing",
        "Landing page by source",
        ("source", "tenant"),
        (
            count("landing_unique_visitors", "unique visitors"),
            count("landing_paying_customers", "paying customers"),
            count("landing_installment_plans", "installment plans"),
        ),
        "Landing-page traffic and conversion in the window, by traffic source.",
    ),
    Table(
        "landing_devices",
        "Landing page by device",
        ("source", "device", "tenant"),
        (
            count("landing_pageviews", "views"),
            count("landing_unique_visitors_by_device", "unique visitors"),
            count("landing_paying_customers_by_device", "paying customers"),
            count("landing_installment_plans_by_device", "installment plans"),
        ),
        "Landing-page views, visitors and conversion in the window by source and device "
        "(empty: not reported). A customer who viewed on two devices counts under both: "
        "do not add the devices up to a source.",
    ),
    Table(
        "payments",
        "Payments",
        ("tenant",),
        (
            count("payment_attempts", "succeeded", status="succeeded"),
            count("payment_attempts", "failed", status="failed"),
            count("payment_attempts", "aborted", status="aborted"),
        ),
        "Payment attempts in the window by outcome.",
    ),
    Table(
        "collected",
        "Amount collected",
        ("tenant", "currency", "agent"),
        (count("collected_amount_minor", "amount (minor units)"),),
        "Successful payments in the window, in minor currency units (cents), per currency.",
    ),
    Table(
        "promises",
        "Promises",
        ("direction", "kind", "tenant"),
        (
            count("promises", "made", status="made"),
            count("promises", "kept", status="kept"),
            count("promises", "broken", status="broken"),
            count("promises", "cancelled", status="cancelled"),
        ),
        "Promise-to-pay and installment-plan status changes in the window.",
    ),
    Table(
        "agent_promises",
        "Promises by agent",
        ("agent", "tenant"),
        (
            count("agent_promises", "made", status="made"),
            count("agent_promises", "kept", status="kept"),
            count("agent_promises", "broken", status="broken"),
            count("agent_promises", "cancelled", status="cancelled"),
        ),
        "Promises made in the window by each agent, and their outcomes in the window "
        "credited to the agent who made them; agents past the label cap as __other__ "
        "(every agent: GET /api/v1/agents).",
    ),
    Table(
        "promise_cohort",
        "Promises made in the window and kept so far",
        ("direction", "kind", "agent", "tenant"),
        (
            count("promise_cohort", "made", status="made"),
            count("promise_cohort", "kept so far", status="kept"),
        ),
        "Promises made in the window by the maker, and of them those kept so far (a kept "
        "reported later still counts here): grows while the promises resolve.",
    ),
    Table(
        "self_service",
        "Self-service payments",
        ("currency", "tenant"),
        tuple(
            count(name, f"{who.replace('_', ' ')} {what}", initiated_by=who)
            for name, what in (
                ("initiated_payments", "count"),
                ("initiated_amount_minor", "amount"),
            )
            for who in ("self_service", "agent", "scheduled")
        ),
        "Succeeded payments in the window by who started them; the shares compare "
        "self-service with agent payments, scheduled ones apart.",
    ),
    Table(
        "self_service_promises",
        "Promises made by direction",
        ("kind", "tenant"),
        tuple(
            count(
                "promises",
                f"made {direction.replace('_', ' ')}",
                direction=direction,
                status="made",
            )
            for direction in ("self_service", "inbound", "outbound")
        ),
        "Promises made in the window, self-service or on an inbound or outbound contact.",
    ),
    Table(
        "contacts",
        "Outbound contact attempts",
        ("channel", "team", "agent", "dialer_campaign", "tenant"),
        tuple(
            count(
                "contact_attempts", outcome.replace("_", " "), direction="outbound", outcome=outcome
            )
            for outcome in (
                "right_party",
                "wrong_party",
                "no_answer",
                "voicemail",
                "busy",
                "invalid_number",
            )
        ),
        "Outbound dialer attempts in the window by outcome, and the right-party, contact "
        "and wrong-number ratios (the channel here is the contact's: call, chat, e-mail reply).",
    ),
)


def table_columns(table: Table, ratios: Iterable[Ratio] = RATIOS) -> tuple[Column, ...]:
    """The table's counters, then every ratio of the definitions grouped by its row labels."""
    wanted = set(table.labels)
    return (*table.counters, *(ratio_column(r) for r in ratios if set(r.labels) == wanted))


def table_rows(
    table: Table,
    columns: Iterable[Column],
    values: CounterValues,
    keep: Mapping[str, str],
) -> list[dict[str, Any]]:
    """One row per label set any of the table's counters has in ``values``, filtered by
    ``keep`` (label -> wanted value; labels the table lacks do not filter it)."""
    columns = tuple(columns)
    ratios = {c.key: evaluate_ratio(c.ratio, values) for c in columns if c.ratio}
    rows: list[dict[str, Any]] = []
    for series in _row_series(table, columns, values):
        labels = dict(series)
        if any(labels.get(name, value) != value for name, value in keep.items()):
            continue
        cells: dict[str, float | None] = {}
        for column in columns:
            if column.ratio is not None:
                cells[column.key] = ratios[column.key].get(series)
            else:
                key = labelset({**labels, **dict(column.where)})
                cells[column.key] = values.get(column.counter, {}).get(key, 0.0)
        rows.append({"labels": labels, "values": cells})
    return rows


def _row_series(table: Table, columns: tuple[Column, ...], values: CounterValues) -> list[LabelSet]:
    found: set[LabelSet] = set()
    for column in columns:
        if column.ratio is not None:
            continue
        for series in values.get(column.counter, {}):
            labels = dict(series)
            if all(labels.get(name) == value for name, value in column.where):
                found.add(labelset({name: labels.get(name, "") for name in table.labels}))
    return sorted(found)
