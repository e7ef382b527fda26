"""The live page's collectors and targets section: net collected per collector by team
(K8) and agents below target (K24), the numbers /metrics exports.

Computed by the exporter's own functions on the same view, so a cell and its sample
cannot disagree. Per-agent attainment stays JSON (GET /api/v1/targets).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from collectpulse.exporter.accounts import target_rows, tenant_today
from collectpulse.kpi.collectors import agent_teams, collected_per_collector
from collectpulse.kpi.targets import agents_below_target
from collectpulse.store.reader import StoreView
from collectpulse.ui.cells import DASH, num


def agent_targets_panel(view: StoreView, keep: Mapping[str, str]) -> dict[str, list[Any]]:
    """``collectors``: (currency, team, tenant, window) rows; ``below``: (metric, team,
    tenant) rows; ``keep`` filters the tenant."""
    teams = agent_teams(view.roster, view.accounts.collectors)
    k8 = collected_per_collector(
        view.agent_net, view.roster, view.accounts.collectors, tenant_today(view)
    )
    collectors = [
        {
            "labels": dict(zip(("currency", "team", "tenant", "window"), key, strict=True)),
            "value": v,
        }
        for key, v in sorted(k8.items())
        if keep.get("tenant", key[2]) == key[2]
    ]
    below = [
        {"labels": dict(zip(("metric", "team", "tenant"), key, strict=True)), "value": n}
        for key, n in sorted(agents_below_target(target_rows(view), teams).items())
        if keep.get("tenant", key[2]) == key[2]
    ]
    return {"collectors": collectors, "below": below}


def agent_targets_section(panel: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    return (
        '<section aria-labelledby="agent-targets-h"><h2 id="agent-targets-h">Collectors and '
        "targets</h2>"
        + _table(
            "t-collectors",
            "Net collected per active collector (minor units) over whole local days",
            ("currency", "team", "tenant", "window"),
            panel["collectors"],
            "collectpulse_collected_per_collector",
            "count",
        )
        + _table(
            "t-below-target",
            "Agents below an agent target, pro rata of its period (per agent: GET /api/v1/targets)",
            ("metric", "team", "tenant"),
            panel["below"],
            "collectpulse_agents_below_target",
            "count",
        )
        + "</section>"
    )


def _table(
    key: str,
    caption: str,
    labels: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    metric: str,
    unit: str,
) -> str:
    head = "".join(f'<th scope="col">{escape(t)}</th>' for t in (*labels, "value"))
    body = []
    for row in rows:
        cells = "".join(f"<td>{escape(row['labels'][name]) or DASH}</td>" for name in labels)
        body.append(f"<tr>{cells}{num(row['value'], unit, metric, row['labels'])}</tr>")
    empty = f'<tr><td colspan="{len(labels) + 1}">Nothing yet.</td></tr>'
    return (
        f'<table id="{key}"><caption>{escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body) or empty}</tbody></table>"
    )


__all__ = ["agent_targets_panel", "agent_targets_section"]
