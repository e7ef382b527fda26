"""Shared streams: generating is the slow part, so each sample is made once per module."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from collectpulse.events.models import EventBase
from collectpulse.simulate import DEFAULT_SCENARIO, EventGenerator, Scenario

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
# Customer delays shrunk a thousandfold, so a sample of a few hundred
# simulated seconds holds whole journeys: opens, payments, promise outcomes.
COMPRESSED = replace(DEFAULT_SCENARIO, delay_scale=0.001)


@dataclass(frozen=True)
class Emitted:
    """One event as it left the generator, and the simulated clock when it did."""

    event: EventBase
    emitted_at: datetime


def sample(
    count: int,
    *,
    seed: int = 7,
    scenario: Scenario = COMPRESSED,
    events_per_s: float = 1000.0,
) -> list[Emitted]:
    generator = EventGenerator(seed=seed, start=START, events_per_s=events_per_s, scenario=scenario)
    return [Emitted(event, generator.now) for event in itertools.islice(generator, count)]
