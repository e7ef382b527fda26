"""The landing page's device and load time for a simulated view (kpi-catalog K22).

Message links are opened on the phone they reached (an SMS almost always),
so message traffic is mostly mobile; direct visits lean to desktops. Load
times are lognormal (a long right tail, as real page timings have): a median
of about 1.2 s on desktops and 2.4 s on phones, whose networks are slower.
"""

from __future__ import annotations

import math
import random
from typing import Literal

Device = Literal["mobile", "desktop", "tablet", "other"]
DEVICES: tuple[Device, ...] = ("mobile", "desktop", "tablet", "other")

_MOBILE_SHARE = {"sms": 0.92, "email": 0.6, "letter": 0.45, "direct": 0.4, "other": 0.5}
"""Share of views on a phone, by traffic source; the rest split desktop > tablet > other."""
_MEDIAN_MS: dict[Device, float] = {"mobile": 2400.0, "desktop": 1200.0, "tablet": 1800.0}
_OTHER_MEDIAN_MS = 2000.0
_SIGMA = 0.55
"""Lognormal shape: the 90th percentile is about twice the median."""


def draw_device(rng: random.Random, source: str) -> Device:
    """The device a visit from ``source`` is made on."""
    if rng.random() < _MOBILE_SHARE.get(source, 0.5):
        return "mobile"
    return rng.choices(DEVICES[1:], weights=(0.75, 0.2, 0.05))[0]


def draw_load_ms(rng: random.Random, device: Device) -> int:
    """One page's load time on ``device``, in whole milliseconds."""
    median_ms = _MEDIAN_MS.get(device, _OTHER_MEDIAN_MS)
    return round(rng.lognormvariate(math.log(median_ms), _SIGMA))


def landing_ux(rng: random.Random, source: str) -> tuple[Device, int]:
    """A view's device and its page load time."""
    device = draw_device(rng, source)
    return device, draw_load_ms(rng, device)
