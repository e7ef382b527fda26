"""One frame of ``collectpulse top``: a ``Headline`` laid out as rich tables (pure, no I/O)."""

from __future__ import annotations

import time

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from collectpulse.ui.headline import STAGE_RATIOS, Headline, Pipeline

NO_VALUE = "-"
"""Shown for a ratio whose denominator is 0 (no data, not 0 %)."""
KEYS_HELP = "q quit · w window · t tenant"


def percent(value: float | None) -> str:
    return NO_VALUE if value is None else f"{value * 100:.1f}%"


def count(value: float) -> str:
    return f"{round(value):,}"


def tenant_label(tenant: str | None) -> str:
    if tenant is None:
        return "all"
    return tenant or "(none)"


def frame(
    headline: Headline | None,
    *,
    window: str,
    tenant: str | None,
    problem: str | None = None,
) -> RenderableType:
    """The whole screen for the chosen ``window`` and ``tenant``; ``problem`` (e.g. Redis
    unreachable) is shown above the numbers, which are the last ones read (or none yet)."""
    as_of = (
        ""
        if headline is None
        else time.strftime(" · as of %H:%M:%S UTC", time.gmtime(headline.as_of_s))
    )
    title = Text("collectpulse top · ", style="bold")
    title.append(f"window {window}", style="bold cyan")
    title.append(" · ")
    title.append(f"tenant {tenant_label(tenant)}", style="bold cyan")
    title.append(f"{as_of} · {KEYS_HELP}")
    parts: list[RenderableType] = [title]
    if problem is not None:
        parts.append(Text(f"! {problem}", style="bold red"))
    if headline is None:
        parts.append(Text("waiting for the first read of the store..."))
    else:
        parts += [_funnel(headline), _money(headline), _pipeline(headline)]
    return Group(*parts)


def _funnel(h: Headline) -> Table:
    table = Table(title=f"Funnel (messages sent in the last {h.window})", title_justify="left")
    table.add_column("stage")
    table.add_column("messages", justify="right")
    table.add_column("ratio", justify="right")
    table.add_column("of")
    table.add_row("sent", count(h.funnel["sent"]), "", "")
    for stage, (name, base) in STAGE_RATIOS.items():
        table.add_row(stage, count(h.funnel[stage]), percent(h.ratios[name]), base)
    split = f"hard {percent(h.ratios['hard_bounce'])} · soft {percent(h.ratios['soft_bounce'])}"
    table.add_row("bounced", "", percent(h.ratios["bounce"]), f"sent ({split})")
    return table


def _money(h: Headline) -> Table:
    table = Table(title="Payments, promises, landing page", title_justify="left")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    if h.collected_minor:
        for currency, amount in h.collected_minor.items():
            table.add_row(f"collected {currency} (minor units)", count(amount))
    else:
        table.add_row("collected (minor units)", "0")
    table.add_row("payment success ratio", percent(h.ratios["payment_success"]))
    table.add_row("promise kept ratio", percent(h.ratios["promise_kept"]))
    table.add_row("landing conversion (all sources)", percent(h.ratios["landing_conversion"]))
    table.add_row("struggling customers (all tenants)", count(h.struggling_customers))
    return table


def _pipeline(h: Headline) -> RenderableType:
    p: Pipeline = h.pipeline
    lag = NO_VALUE if p.consumer_lag_records is None else count(p.consumer_lag_records)
    summary = Text(
        f"live workers {p.live_workers} · consumer lag {lag} records · "
        f"dead-lettered {count(p.dead_lettered)}"
    )
    for name, up in p.dependencies.items():
        state, style = _UP.get(up, ("not asked", "yellow"))
        summary.append(" · ")
        summary.append(f"{name} {state}", style=style)
    table = Table(title="Pipeline health", title_justify="left")
    table.add_column("topic")
    table.add_column("last event", justify="right")
    table.add_column("processing lag", justify="right")
    table.add_column("consumer lag", justify="right")
    for t in p.topics:
        age = NO_VALUE if t.last_event_age_s is None else f"{count(t.last_event_age_s)} s ago"
        processing = NO_VALUE if t.processing_lag_s is None else f"{t.processing_lag_s:.3f} s"
        records = NO_VALUE if t.consumer_lag_records is None else count(t.consumer_lag_records)
        table.add_row(t.topic, age, processing, records)
    return Group(summary, table)


_UP: dict[bool | None, tuple[str, str]] = {True: ("up", "green"), False: ("DOWN", "bold red")}
