"""K22 in the simulator: every view says its device and load time; phones load slower."""

from __future__ import annotations

import random
import statistics
from collections import Counter

from collectpulse.events.models import PageviewEvent
from collectpulse.simulate.landing_ux import draw_device, draw_load_ms, landing_ux

from .conftest import sample


def test_generated_views_carry_a_device_and_a_load_time_as_schema_version_2() -> None:
    views = [e.event for e in sample(20_000) if isinstance(e.event, PageviewEvent)]

    assert len(views) > 50
    assert all(v.schema_version == 2 and v.device and v.load_ms is not None for v in views)
    assert {v.device for v in views} >= {"mobile", "desktop"}


def test_sms_traffic_is_mostly_mobile_and_phones_load_slower() -> None:
    rng = random.Random(3)
    sms = Counter(draw_device(rng, "sms") for _ in range(4000))
    direct = Counter(draw_device(rng, "direct") for _ in range(4000))
    assert sms["mobile"] / 4000 > 0.85 > direct["mobile"] / 4000

    mobile = statistics.median(draw_load_ms(rng, "mobile") for _ in range(4000))
    desktop = statistics.median(draw_load_ms(rng, "desktop") for _ in range(4000))
    assert 2000 < mobile < 2800 and 1000 < desktop < 1400


def test_load_times_are_non_negative_whole_milliseconds_with_a_long_tail() -> None:
    rng = random.Random(5)
    loads = [landing_ux(rng, "email")[1] for _ in range(4000)]
    assert all(isinstance(ms, int) and ms >= 0 for ms in loads)
    deciles = statistics.quantiles(loads, n=10)
    assert deciles[-1] > 1.7 * statistics.median(loads)  # p90 about twice the median
