"""The `experiment` topic's contract: a consistent split, a known control, a past start."""

import json
import random
from typing import Any

import pytest

from collectpulse.events.compiled import COMPILED
from collectpulse.events.decode import Invalid, decode, decode_with_pydantic
from collectpulse.events.models import ReferenceTopic
from collectpulse.events.roster import ExperimentEvent

TOPIC = ReferenceTopic.EXPERIMENT
VALID: dict[str, Any] = {
    "event_id": "exp-1",
    "occurred_at": "2026-12-01T08:00:00Z",
    "campaign": "reminder",
    "variants": {"control": 0.5, "social": 0.5},
    "control": "control",
    "started_at": "2026-12-01T08:00:00Z",
}


def _decode(data: dict[str, Any]) -> ExperimentEvent | Invalid:
    event = decode(TOPIC, json.dumps(data).encode(), max_bytes=65536)
    assert isinstance(event, ExperimentEvent | Invalid)
    return event


def test_a_valid_config_gets_the_defaults() -> None:
    event = _decode(VALID)
    assert isinstance(event, ExperimentEvent)
    assert (event.alpha, event.tuning_n) == (0.05, 5000)
    assert event.variants == {"control": 0.5, "social": 0.5}


def test_thirds_sum_to_one_within_the_tolerance() -> None:
    thirds = {"control": 1 / 3, "a": 1 / 3, "b": 1 / 3}
    assert isinstance(_decode({**VALID, "variants": thirds}), ExperimentEvent)


@pytest.mark.parametrize(
    ("change", "error_class", "words"),
    [
        ({"variants": {"control": 0.5, "social": 0.4}}, "weights_sum", "must sum to 1"),
        ({"variants": {"control": 0.6, "social": 0.6}}, "weights_sum", "must sum to 1"),
        ({"control": "nobody"}, "unknown_control", "control must be one of"),
        ({"started_at": "2026-12-01T08:00:01Z"}, "start_in_future", "must not be after"),
        ({"variants": {"control": 1.0}}, "too_short", "at least 2"),
        ({"variants": {"control": 0.0, "social": 1.0}}, "greater_than", "greater than 0"),
        ({"alpha": 1.0}, "less_than", "less than 1"),
        ({"alpha": 0}, "greater_than", "greater than 0"),
        ({"tuning_n": 0}, "greater_than_equal", "greater than or equal to 1"),
        ({"tuning_n": "5000"}, "int_type", "valid integer"),
        ({"started_at": "2026-12-01T08:00:00"}, "timezone_aware", "timezone"),
    ],
)
def test_an_invalid_config_is_refused_with_a_clear_error(
    change: dict[str, Any], error_class: str, words: str
) -> None:
    event = _decode({**VALID, **change})
    assert isinstance(event, Invalid)
    assert event.reason == "validation"
    assert event.error_class == error_class
    assert words in event.detail


def test_a_config_without_campaign_or_variants_is_refused() -> None:
    for name in ("campaign", "variants", "control", "started_at"):
        event = _decode({k: v for k, v in VALID.items() if k != name})
        assert isinstance(event, Invalid)
        assert event.error_class == "missing"
        assert name in event.detail


def _mutations(rng: random.Random) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(VALID))
    pick = rng.randrange(8)
    if pick == 0:
        data["variants"] = {f"v{i}": rng.choice([0.25, 0.5, 1, 0, -0.1, "0.5"]) for i in range(2)}
        data["control"] = "v0"
    elif pick == 1:
        data["alpha"] = rng.choice([0.01, 1, 0.5, "0.05", True, None, 1e-300])
    elif pick == 2:
        data["tuning_n"] = rng.choice([1, 10_000, 2.0, True, -1, 10**30])
    elif pick == 3:
        data["variants"] = {"": 0.5, "control": 0.5}
    elif pick == 4:
        data["variants"] = {"control": 1}
    elif pick == 5:
        data["started_at"] = rng.choice(["2026-11-30T00:00:00+01:00", 1700000000, "yesterday"])
    elif pick == 6:
        data["variants"] = [["control", 0.5], ["b", 0.5]]
    return data


def test_the_compiled_decoder_accepts_only_what_pydantic_accepts_identically() -> None:
    rng = random.Random(22)
    compiled_hits = 0
    for _ in range(2000):
        value = json.dumps(_mutations(rng)).encode()
        reference = decode_with_pydantic(TOPIC, value)
        compiled = COMPILED[TOPIC](value)
        if compiled is not None:
            compiled_hits += 1
            assert compiled == reference
            assert compiled.model_dump() == reference.model_dump()
        assert decode(TOPIC, value, max_bytes=65536) == reference
    assert compiled_hits > 200  # the fast path does take the valid ones
