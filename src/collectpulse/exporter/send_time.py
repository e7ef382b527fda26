"""K21 on /metrics: messages by local send hour and by send weekday, 7d and 28d windows.

Built from the slot counts the reader summed (``StoreView.send_slots``). Every channel
and tenant with a count in a window gets all 24 hours (7 weekdays) and all four stages,
0 where nothing was counted, so a heatmap has no holes; campaigns are summed here (the
per-campaign grid is JSON only, ``GET /api/v1/send-time``).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import Metric

from collectpulse.exporter.computed import gauge_family
from collectpulse.kpi.send_time import HOURS, STAGES, WEEKDAYS, hour_series, weekday_series
from collectpulse.store.reader import StoreView


def send_time(view: StoreView) -> Iterator[Metric]:
    by_hour = gauge_family("send_hour_messages", "window")
    by_weekday = gauge_family("send_weekday_messages", "window")
    for window, cells in view.send_slots.items():
        pairs = sorted({(slot.channel, slot.tenant) for slot in cells})
        for family, series, slots in (
            (by_hour, hour_series(cells), HOURS),
            (by_weekday, weekday_series(cells), WEEKDAYS),
        ):
            for channel, tenant in pairs:
                for slot in slots:
                    for stage in STAGES:
                        value = series.get((channel, tenant, slot, stage), 0)
                        family.add_metric([channel, tenant, slot, stage, window], value)
    yield by_hour
    yield by_weekday
