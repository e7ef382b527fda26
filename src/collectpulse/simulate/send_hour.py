"""Send-hour effects: how likely a person is to open, click and pay depends on the local
hour a message arrives (K21 has something to show).

The curve is the usual shape of e-mail and SMS engagement by hour: low at night, a
morning peak after the commute, a dip in the afternoon and the highest in the evening,
when people deal with their post. Its mean over the day is 1, so a scenario's rates are
still its daily averages. Payments move half as much as opens and clicks (a payment is
often made hours later, at a time of the payer's choosing).
"""

from __future__ import annotations

_SHAPE = (
    0.50, 0.40, 0.35, 0.35, 0.40, 0.55,  # 00-05: asleep
    0.80, 1.05, 1.25, 1.30, 1.20, 1.10,  # 06-11: the morning peak
    1.15, 1.05, 0.95, 0.95, 1.00, 1.15,  # 12-17: lunch, the afternoon dip
    1.35, 1.45, 1.40, 1.25, 1.00, 0.70,  # 18-23: the evening peak
)  # fmt: skip
CURVE = tuple(value * len(_SHAPE) / sum(_SHAPE) for value in _SHAPE)
"""Relative propensity by local hour 0-23, mean 1."""
PAY_SHARE = 0.5


def hour_lifts(hour: int, strength: float = 1.0) -> tuple[float, float, float]:
    """(open, click, pay) multipliers of a message sent at local ``hour``; ``strength`` 0
    turns the effect off, 1 is the full curve."""
    if not 0 <= hour <= 23:
        raise ValueError(f"hour must be 0-23, got {hour}")
    engage = 1.0 + strength * (CURVE[hour] - 1.0)
    return engage, engage, 1.0 + PAY_SHARE * strength * (CURVE[hour] - 1.0)
