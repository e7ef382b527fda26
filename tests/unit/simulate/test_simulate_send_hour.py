"""The send-hour curve (pure): mean 1 over the day, peaks in the morning and evening."""

from __future__ import annotations

import pytest

from collectpulse.simulate.send_hour import CURVE, hour_lifts


def test_the_curve_averages_one_so_daily_rates_stay_the_scenarios() -> None:
    assert len(CURVE) == 24 and sum(CURVE) / 24 == pytest.approx(1.0)
    night, morning, evening = CURVE[3], max(CURVE[7:12]), max(CURVE[17:23])
    assert night < 0.5 < 1.2 < morning < evening


def test_strength_scales_the_effect_and_payments_move_half_as_much() -> None:
    assert hour_lifts(3, 0.0) == (1.0, 1.0, 1.0)
    opens, clicks, pays = hour_lifts(19)
    assert opens == clicks == CURVE[19] and pays - 1 == pytest.approx((CURVE[19] - 1) / 2)
    assert hour_lifts(19, 0.5)[0] - 1 == pytest.approx((CURVE[19] - 1) / 2)
    with pytest.raises(ValueError, match="hour must be 0-23"):
        hour_lifts(24)
