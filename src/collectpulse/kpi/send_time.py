"""K21 send time-of-day: the slot a message's send time falls in, local to its tenant.

Pure functions shared by the store (which counts each message once per stage in the
slot of its send time), the exporter (hour and weekday series, 7d and 28d windows) and
``GET /api/v1/send-time`` (the full 7x24 grid per campaign). The numbers are
observational: hours differ in who is messaged then, so "the best hour" needs a
randomized send-slot experiment (kpi-catalog section 10), not this table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from collectpulse.kpi.model import Gauge

STAGES = ("delivered", "opened_human", "clicked", "paid")
"""What is counted per slot, each once per message: delivered, opened by a person,
clicked, with a successful payment attributed to it."""
WINDOWS = {"7d": 7 * 86_400, "28d": 28 * 86_400}
"""The windows of K21 (catalog section 9), whatever ``COLLECTPULSE_WINDOWS`` says."""
LONGEST_S = max(WINDOWS.values())
HOURS = tuple(f"{h:02d}" for h in range(24))
WEEKDAYS = tuple(str(d) for d in range(1, 8))
"""ISO weekdays: 1 is Monday, 7 Sunday."""
SEP = "\x1f"
OBSERVATIONAL = (
    "Observational: each cell counts the messages sent in that local hour and what became "
    "of them; hours differ in who is messaged then, so a 'best time' claim needs a "
    "randomized send-slot experiment (kpi-catalog section 10)."
)

SEND_TIME_GAUGES = (
    Gauge(
        "send_hour_messages",
        "K21: messages sent in the window by local send hour (00-23, the tenant's zone, "
        "COLLECTPULSE_TENANT_TIME_ZONES) and what became of them, each once per message: "
        "stage delivered, opened_human, clicked, paid (a successful payment attributed to "
        "it). Cohort by send time: an open, click or payment arriving later counts in the "
        "hour the message was sent. Windows 7d and 28d. Observational: a 'best time' claim "
        "needs a randomized send-slot experiment.",
        "send_time",
        ("channel", "tenant", "send_hour", "stage"),
        windowed=True,
    ),
    Gauge(
        "send_weekday_messages",
        "K21: as send_hour_messages, by local send weekday (ISO: 1 Monday to 7 Sunday). "
        "The full 7x24 grid per campaign is JSON only: GET /api/v1/send-time.",
        "send_time",
        ("channel", "tenant", "send_weekday", "stage"),
        windowed=True,
    ),
)
"""K21's /metrics families, part of the one definitions table (``kpi.computed.GAUGES``)."""


@dataclass(frozen=True, slots=True)
class Slot:
    """One counted cell: a stage of the messages of one campaign, channel and tenant sent
    in one local weekday and hour."""

    stage: str
    channel: str
    campaign: str
    tenant: str
    weekday: str
    hour: str

    def field(self) -> str:
        return SEP.join(
            (self.stage, self.channel, self.campaign, self.tenant, self.weekday, self.hour)
        )

    @classmethod
    def parse(cls, text: str) -> Slot | None:
        """The slot of a ledger field, None for one of another layout."""
        parts = text.split(SEP)
        if len(parts) != 6 or parts[0] not in STAGES:
            return None
        return cls(*parts)


def slot_names(hour: int, weekday: int) -> tuple[str, str]:
    """(send_weekday "1"-"7", send_hour "00"-"23") of a local hour 0-23 and ISO weekday."""
    if not 0 <= hour <= 23 or not 1 <= weekday <= 7:
        raise ValueError(f"no send slot for hour {hour}, weekday {weekday}")
    return str(weekday), HOURS[hour]


def hour_series(
    cells: Mapping[Slot, int],
) -> dict[tuple[str, str, str, str], int]:
    """(channel, tenant, send_hour, stage) -> count, campaigns and weekdays summed."""
    out: dict[tuple[str, str, str, str], int] = {}
    for slot, value in cells.items():
        key = (slot.channel, slot.tenant, slot.hour, slot.stage)
        out[key] = out.get(key, 0) + value
    return out


def weekday_series(
    cells: Mapping[Slot, int],
) -> dict[tuple[str, str, str, str], int]:
    """(channel, tenant, send_weekday, stage) -> count, campaigns and hours summed."""
    out: dict[tuple[str, str, str, str], int] = {}
    for slot, value in cells.items():
        key = (slot.channel, slot.tenant, slot.weekday, slot.stage)
        out[key] = out.get(key, 0) + value
    return out


def grids(
    cells: Mapping[Slot, int],
    *,
    campaign: str | None = None,
    channel: str | None = None,
    tenant: str | None = None,
) -> list[dict[str, object]]:
    """One 7x24 grid per (campaign, channel, tenant): ``stages[stage][weekday - 1][hour]``,
    Monday first, sorted by campaign, channel, tenant; the filters keep only their value."""
    by_group: dict[tuple[str, str, str], dict[str, list[list[int]]]] = {}
    for slot, value in cells.items():
        if campaign is not None and slot.campaign != campaign:
            continue
        if channel is not None and slot.channel != channel:
            continue
        if tenant is not None and slot.tenant != tenant:
            continue
        group = by_group.get((slot.campaign, slot.channel, slot.tenant))
        if group is None:
            group = by_group[(slot.campaign, slot.channel, slot.tenant)] = {
                stage: [[0] * 24 for _ in WEEKDAYS] for stage in STAGES
            }
        group[slot.stage][int(slot.weekday) - 1][int(slot.hour)] += value
    return [
        {"campaign": c, "channel": ch, "tenant": t, "stages": stages}
        for (c, ch, t), stages in sorted(by_group.items())
    ]
