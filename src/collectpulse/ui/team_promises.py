"""The live page's promises-by-team section (K4-K7 by team), the numbers /metrics exports.

Computed by the exporter's own function on the same view (``exporter.accounts
.team_values``), so a cell and its sample cannot disagree. A ratio without a
denominator has no sample: its cell is a dash, untagged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from collectpulse.exporter.accounts import team_values
from collectpulse.kpi.model import PREFIX
from collectpulse.store.reader import StoreView
from collectpulse.ui.cells import DASH, num

TEAM_LABELS = ("team", "tenant", "window")
KIND_LABELS = ("direction", "kind", *TEAM_LABELS)
COLUMNS = (
    ("team_outbound_ptp_per_rpc_ratio", "Promises to pay per RPC", "ratio"),
    ("team_outbound_kept_per_rpc_ratio", "Kept per RPC", "ratio"),
    ("team_promises_made", "Promises made", "count"),
    ("team_promise_kept_ratio", "Kept ratio (resolved)", "ratio"),
)
"""(gauge, column title, unit) of the by-team table, one row per team, tenant, window."""
COHORT = "team_promise_kept_cohort_ratio"


def team_promises_panel(view: StoreView, keep: Mapping[str, str]) -> dict[str, list[Any]]:
    """``teams``: per (team, tenant, window) its values by gauge; ``cohort``: K6 rows per
    direction, kind, team, tenant and window. ``keep`` filters the tenant."""
    values = team_values(view)
    keys = sorted({key for name, _, _ in COLUMNS for key in values[name]})
    teams = [
        {
            "labels": dict(zip(TEAM_LABELS, key, strict=True)),
            "values": {name: values[name].get(key) for name, _, _ in COLUMNS},
        }
        for key in keys
        if keep.get("tenant", key[1]) == key[1]
    ]
    cohort = [
        {"labels": dict(zip(KIND_LABELS, key, strict=True)), "value": v}
        for key, v in sorted(values[COHORT].items())
        if keep.get("tenant", key[3]) == key[3]
    ]
    return {"teams": teams, "cohort": cohort}


def team_promises_section(panel: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    head = "".join(f'<th scope="col">{escape(t)}</th>' for t in TEAM_LABELS)
    head += "".join(f'<th scope="col">{escape(title)}</th>' for _, title, _ in COLUMNS)
    rows = []
    for row in panel["teams"]:
        labels = row["labels"]
        cells = "".join(f"<td>{escape(labels[name]) or DASH}</td>" for name in TEAM_LABELS)
        for name, _, unit in COLUMNS:
            value = row["values"][name]
            metric = f"{PREFIX}{name}" if value is not None else ""
            cells += num(value, unit, metric, labels)
        rows.append(f"<tr>{cells}</tr>")
    kinds = []
    for row in panel["cohort"]:
        labels = row["labels"]
        cells = "".join(f"<td>{escape(labels[name]) or DASH}</td>" for name in KIND_LABELS)
        kinds.append(f"<tr>{cells}{num(row['value'], 'ratio', PREFIX + COHORT, labels)}</tr>")
    return (
        '<section aria-labelledby="team-promises-h"><h2 id="team-promises-h">Promises by '
        "team</h2>"
        + _table(
            "t-team-promises",
            "K4, K5, K7 over whole local days, by the maker's team now (a team move "
            "re-labels an agent's history)",
            head,
            rows,
            len(TEAM_LABELS) + len(COLUMNS),
        )
        + _table(
            "t-team-cohort",
            "K6: kept so far of the promises made on the window's days",
            "".join(f'<th scope="col">{escape(t)}</th>' for t in (*KIND_LABELS, "kept so far")),
            kinds,
            len(KIND_LABELS) + 1,
        )
        + "</section>"
    )


def _table(key: str, caption: str, head: str, rows: Sequence[str], width: int) -> str:
    empty = f'<tr><td colspan="{width}">Nothing yet.</td></tr>'
    return (
        f'<table id="{key}"><caption>{escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows) or empty}</tbody></table>"
    )


__all__ = ["team_promises_panel", "team_promises_section"]
