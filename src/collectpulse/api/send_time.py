"""``GET /api/v1/send-time``: the full 7x24 send-slot grid per campaign (K21, JSON only).

Prometheus gets the send hour and the send weekday separately, summed over campaigns
(``exporter.send_time``); the grid by weekday *and* hour per campaign would be 168
times the series, so it is answered here from the same slot ledger
(``store.send_time``). The shaping is pure; the numbers are observational.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from collectpulse.kpi.send_time import OBSERVATIONAL, STAGES, WINDOWS, Slot, grids

PARAMS = frozenset({"window", "campaign", "channel", "tenant"})
DEFAULT_WINDOW = "7d"
LAYOUT = (
    "stages[stage][weekday - 1][hour]: rows are local ISO weekdays 1 (Monday) to 7 "
    "(Sunday), columns local hours 0-23, in the tenant's time zone; each message counts "
    "once per stage in the slot of its send time (an open, click or payment arriving "
    "later counts where the message was sent)."
)


class BadQuery(ValueError):
    """A parameter the API refuses (answered 400 with this message)."""


def parse_query(query: Mapping[str, str]) -> tuple[str, dict[str, str | None]]:
    """The window and the filters (campaign, channel, tenant) of a request."""
    unknown = sorted(set(query) - PARAMS)
    if unknown:
        raise BadQuery(f"unknown query parameters: {', '.join(unknown)}")
    window = query.get("window", DEFAULT_WINDOW)
    if window not in WINDOWS:
        raise BadQuery(f"window must be one of {', '.join(WINDOWS)}")
    return window, {name: query.get(name) for name in ("campaign", "channel", "tenant")}


def send_time_body(
    window: str,
    now_s: int,
    cells: Mapping[Slot, int],
    filters: Mapping[str, str | None],
    zones: dict[str, str],
    default_zone: str,
) -> dict[str, object]:
    shown = grids(
        cells,
        campaign=filters.get("campaign"),
        channel=filters.get("channel"),
        tenant=filters.get("tenant"),
    )
    for grid in shown:
        grid["time_zone"] = zones.get(str(grid["tenant"]), default_zone)
    return {
        "window": window,
        "as_of": datetime.fromtimestamp(now_s, UTC).isoformat().replace("+00:00", "Z"),
        "stages": list(STAGES),
        "layout": LAYOUT,
        "note": OBSERVATIONAL,
        "grids": shown,
    }
