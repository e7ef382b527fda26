"""A scenario refuses inconsistent settings with a message naming what is wrong."""

from __future__ import annotations

from dataclasses import replace

import pytest

from collectpulse.simulate import (
    CONTROL,
    DEFAULT_SCENARIO,
    Campaign,
    ScenarioError,
    SimulateError,
    Variant,
)


def _campaign(**changes: object) -> Campaign:
    base = Campaign("c", "northbank", "email", ("early",), (Variant(CONTROL),))
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["duplicate_rate", "out_of_order_rate", "struggling"])
@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_probabilities_must_lie_between_zero_and_one(name: str, value: float) -> None:
    with pytest.raises(ScenarioError, match=name):
        replace(DEFAULT_SCENARIO, **{name: value})  # type: ignore[arg-type]


def test_delay_scale_must_be_positive() -> None:
    with pytest.raises(ScenarioError, match="delay_scale"):
        replace(DEFAULT_SCENARIO, delay_scale=0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tenant": "nobody"}, "unknown tenant"),
        ({"segments": ("vip",)}, "unknown"),
        ({"variants": ()}, "distinct names"),
        ({"variants": (Variant(CONTROL), Variant(CONTROL))}, "distinct names"),
        ({"variants": (Variant(CONTROL, weight=0),)}, "weights"),
        ({"channel": "voice"}, "no behaviour"),
    ],
)
def test_campaigns_must_name_known_tenants_segments_and_variants(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ScenarioError, match=message):
        replace(DEFAULT_SCENARIO, campaigns=(_campaign(**changes),))


def test_scenario_errors_are_simulate_errors_and_value_errors() -> None:
    assert issubclass(ScenarioError, SimulateError)
    assert issubclass(ScenarioError, ValueError)
