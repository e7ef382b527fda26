"""Server-side HTML of the live page: the numbers are readable without JavaScript.

Every number that is a /metrics sample carries it on its element:
``data-metric`` (sample name), ``data-labels`` (JSON, window included),
``data-value`` (the exact value, empty when absent) and, when it adds up several
samples (a topic's partitions, an arm's channels), ``data-agg="sum"``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from collectpulse.ui.agent_targets import agent_targets_section
from collectpulse.ui.cells import DASH, fmt, num
from collectpulse.ui.model import FILTER_LABELS
from collectpulse.ui.portfolio import portfolio_section, recovery_section, team_section
from collectpulse.ui.segment_render import segments_table
from collectpulse.ui.team_promises import team_promises_section

_P = "collectpulse_"


def page(title: str, body: str, *, script: bool = True) -> str:
    scripts = (
        '<script src="static/uplot/uPlot.iife.min.js" defer></script>'
        '<script src="static/live.js" defer></script>'
        if script
        else '<script src="static/live.js" defer></script>'
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        '<link rel="icon" href="data:,">'
        '<link rel="stylesheet" href="static/uplot/uPlot.min.css">'
        '<link rel="stylesheet" href="static/live.css">'
        f"{scripts}</head><body>"
        '<header><nav aria-label="Pages"><a href="./">Live KPIs</a> '
        '<a href="struggling">Struggling customers</a> <a href="metrics">/metrics</a>'
        f"</nav><h1>{escape(title)}</h1></header>{body}</body></html>"
    )


def live_page(model: Mapping[str, Any]) -> str:
    body = (
        filter_form(model)
        + '<section aria-labelledby="charts-h"><h2 id="charts-h">Last hour, per minute</h2>'
        f'<div id="charts" data-series="{_attr(json.dumps(model["series"]))}"></div></section>'
        + f'<div id="live" aria-live="polite">{live_fragment(model)}</div>'
    )
    return page("collectpulse live", body)


def filter_form(model: Mapping[str, Any]) -> str:
    fields = [
        _select("window", "Window", model["windows"], model["window"], everything=None),
        *(
            _select(name, name.capitalize(), model["options"][name], model["filters"][name])
            for name in FILTER_LABELS
        ),
    ]
    return (
        '<form id="filters" method="get" action="./">'
        + "".join(fields)
        + '<button type="submit">Apply</button></form>'
    )


def live_fragment(model: Mapping[str, Any]) -> str:
    """The part of the page that live updates replace (``/api/live/events`` sends it)."""
    window = model["window"]
    parts = [
        f'<p class="asof">As of <time datetime="{model["as_of"]}">'
        f"{escape(fmt(model['as_of'], 'time'))}</time>, window {escape(window)}.</p>",
        alerts_section(model["alerts"]),
        *(kpi_table(table, window) for table in model["tables"]),
        customer_experiments_section(model["experiments"]["customers"]),
        experiments_section(model["experiments"], window),
        portfolio_section(model["portfolio"]),
        recovery_section(model.get("recovery", [])),
        team_section(model.get("team_collected", [])),
        team_promises_section(model["team_promises"]),
        agent_targets_section(model["agent_targets"]),
        pipeline_section(model["pipeline"], model["struggling_customers"]),
    ]
    return "".join(parts)


def kpi_table(table: Mapping[str, Any], window: str) -> str:
    columns = table["columns"]
    head = "".join(f'<th scope="col">{escape(name)}</th>' for name in table["labels"])
    head += "".join(
        f'<th scope="col" title="{_attr(c["help"])}">{escape(c["title"])}</th>' for c in columns
    )
    rows = []
    for row in table["rows"]:
        labels = row["labels"]
        cells = "".join(
            f'<th scope="row">{escape(labels[name]) or DASH}</th>'
            if i == 0
            else f"<td>{escape(labels[name]) or DASH}</td>"
            for i, name in enumerate(table["labels"])
        )
        for c in columns:
            sample = {**labels, **c["where"], "window": window}
            cells += num(row["values"][c["key"]], c["unit"], c["metric"], sample)
        rows.append(f"<tr>{cells}</tr>")
    empty = (
        f'<tr><td colspan="{len(table["labels"]) + len(columns)}">No data in the window.</td></tr>'
    )
    return (
        f'<section aria-labelledby="{table["key"]}-h"><h2 id="{table["key"]}-h">'
        f"{escape(table['title'])}</h2>"
        f'<table id="t-{table["key"]}"><caption>{escape(table["caption"])}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows) or empty}</tbody></table>"
        "</section>"
    )


def alerts_section(alerts: Mapping[str, Any]) -> str:
    active = alerts["active"]
    items = "".join(
        f'<li class="alert {escape(a["severity"])}"><strong>{escape(a["alert"])}</strong> '
        f"({escape(a['severity'])}): {escape(a['summary'])}</li>"
        for a in active
    )
    return (
        '<section aria-labelledby="alerts-h"><h2 id="alerts-h">Alerts</h2>'
        f'<p id="alert-count">{len(active)} alert condition(s) met now.</p>'
        f'<ul id="alerts">{items}</ul><p class="note">Computed here from the thresholds '
        "Prometheus loads, without the rules' <code>for:</code> wait. Needs Prometheus' "
        f"history, not evaluated here: {escape(', '.join(alerts['not_evaluated']))}.</p>"
        "</section>"
    )


def customer_experiments_section(panel: Mapping[str, Any]) -> str:
    """Customer-level, always-valid results: the figures to decide on (section 10)."""

    m, horizon = panel["metrics"], panel["horizon"]
    blocks = []
    for exp in panel["campaigns"]:
        split = {"campaign": exp["campaign"], "control": exp["control"], "tenant": exp["tenant"]}
        arms = "".join(
            f'<tr><th scope="row">{escape(a["arm"])}</th><td class="num">{a["weight"]:.3g}</td>'
            + "".join(
                num(a[key], "count", m[key], {**split, "arm": a["arm"]})
                for key in ("exposed", "units", "conversions")
            )
            + num(a["rate"], "ratio")
            + "</tr>"
            for a in exp["arms"]
        )
        rows = "".join(
            f'<tr><th scope="row">{escape(c["variant"])}</th>'
            + num(c["diff_low"], "lift", m["diff_low"], labels)
            + num(c["diff_high"], "lift", m["diff_high"], labels)
            + num(c["lift_low"], "lift", m["lift_low"], labels)
            + num(c["lift_high"], "lift", m["lift_high"], labels)
            + num(c["p_value"], "p", m["p_value"], labels)
            + f'<td class="verdict">{escape(c["verdict"])} (alpha {c["alpha"]:.3g})</td></tr>'
            for c in exp["comparisons"]
            for labels in ({**split, "variant": c["variant"]},)
        )
        srm = "SRM: the split is broken, no verdict" if exp["srm_flag"] else "split as configured"
        blocks.append(
            f"<h3>{escape(exp['campaign'])}</h3><table><caption>Customers since "
            f"{escape(fmt(exp['started_s'], 'time'))}; matured = first delivered at least "
            f"{escape(horizon)} ago; control {escape(exp['control'])}; crossovers "
            + num(exp["crossovers"], "count", m["crossovers"], split, tag="span")
            + f"; {srm} (p "
            + num(exp["srm_p_value"], "p", m["srm_p_value"], split, tag="span")
            + ", flag "
            + num(exp["srm_flag"], "count", m["srm_flag"], split, tag="span")
            + ')</caption><thead><tr><th scope="col">arm</th><th scope="col">weight</th>'
            '<th scope="col">exposed</th><th scope="col">matured</th>'
            '<th scope="col">paid within horizon</th><th scope="col">rate</th></tr></thead>'
            f"<tbody>{arms}</tbody></table><table><caption>Against control, always valid: "
            "watch any time, stop any time</caption><thead><tr>"
            '<th scope="col">variant</th><th scope="col">difference from</th>'
            '<th scope="col">to</th><th scope="col">lift from</th><th scope="col">to</th>'
            '<th scope="col">p-value</th><th scope="col">verdict</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>" + segments_table(exp, m)
        )
    body = "".join(blocks) or (
        "<p>No experiment configured (publish one to the <code>experiment</code> topic).</p>"
    )
    return (
        '<section aria-labelledby="cexp-h"><h2 id="cexp-h">Experiments: customers, '
        f"always valid (outcome: a payment within {escape(horizon)})</h2>{body}</section>"
    )


def experiments_section(experiments: Mapping[str, Any], window: str) -> str:
    metrics = experiments["metrics"]
    blocks = []
    for exp in experiments["campaigns"]:
        base = {"campaign": exp["campaign"], "tenant": exp["tenant"]}
        arms = "".join(
            f'<tr><th scope="row">{escape(a["variant"])}</th>'
            + num(
                a["delivered"],
                "count",
                metrics["delivered"],
                {**base, "variant": a["variant"], "window": window},
                agg="sum",
            )
            # untagged: the exported ratio is by segment (K23), this is the arm's over all
            + num(a["conversion"], "ratio")
            + f"<td>{'yes' if a['sufficient_sample'] else 'not yet'}</td></tr>"
            for a in exp["arms"]
        )
        comparisons = "".join(_comparison_row(c, base, window, metrics) for c in exp["comparisons"])
        title = f"{exp['campaign']}" + (f" (tenant {exp['tenant']})" if exp["tenant"] else "")
        blocks.append(
            f"<h3>{escape(title)}</h3><table><caption>Arms; control is "
            f"{escape(exp['control'])}; minimum sample {exp['min_sample']} delivered</caption>"
            '<thead><tr><th scope="col">variant</th><th scope="col">delivered (arm size)</th>'
            '<th scope="col">message payment ratio</th><th scope="col">minimum sample</th>'
            f"</tr></thead><tbody>{arms}</tbody></table>"
            "<table><caption>Each variant against control</caption><thead><tr>"
            '<th scope="col">variant</th><th scope="col">lift</th>'
            '<th scope="col">95% interval</th><th scope="col">p-value</th>'
            '<th scope="col">P(beat control)</th></tr></thead>'
            f"<tbody>{comparisons}</tbody></table>"
        )
    body = "".join(blocks) or "<p>No campaign has two variants in the window.</p>"
    return (
        '<section aria-labelledby="exp-h"><h2 id="exp-h">Experiments: messages in the window '
        f"(fixed-horizon, not for decisions)</h2>{body}</section>"
    )


def _comparison_row(
    c: Mapping[str, Any], base: Mapping[str, str], window: str, metrics: Mapping[str, str]
) -> str:
    labels = {**base, "variant": c["variant"], "control": c["control"], "window": window}
    interval = (
        f"{fmt(c['lift_low'], 'lift')} to {fmt(c['lift_high'], 'lift')}"
        if c["lift_low"] is not None
        else DASH
    )
    return (
        f'<tr><th scope="row">{escape(c["variant"])}</th>'
        + num(c["lift"], "lift", metrics["lift"], labels)
        + f'<td class="num">{escape(interval)}</td>'
        + num(c["p_value"], "p", metrics["p_value"], labels)
        + num(c["beat_control"], "ratio", metrics["beat_control"], labels)
        + "</tr>"
    )


def pipeline_section(health: Mapping[str, Any], struggling: int) -> str:
    rows = "".join(
        f'<tr><th scope="row">{escape(topic)}</th>'
        + num(
            t["last_event_s"], "time", "collectpulse_last_event_timestamp_seconds", {"topic": topic}
        )
        + num(t["last_event_age_s"], "seconds")
        + num(
            t["processing_lag_s"],
            "seconds",
            "collectpulse_processing_lag_seconds",
            {"topic": topic},
        )
        + num(
            t["consumer_lag_records"],
            "count",
            "collectpulse_consumer_lag_records",
            {"topic": topic},
            agg="sum",
        )
        + num(t["events_received"], "count", "collectpulse_events_received_total", {"topic": topic})
        + num(
            t["events_dead_lettered"],
            "count",
            "collectpulse_events_dead_lettered_total",
            {"topic": topic},
        )
        + "</tr>"
        for topic, t in health["topics"].items()
    )
    deps = ", ".join(
        f"{name} {'up' if up else 'unknown' if up is None else 'DOWN'}"
        for name, up in health["dependencies"].items()
    )
    return (
        '<section aria-labelledby="pipe-h"><h2 id="pipe-h">Pipeline health</h2><dl>'
        "<dt>Live workers</dt>"
        + num(health["live_workers"], "count", "collectpulse_live_workers", {}, tag="dd")
        + f"<dt>Dependencies</dt><dd>{escape(deps)}</dd>"
        "<dt>Dead-lettered records (all time)</dt>"
        + num(health["dead_lettered_total"], "count", tag="dd")
        + '<dt>Struggling customers (<a href="struggling">list</a>)</dt>'
        + num(struggling, "count", "collectpulse_struggling_customers", {}, tag="dd", agg="sum")
        + "</dl><table><caption>Per topic</caption><thead><tr>"
        '<th scope="col">topic</th><th scope="col">last event</th><th scope="col">age</th>'
        '<th scope="col">processing lag</th><th scope="col">consumer lag (records)</th>'
        '<th scope="col">received</th><th scope="col">dead-lettered</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></section>"
    )


def struggling_page(body: Mapping[str, Any], tenant: str | None, tenants: Sequence[str]) -> str:
    refresh = "struggling?fragment=1" + (f"&tenant={tenant}" if tenant else "")
    content = (
        '<form method="get" action="struggling">'
        + _select("tenant", "Tenant", tenants, tenant)
        + '<button type="submit">Apply</button></form>'
        + f'<div id="live" aria-live="polite" data-refresh="{_attr(refresh)}">'
        + struggling_fragment(body)
        + "</div>"
    )
    return page("Struggling customers", content, script=False)


def struggling_fragment(body: Mapping[str, Any]) -> str:
    """The list, replaced every few seconds by the page's script."""
    rows = "".join(
        f'<tr><th scope="row">{escape(c["customer_id"])}</th>'
        f"<td>{escape(c['tenant'] or DASH)}</td>" + num(c["struggling_since"], "time") + "</tr>"
        for c in body["customers"]
    )
    return (
        f'<p id="struggling-count">{body["count"]} customer(s) with repeated failed or aborted '
        "payments and no successful one in the last 24 h.</p>"
        "<table><caption>Struggling customers, longest first</caption><thead><tr>"
        '<th scope="col">customer</th><th scope="col">tenant</th>'
        '<th scope="col">struggling since</th></tr></thead>'
        f"<tbody>{rows or '<tr><td colspan=3>None.</td></tr>'}</tbody></table>"
    )


def _select(
    name: str,
    title: str,
    values: Iterable[str],
    chosen: str | None,
    *,
    everything: str | None = "all",
) -> str:
    options = f'<option value="">{everything}</option>' if everything else ""
    values = list(values)
    if chosen and chosen not in values:  # a value not seen (yet) stays chosen
        values.append(chosen)
    for value in values:
        selected = " selected" if value == chosen else ""
        options += f'<option value="{_attr(value)}"{selected}>{escape(value)}</option>'
    return (
        f'<label for="f-{name}">{escape(title)}</label>'
        f'<select id="f-{name}" name="{name}">{options}</select>'
    )


def _attr(text: str) -> str:
    return escape(text, quote=True)
